import { recordReader, trimTrailingNewlines, type ScriptRecord } from '../../src/engine/records.js';

test('records, bodies between B/E and F/FE, stray lines', () => {
  const got: ScriptRecord[] = [];
  const stray: string[] = [];
  const read = recordReader(
    'n1',
    (r) => got.push(r),
    (l) => stray.push(l),
  );
  for (const l of [
    'noise',
    '\x1en1 U 123',
    '\x1en1 B 0 0',
    'exists|regular file',
    'abc',
    '\x1en1 E 0',
    '\x1en1 B 1 1',
    '',
    '\x1en1 E 1',
    '\x1en1 F 2 7',
    'E: oops',
    '',
    '\x1en1 FE 2',
    '\x1eother S 1 ok 0',
    '\x1en1 END',
  ])
    read(l);
  expect(got.map((r) => [r.tag, r.args, r.body])).toEqual([
    ['U', ['123'], undefined],
    ['B', ['0', '0'], 'exists|regular file\nabc'],
    ['B', ['1', '1'], ''],
    ['F', ['2', '7'], 'E: oops\n'],
    ['END', [], undefined],
  ]);
  expect(stray).toEqual(['noise', '\x1eother S 1 ok 0']);
});

test('trimTrailingNewlines matches $( )', () => {
  expect(trimTrailingNewlines('a\n\n')).toBe('a');
  expect(trimTrailingNewlines('a\nb')).toBe('a\nb');
});
