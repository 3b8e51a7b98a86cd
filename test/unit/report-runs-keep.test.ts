// Run folders: the one path helper (hostile run ids and host names), keeping the last N
// runs on the laptop and (through the shell script) on a host, the run files written on
// a host, and the shell-side CSV cell guard against spreadsheet formulas.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { hostDirPath, isRunId, runDirPath, RUN_ID_ERE, UnsafePathError } from '../../src/report/report-paths.js';
import { pruneLocalRuns, KEEP_MARKER } from '../../src/report/prune-runs.js';
import { IS_RUN_ID_SH, pruneRunsScript, writeRunFilesScript } from '../../src/shell/host-scripts.js';
import { csvField } from '../../src/shell/csv-field.js';
import { parseTimingCsv } from '../../src/report/parse-csv.js';
import { timingHeader } from '../../src/report/formats.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vps-keep-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ids = (n: number) =>
  Array.from({ length: n }, (_, i) => `202611${String(10 + i).padStart(2, '0')}T020000Z-${(0xa000 + i).toString(16)}`);
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

describe('report paths', () => {
  it.each([
    ['20261128T022100Z-a1b2', true],
    ['20261128T022100Z-0123456789abcdef', true],
    ['../../..', false],
    ['20261128T022100Z-a1b2/../../x', false],
    ['20261128T022100Z-A1B2', false],
    ['', false],
    ['20261128T022100Z-a1b2\n', false],
  ])('isRunId(%j) = %s', (id, ok) => {
    expect(isRunId(id)).toBe(ok);
    if (ok) expect(runDirPath('reports', id)).toBe(join('reports', id));
    else expect(() => runDirPath('reports', id)).toThrow(UnsafePathError);
  });

  it.each(['..', '.', 'a/b', '../x', '.hidden', '', 'x\u0000y'])('refuses host name %j as a folder', (host) => {
    expect(() => hostDirPath('reports', '20261128T022100Z-a1b2', host)).toThrow(UnsafePathError);
  });

  it('grep -E on a host uses the same rule', () => {
    const out = sh(
      `printf '%s\\n' 20261128T022100Z-a1b2 ../../.. 20261128T022100Z-a1b2x x20261128T022100Z-a1b2 | grep -E '^${RUN_ID_ERE}$'`,
    );
    expect(out).toBe('20261128T022100Z-a1b2\n');
  });

  it("the host's builtin-only isrun agrees with the rule, name by name", () => {
    const names = [
      '20261128T022100Z-a1b2',
      '20261128T022100Z-' + 'f'.repeat(32),
      '20261128T022100Z-' + 'f'.repeat(33),
      '20261128T022100Z-a1b',
      '20261128T022100Z-A1B2',
      '20261128T022100Z-a1b2x',
      '20261128T022100Z-a1-b2',
      'x20261128T022100Z-a1b2',
      '2026112T022100Z-a1b2',
      '20261128T022100Z-a1b2/..',
      '20261128T022100Z-',
      '20261128T022100Za1b2',
      '20261128T0221000Z-a1b2',
      '..',
      '',
      '[0-9]*Z-*',
      '20261128T022100Z-a1b2 ',
      '20261128T022100Z-a1b2\tx',
      ...ids(5),
    ];
    const script = `${IS_RUN_ID_SH}\nfor n; do if isrun "$n"; then echo 1; else echo 0; fi; done`;
    const out = execFileSync('sh', ['-c', script, 'sh', ...names], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(out).toEqual(names.map((n) => (isRunId(n) ? '1' : '0')));
    expect(out.filter((x) => x === '1').length).toBeGreaterThan(5);
  });
});

describe('keeping the last N runs on the laptop', () => {
  it('removes the oldest run folders, keeps .keep ones and anything not named like a run', async () => {
    const all = ids(6);
    for (const id of all) mkdirSync(join(dir, id));
    writeFileSync(join(dir, all[0]!, KEEP_MARKER), '');
    mkdirSync(join(dir, 'bench'));
    const r = await pruneLocalRuns(dir, 3);
    expect(r).toEqual({ removed: [all[1], all[2]], kept: all.slice(3), pinned: [all[0]] });
    expect(readdirSync(dir).sort()).toEqual([all[0], ...all.slice(3), 'bench'].sort());
  });

  it('a dry run lists without deleting; fewer runs than N is a no-op', async () => {
    for (const id of ids(2)) mkdirSync(join(dir, id));
    expect((await pruneLocalRuns(dir, 1, { dryRun: true })).removed).toEqual([ids(2)[0]]);
    expect(readdirSync(dir)).toHaveLength(2);
    expect((await pruneLocalRuns(dir, 20)).removed).toEqual([]);
    expect((await pruneLocalRuns(join(dir, 'missing'), 20)).removed).toEqual([]);
  });

  it('refuses a keep count below 1', async () => {
    await expect(pruneLocalRuns(dir, 0)).rejects.toThrow(/not a whole number >= 1/);
  });
});

describe('keeping the last N runs on a host (the script, run by /bin/sh)', () => {
  it('keeps the newest N including the current run, touches nothing else', () => {
    const runs = join(dir, 'runs');
    const all = ids(7);
    for (const id of all) mkdirSync(join(runs, id), { recursive: true });
    mkdirSync(join(runs, 'not-a-run'));
    writeFileSync(join(dir, 'outside'), 'x');
    // the current run is an older id (a laptop with a slow clock): it stays all the same
    sh(pruneRunsScript(dir, 3, all[1]!));
    expect(readdirSync(runs).sort()).toEqual([all[1], all[5], all[6], 'not-a-run'].sort());
    expect(readFileSync(join(dir, 'outside'), 'utf8')).toBe('x');
    sh(pruneRunsScript(dir, 1, all[6]!));
    expect(readdirSync(runs).sort()).toEqual([all[6], 'not-a-run'].sort());
  });

  it('is harmless without a runs folder', () => {
    expect(() => sh(pruneRunsScript(join(dir, 'none'), 2, ids(1)[0]!))).not.toThrow();
  });

  it('writes run files byte for byte, whatever they hold', () => {
    const text = `{"a": "it's $(touch ${dir}/pwned) \`x\` %s %n \\\\ \\n"}\n`;
    sh(writeRunFilesScript(dir, { 'run.json': text, 'controller-timing.csv': 'a,b\n' }));
    expect(readFileSync(join(dir, 'run.json'), 'utf8')).toBe(text);
    expect(readFileSync(join(dir, 'controller-timing.csv'), 'utf8')).toBe('a,b\n');
    // written whole in the stage folder, then renamed into place: nothing is left there
    expect(readdirSync(dir).sort()).toEqual(['.new', 'controller-timing.csv', 'run.json']);
    expect(readdirSync(join(dir, '.new'))).toEqual([]);
  });
});

describe('the shell-side CSV cell', () => {
  it.each([
    ['=HYPERLINK("http://evil","x")', `"'=HYPERLINK(""http://evil"",""x"")"`],
    ['+1', "'+1"],
    ['-cmd', "'-cmd"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ["'q", "''q"],
    ['＝1', "'＝1"],
    ['plain, with comma', '"plain, with comma"'],
    ['ok', 'ok'],
  ])('%j is written as %j and read back exactly', (name, cell) => {
    expect(csvField(name)).toBe(cell);
    const line = `2026-11-28T02:21:05.250Z,r1,h,p,${csvField(name)},1,0.5,ok\n`;
    // through printf as the host writes it: the row is an argument, never the format
    const written = sh(`printf '%s' '${line.replace(/'/g, `'\\''`)}'`);
    expect(parseTimingCsv(timingHeader() + written, 't.csv').rows[0]!.step).toBe(name);
  });
});
