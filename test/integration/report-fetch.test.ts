// `report fetch` from "another laptop" (the local reports folder deleted) against real
// sshd: the run's record kept on the host rebuilds the same report.json; an unknown
// run id leaves nothing behind; a host answering with a path instead of a run id writes
// nothing anywhere; step names shaped like spreadsheet formulas stay text in every CSV
// and exact in the report; the last N runs are kept on the host and on the laptop.
import {
  readFileSync,
  writeFileSync,
  mkdtempSync,
  existsSync,
  readdirSync,
  rmSync,
  mkdirSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';
import type { RunReport } from '../../src/report/merge-hosts.js';

const FORMULA = '=HYPERLINK("http://evil.example/","click")';
let fleet: TestFleet;
let pb: string;

beforeAll(async () => {
  fleet = await startTestFleet(2, { prefix: 'fetch' });
  pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [quick, second]\n');
  writeFileSync(
    join(pb, 'quick.yml'),
    `name: quick\nestimate_s: 30\nsteps:\n  - name: '${FORMULA}'\n    file: { path: "{{ work_root }}/quick", content: "x\\n" }\n`,
  );
  writeFileSync(
    join(pb, 'second.yml'),
    'name: second\nestimate_s: 5\ncritical: true\nsteps:\n  - name: always\n    command: { run: "sleep 0.2" }\n',
  );
});
afterAll(async () => {
  await fleet?.stop();
});

const runIdsIn = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => /^\d{8}T\d{6}Z-/.test(d))
        .sort()
    : [];

test('a fetched report equals the original, field by field', async () => {
  const reports = mkdtempSync(join(fleet.dir, 'reports-'));
  const r = await runCli(
    [
      'provision',
      '-i',
      fleet.inventoryPath,
      '--playbooks',
      pb,
      '--yes',
      '--sample-interval',
      '1',
      '--reports-dir',
      reports,
      '--json',
    ],
    { timeoutMs: 120_000 },
  );
  expect([r.code, r.code === 0 ? '' : r.stderr]).toEqual([0, '']);
  const run = JSON.parse(r.stdout) as RunResult;
  const original = JSON.parse(readFileSync(join(reports, run.runId, 'report.json'), 'utf8')) as RunReport;
  // the run's record is on each host beside the CSVs
  for (let i = 0; i < 2; i++) {
    const onHost = readdirSync(join(fleet.stateDir(i), 'runs', run.runId)).sort();
    expect(onHost).toEqual(
      expect.arrayContaining(['controller-timing.csv', 'resources.csv', 'run.json', 'timing.csv']),
    );
    expect(readFileSync(join(fleet.stateDir(i), 'runs', run.runId, 'run.json'), 'utf8')).toBe(
      readFileSync(join(reports, run.runId, fleet.names[i]!, 'run.json'), 'utf8'),
    );
    // the formula-shaped step name is text in the host's CSV
    expect(readFileSync(join(fleet.stateDir(i), 'runs', run.runId, 'timing.csv'), 'utf8')).toContain(
      `"'=HYPERLINK(""http://evil.example/"",""click"")"`,
    );
  }
  expect(readFileSync(join(reports, run.runId, 'timing.csv'), 'utf8')).toContain(`"'=HYPERLINK(`);
  expect(readFileSync(join(reports, run.runId, 'timing.csv'), 'utf8')).not.toMatch(/(^|,)"?=HYPERLINK/m);
  expect(original.hosts[0]!.phases[0]!.steps[0]!.name).toBe(FORMULA);

  // another laptop: nothing local
  rmSync(reports, { recursive: true, force: true });
  const fetched = await runCli(['report', 'fetch', '-i', fleet.inventoryPath, '--reports-dir', reports, '--json'], {
    timeoutMs: 90_000,
  });
  expect(fetched.code).toBe(0);
  const out = JSON.parse(fetched.stdout) as { hosts: { host: string; runId: string; files: string[] }[] };
  expect(out.hosts.map((h) => [h.runId, h.files])).toEqual(
    fleet.names.map(() => [run.runId, ['controller-timing.csv', 'resources.csv', 'run.json', 'timing.csv']]),
  );
  const again = JSON.parse(readFileSync(join(reports, run.runId, 'report.json'), 'utf8')) as RunReport;
  expect(again.hosts.map((h) => h.status)).toEqual(['ok', 'ok']);
  expect(again.hosts.every((h) => h.score !== null && h.phases.every((p) => p.estimateS !== null))).toBe(true);
  for (const key of Object.keys(original) as (keyof RunReport)[]) {
    if (key === 'generatedAt') continue;
    expect([key, again[key]]).toEqual([key, original[key]]);
  }
}, 180_000);

test('fetching an unknown run id leaves no folder behind', async () => {
  const reports = mkdtempSync(join(fleet.dir, 'reports-'));
  const r = await runCli(
    ['report', 'fetch', '-i', fleet.inventoryPath, '--reports-dir', reports, '--run', '20200101T000000Z-dead'],
    { timeoutMs: 90_000 },
  );
  expect(r.code).toBe(2);
  expect(r.stdout).toMatch(/fetch-1: not fetched: run 20200101T000000Z-dead is not recorded/);
  expect(readdirSync(reports)).toEqual([]);
  const bad = await runCli([
    'report',
    'fetch',
    '-i',
    fleet.inventoryPath,
    '--reports-dir',
    reports,
    '--run',
    '../../etc',
  ]);
  expect(bad.code).toBe(5);
  expect(bad.stderr).toMatch(/--run \.\.\/\.\.\/etc: not a run id/);
  expect(readdirSync(reports)).toEqual([]);
}, 120_000);

test('the last N runs are kept on the hosts and on the laptop; report prune trims the laptop', async () => {
  const reports = mkdtempSync(join(fleet.dir, 'reports-'));
  const ids: string[] = [];
  for (let k = 0; k < 3; k++) {
    const r = await runCli(
      [
        'provision',
        '-i',
        fleet.inventoryPath,
        '--playbooks',
        pb,
        '--yes',
        '--force',
        '--keep-runs',
        '2',
        '--reports-dir',
        reports,
        '--json',
      ],
      { timeoutMs: 120_000 },
    );
    expect(r.code).toBe(0);
    ids.push((JSON.parse(r.stdout) as RunResult).runId);
  }
  expect(runIdsIn(reports)).toEqual(ids.slice(1));
  for (let i = 0; i < 2; i++) expect(runIdsIn(join(fleet.stateDir(i), 'runs'))).toEqual(ids.slice(1));
  // keep_runs in the inventory is the default of `report prune`
  fleet.writeInventory({ top: { keep_runs: 1 } });
  writeFileSync(join(reports, ids[1]!, '.keep'), '');
  const pr = await runCli(['report', 'prune', '-i', fleet.inventoryPath, '--reports-dir', reports]);
  expect(pr.code).toBe(0);
  expect(pr.stdout).toMatch(/deleted 0 run\(s\).*kept 1 and 1 marked \.keep/);
  const pr2 = await runCli(['report', 'prune', '--keep', '0', '--reports-dir', reports]);
  expect(pr2.code).toBe(5);
  fleet.writeInventory();
}, 300_000);

test('a host answering with a path instead of a run id gets nothing written anywhere', async () => {
  // a hostile host: its `tail` answers "../.." (the newest run) and there is a timing.csv there
  const evil = await startTestFleet(1, { prefix: 'evil', sshdConfig: [] });
  try {
    const bin = join(evil.dir, 'evilbin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tail'), '#!/bin/sh\necho ../..\n');
    chmodSync(join(bin, 'tail'), 0o755);
    mkdirSync(join(evil.stateDir(0), 'runs'), { recursive: true });
    writeFileSync(join(evil.stateDir(0), '..', 'timing.csv'), 'x\n');
    await Promise.all(evil.sshds.map((s) => s.stop()));
    const hostile = await startTestFleet(1, {
      prefix: 'evil',
      sshdConfig: [`SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`],
    });
    try {
      hostile.writeInventory({ host: () => ({ state_dir: evil.stateDir(0) }) });
      const base = mkdtempSync(join(hostile.dir, 'base-'));
      const reports = join(base, 'a', 'b', 'reports');
      mkdirSync(reports, { recursive: true });
      const r = await runCli(['report', 'fetch', '-i', hostile.inventoryPath, '--reports-dir', reports], {
        timeoutMs: 90_000,
      });
      expect(r.stdout).toMatch(/evil-1: not fetched: the host answered "\.\.\/\.\.", not a run id: ignored/);
      expect(r.code).toBe(2);
      expect(readdirSync(reports)).toEqual([]);
      expect(readdirSync(join(base, 'a', 'b'))).toEqual(['reports']);
      expect(readdirSync(join(base, 'a'))).toEqual(['b']);
      expect(readdirSync(base)).toEqual(['a']);
    } finally {
      await hostile.stop();
    }
  } finally {
    await evil.stop();
  }
}, 150_000);
