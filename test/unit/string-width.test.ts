// The bundle's string-width (src/cli/ui/string-width.ts) answers as string-width itself for
// every kind of text the terminal shows: its ASCII shortcut, and the library for the rest.
// Both run in a plain `node`, as in the bundle: the shortcut loads the library with
// require() of an ES module, which jest's module registry does not do.
import { execFileSync } from 'node:child_process';

const ESC = '\x1b';
const texts = [
  '',
  'a',
  'vps-provision <command> [options]',
  ' '.repeat(40),
  '~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./',
  `${ESC}[31mred${ESC}[39m`,
  `${ESC}[1m${ESC}[32m✔${ESC}[39m${ESC}[22m done`,
  `${ESC}]8;;https://example.com${ESC}\\link${ESC}]8;;${ESC}\\`,
  '\u009b31mred\u009b39m',
  'tab\there',
  'line\nbreak',
  'bell\x07',
  'del\x7f',
  'café',
  'e\u0301',
  '日本語のテキスト',
  'ｈａｌｆ',
  '한국어',
  '\u1100\u1161\u11a8',
  '👍',
  '👨‍👩‍👧',
  '1\ufe0f\u20e3',
  '🇩🇪',
  'zero\u200bwidth',
  'ok ✔ ✖ ⚠ ›',
  '\u00a0nbsp',
  'Ω≈ç√∫',
];

const OPTIONS = [{}, { countAnsiEscapeCodes: true }, { ambiguousIsNarrow: false }];
const SCRIPT = `
import library from 'string-width';
const { default: shim } = await import(process.argv[1]);
const texts = JSON.parse(process.argv[2]);
const options = JSON.parse(process.argv[3]);
const widths = (f) => texts.map((t) => options.map((o) => f(t, o)));
process.stdout.write(JSON.stringify({ shim: widths(shim), library: widths(library), odd: [shim(undefined), shim(42)] }));
`;

function widths(): { shim: number[][]; library: number[][]; odd: number[] } {
  const shim = new URL('../../src/cli/ui/string-width.js', import.meta.url).href;
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', SCRIPT, shim, JSON.stringify(texts), JSON.stringify(OPTIONS)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(out) as { shim: number[][]; library: number[][]; odd: number[] };
}

describe('string-width for the bundle', () => {
  const result = widths();

  test.each(texts.map((t, i) => [JSON.stringify(t), i]))('%s', (_label, i) => {
    expect(result.shim[i as number]).toEqual(result.library[i as number]);
  });

  test('the table has text of both kinds: plain ASCII and not', () => {
    expect(result.library.some((w, i) => w[0] !== texts[i]!.length)).toBe(true);
    expect(result.library.some((w, i) => w[0] === texts[i]!.length && texts[i]!.length > 0)).toBe(true);
  });

  test('what is not a string is 0 columns, as in the library', () => {
    expect(result.odd).toEqual([0, 0]);
  });
});
