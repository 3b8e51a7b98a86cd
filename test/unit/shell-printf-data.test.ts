// Names and holders are data in every printf of the generated shell: a step named
// "10% of RAM", with a newline, a backslash or quotes, lands in timing.csv as one row
// with that exact name; the lock's holder line is written as given. Run with the local sh
// in a temp folder (pure shell text, no host involved).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { satisfiedPhaseScript, timingFile } from '../../src/shell/phase-scripts.js';
import { TIMING_HEADER } from '../../src/shell/csv-columns.js';
import { openSessionScript, holderLine } from '../../src/shell/host-scripts.js';

const NAMES = [
  'Swappiness at 10% of RAM',
  '%s%d%n%%',
  'two\nlines',
  'back\\slash \\n \\c',
  `quotes ' and "`,
  'comma, here',
  '\x1b[31mred\x1b[0m',
  '=HYPERLINK("x")',
  '$(id) `id`',
];

test('a satisfied phase writes one timing row per step, names as given', () => {
  const dir = mkdtempSync(join(tmpdir(), 'printf-'));
  const files = { stateDir: dir, runId: '20261128T022100Z-a1b2c3d4e5f60718', host: 'h%s', phase: 'p' };
  execFileSync('mkdir', ['-p', join(dir, 'runs', files.runId)]);
  execFileSync('sh', ['-c', satisfiedPhaseScript(files, NAMES, null, 1234)]);
  const text = readFileSync(timingFile(files), 'utf8');
  expect(text.split('\n')[0]).toBe(TIMING_HEADER);
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  // a cell starting with = + - @ is written with a leading ' (the shell-side CSV writer's formula guard)
  expect(rows.map((r) => r.step)).toEqual([...NAMES.map((n) => (/^[=+\-@]/.test(n) ? `'${n}` : n)), '']);
  expect(
    rows.every((r) => r.host === 'h%s' && r.phase === 'p' && r.status === 'ok' && /^\d+\.\d\d$/.test(r.start_epoch_s!)),
  ).toBe(true);
  expect(rows.at(-1)!.duration_s).toBe('1.23');
});

test('the lock owner file holds the holder as given (one line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'printf-'));
  const holder = 'ana%s%n@lap\\ntop (pid 1)';
  const out = execFileSync('sh', [
    '-c',
    `VPSP_DRIVER=$$; ${openSessionScript('n1', dir, { runId: 'R1', holder, since: '2026-11-30T00:00:00Z' })}`,
  ]).toString();
  expect(out).toContain('\x1en1 LOCK acquired');
  const owner = readFileSync(join(dir, 'lock', 'owner'), 'utf8');
  expect(owner.split('\n')[1]).toBe(`holder=${holder}`);
  expect(holderLine('a\nb\x1b')).toBe('a?b?');
});
