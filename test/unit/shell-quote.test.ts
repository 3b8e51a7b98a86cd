import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { shQuote, shJoin } from '../../src/shell/shell-quote.js';

const echoBack = (quoted: string) => execFileSync('/bin/sh', ['-c', `printf '%s' ${quoted}`]).toString();

test.each([
  ['plain', 'plain'],
  ['/usr/bin/x-1.2', '/usr/bin/x-1.2'],
  ['', `''`],
  ['a b', `'a b'`],
  [`it's`, `'it'\\''s'`],
  ['$(reboot)', `'$(reboot)'`],
  ['`id`', "'`id`'"],
  ['a;b', `'a;b'`],
  ['line\nbreak', `'line\nbreak'`],
])('shQuote(%j) = %s', (input, expected) => {
  expect(shQuote(input)).toBe(expected);
});

test('any string survives a round trip through /bin/sh as one argument', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')),
      (s) => {
        expect(echoBack(shQuote(s))).toBe(s);
      },
    ),
    { numRuns: 60 },
  );
});

test('shJoin quotes each argument', () => {
  expect(shJoin(['apt-get', 'install', '--', 'a b', "c'd"])).toBe(`apt-get install -- 'a b' 'c'\\''d'`);
});
