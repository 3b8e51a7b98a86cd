// report merge: two real --shard runs against real sshd targets, each with a reports dir of
// its own (two CI runners), merged into one run folder and report as if one run; inputs
// that are not parts of one run are refused with one clear message.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli, REPO } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';
import type { RunReport } from '../../src/report/merge-hosts.js';

const PLAYBOOKS = join(REPO, 'test/fixtures/basic');
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startTestFleet(4, { prefix: 'shard' });
});
afterAll(async () => {
  await fleet?.stop();
});

/** One CI runner: its part of the hosts, its own reports dir; the run's folder. */
async function shardRun(shard: string, extra: string[] = []): Promise<{ dir: string; run: RunResult }> {
  const reports = mkdtempSync(join(fleet.dir, 'runner-'));
  const r = await runCli(
    [
      'provision',
      '-i',
      fleet.inventoryPath,
      '--playbooks',
      PLAYBOOKS,
      '--yes',
      '--json',
      '--shard',
      shard,
      '--reports-dir',
      reports,
      ...extra,
    ],
    { timeoutMs: 170_000 },
  );
  expect([r.code, r.stderr.match(/^error:.*$/m)?.[0]]).toEqual([0, undefined]);
  const run = JSON.parse(r.stdout) as RunResult;
  return { dir: join(reports, run.runId), run };
}

test('two shard runs merge into one run folder and report; overlapping or mismatched runs are refused', async () => {
  const a = await shardRun('1/2');
  const b = await shardRun('2/2');
  const shardHosts = [...a.run.hosts, ...b.run.hosts].map((h) => h.host).sort();
  expect(shardHosts).toEqual([...fleet.names].sort()); // each host in exactly one shard
  expect(a.run.hosts.length).toBeGreaterThan(0);
  expect(b.run.hosts.length).toBeGreaterThan(0);

  const merged = mkdtempSync(join(fleet.dir, 'merged-'));
  const m = await runCli(['report', 'merge', a.dir, b.dir, '-i', fleet.inventoryPath, '--reports-dir', merged]);
  expect([m.code, m.stderr]).toEqual([0, '']);
  const id = /^run (\S+): 4 host\(s\) from (\S+), (\S+)$/m.exec(m.stdout);
  expect(id?.slice(2)).toEqual([a.run.runId, b.run.runId]);
  const runId = id![1]!;
  // its id sorts with the earlier shard's start
  expect(runId.slice(0, 16) <= [a.run.runId, b.run.runId].sort()[0]!.slice(0, 16)).toBe(true);
  const dir = join(merged, runId);
  expect(m.stdout).toContain(`report: ${join(dir, 'report.html')}`);
  expect(readdirSync(dir).sort()).toEqual(
    [...fleet.names, 'report.html', 'report.json', 'resources.csv', 'timing.csv'].sort(),
  );

  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport;
  expect(report.runId).toBe(runId);
  expect(report.mergedFrom).toEqual([a.run.runId, b.run.runId]);
  expect(report.hosts.map((h) => h.host).sort()).toEqual([...fleet.names].sort());
  expect(report.summary.byStatus.ok).toBe(4);
  expect(report.phaseNames).toEqual(['files', 'config', 'commands']);
  for (const h of report.hosts) {
    expect([h.host, h.warnings]).toEqual([h.host, []]);
    expect(h.phases.map((p) => (['ok', 'changed'].includes(p.status) ? 'done' : p.status))).toEqual([
      'done',
      'done',
      'done',
    ]);
  }
  // the run spans both shards
  const starts = [a.run.startedAt, b.run.startedAt].map(Date.parse);
  expect(Date.parse(report.startedAt!)).toBeLessThanOrEqual(Math.min(...starts) + 1000);
  // every host's timing rows, each keeping the id of the shard run that measured it
  const timing = parse(readFileSync(join(dir, 'timing.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  expect([...new Set(timing.map((r) => r.host))].sort()).toEqual([...fleet.names].sort());
  for (const h of a.run.hosts)
    expect(new Set(timing.filter((r) => r.host === h.host).map((r) => r.run_id))).toEqual(new Set([a.run.runId]));
  // each host folder names the merged run (it reads back as one run), and where it came from
  for (const h of b.run.hosts) {
    const runJson = JSON.parse(readFileSync(join(dir, h.host, 'run.json'), 'utf8')) as {
      runId: string;
      shardRunId: string;
    };
    expect([runJson.runId, runJson.shardRunId]).toEqual([runId, b.run.runId]);
    expect(readFileSync(join(dir, h.host, 'timing.csv'), 'utf8')).toBe(
      readFileSync(join(b.dir, h.host, 'timing.csv'), 'utf8'),
    );
  }
  expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain(runId);
  // compare reads it as any run
  const cmp = await runCli([
    'report',
    'compare',
    join(dir, 'report.json'),
    join(dir, 'report.json'),
    '--reports-dir',
    merged,
  ]);
  expect(cmp.code).toBe(0);

  const refused = async (args: string[], message: RegExp) => {
    const before = readdirSync(merged).length;
    const r = await runCli(['report', 'merge', ...args, '-i', fleet.inventoryPath, '--reports-dir', merged]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(2); // the error and its hint
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(r.code).toBe(5);
    expect(readdirSync(merged).length).toBe(before); // nothing written
  };
  // the same hosts twice: a shard and the merged run, or a copy of a shard
  const copy = join(mkdtempSync(join(fleet.dir, 'copy-')), a.run.runId);
  cpSync(a.dir, copy, { recursive: true });
  const overlapHost = a.run.hosts[0]!.host;
  await refused(
    [a.dir, copy],
    new RegExp(
      `^error: report merge: host ${overlapHost} is in both ${a.dir} and ${copy} \\(overlapping runs\\)\\nhint: give the run folders of one run split with --shard`,
    ),
  );
  await refused([a.dir, dir], /^error: report merge: host \S+ is in both .* \(overlapping runs\)\n/);
  await refused([a.dir, a.dir], new RegExp(`^error: report merge: ${a.dir} is named twice\\n`));
  await refused([a.dir], /^error: report merge: name at least two runs to merge\n/);
  await refused(
    [a.dir, join(fleet.dir, 'nowhere')],
    /^error: report merge: no run folder ".*nowhere"\nhint: give run ids from /,
  );
  // a run of other phases is not a part of the same run
  const other = await shardRun('2/2', ['--only-phase', 'files', '--force']);
  await refused(
    [a.dir, other.dir],
    new RegExp(
      `^error: report merge: ${other.dir} ran phases \\[files\\], ${a.dir} ran \\[files, config, commands\\]: not parts of one run\\n`,
    ),
  );
  expect(existsSync(join(merged, runId))).toBe(true);
}, 600_000);
