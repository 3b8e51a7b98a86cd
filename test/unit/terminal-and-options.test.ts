// Host text made inert for a terminal; option values checked when parsed; "did you mean".
import { terminalText, terminalLine } from '../../src/cli/ui/terminal-text.js';
import { positiveWhole, nameList, closest } from '../../src/cli/options.js';

test.each([
  ['plain text', 'plain text'],
  ['keeps\nnewline\tand tab', 'keeps\nnewline\tand tab'],
  ['\x1b[2Jcleared', 'cleared'],
  ['\x1b]0;title\x07after', 'after'],
  ['red \x1b[31mtext\x1b[0m', 'red text'],
  ['bell\x07 back\x08space cr\rnul\x00', 'bell backspace crnul'],
  ['c1 \x9b31m csi', 'c1  csi'],
  ['bidi \u202eevil\u202c', 'bidi evil'],
  ['del\x7f', 'del'],
])('terminalText(%j) = %j', (input, expected) => {
  expect(terminalText(input)).toBe(expected);
});

test('terminalText leaves no control character but newline and tab, whatever the input', () => {
  let all = '';
  for (let c = 0; c < 0x2100; c++) all += String.fromCharCode(c);
  expect(terminalText(all)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  expect(terminalText(all)).toContain('\n');
  expect(terminalText(all)).toContain('\t');
});

// names, reasons and messages: one line, every control shown as a visible escape
test.each([
  ['Swappiness at 10% of RAM', 'Swappiness at 10% of RAM'],
  ['multi\nline\tname\r', 'multi\\nline\\tname\\r'],
  ['\x1b[2Jcleared', '\\x1b[2Jcleared'],
  ['\x1b]52;c;ZXZpbA==\x07x', '\\x1b]52;c;ZXZpbA==\\x07x'],
  ['c1 \x9b31m \x85', 'c1 \\x9b31m \\x85'],
  ['bidi \u202eevil\u2066', 'bidi \\u202eevil\\u2066'],
  ['del\x7f nul\x00', 'del\\x7f nul\\x00'],
  ['ü 日本 🙂', 'ü 日本 🙂'],
])('terminalLine(%j) = %j', (input, expected) => {
  expect(terminalLine(input)).toBe(expected);
});

test('terminalLine leaves no control character at all, whatever the input', () => {
  let all = '';
  for (let c = 0; c < 0x2100; c++) all += String.fromCharCode(c);
  expect(terminalLine(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
});

test.each([
  ['1', 1],
  ['10', 10],
  [' 3 ', 3],
  [['2', '5'], 5],
  [undefined, undefined],
])('positiveWhole accepts %j', (value, expected) => {
  expect(positiveWhole('concurrency')(value)).toBe(expected);
});

test.each(['0', '-1', 'abc', '1.5', '', '1e3', '0x10', '99999999999999999999'])(
  'positiveWhole refuses %j naming the option',
  (value) => {
    expect(() => positiveWhole('sample-interval')(value)).toThrow(
      /^--sample-interval ".*": expected a positive whole number \(e\.g\. --sample-interval 10\)$/,
    );
  },
);

test('nameList makes one value or repeats a list', () => {
  expect(nameList('a,b')).toEqual(['a,b']);
  expect(nameList(['a', 'b'])).toEqual(['a', 'b']);
  expect(nameList(undefined)).toBeUndefined();
});

test.each([
  ['provison', ['provision', 'plan', 'run'], 'provision'],
  ['fils', ['files', 'config'], 'files'],
  ['RDP', ['rdp', 'desktop'], 'rdp'],
  ['zzzzzz', ['files', 'config'], undefined],
  ['x', ['files'], undefined],
])('closest(%j) = %j', (typed, known, expected) => {
  expect(closest(typed, known)).toBe(expected);
});
