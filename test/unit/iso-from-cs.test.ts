// The timing rows' time without a `date` process: the shell arithmetic of ISO_FROM_CS,
// run by dash, against JavaScript's own calendar, at the edges (epoch, month and year ends,
// leap days, centuries) and at seeded random times up to 2100.
import { execFileSync } from 'node:child_process';
import { ISO_FROM_CS } from '../../src/shell/phase-scripts.js';

const day = 86_400 * 100;
const at = (iso: string) => Date.parse(iso) / 10;
const edges = [
  0,
  1,
  99,
  100,
  day - 1,
  day,
  at('1972-02-29T23:59:59.990Z'),
  at('2000-02-29T00:00:00.000Z'),
  at('2000-03-01T00:00:00.000Z'),
  at('2024-12-31T23:59:59.990Z'),
  at('2025-01-01T00:00:00.000Z'),
  at('2026-11-30T12:34:56.780Z'),
  at('2100-02-28T23:59:59.990Z'),
  at('2100-03-01T00:00:00.000Z'),
];

test('iso CS says what date -u +%Y-%m-%dT%H:%M:%S.%3NZ would, to 10 ms', () => {
  let seed = 20261130;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * at('2100-01-01T00:00:00Z');
  const values = [...edges, ...Array.from({ length: 200 }, () => Math.floor(random()))];
  const script = `${ISO_FROM_CS}\nfor v; do iso "$v"; echo "$TS"; done`;
  const out = execFileSync('dash', ['-c', script, 'sh', ...values.map(String)], { encoding: 'utf8' });
  expect(out.trim().split('\n')).toEqual(values.map((v) => new Date(v * 10).toISOString()));
});
