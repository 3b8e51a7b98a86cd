// Timing, the resource monitor, alerts and the merged report, end to end through the CLI
// against real sshd targets: a CPU burner, a phase slower than its estimate, thresholds
// set so the memory and disk alerts must fire.
import { readFileSync, writeFileSync, mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

let fleet: TestFleet;
let pb: string;
let reports: string;

beforeAll(async () => {
  fleet = await startTestFleet(2);
  reports = mkdtempSync(join(fleet.dir, 'reports-'));
  pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [quick, burn]\n');
  writeFileSync(
    join(pb, 'quick.yml'),
    'name: quick\nestimate_s: 30\nsteps:\n  - name: marker\n    file: { path: "{{ work_root }}/quick", content: "x\\n" }\n',
  );
  // two busy loops for 6 s (this machine has 2 cores), in a phase budgeted at 2 s
  writeFileSync(
    join(pb, 'burn.yml'),
    [
      'name: burn',
      'estimate_s: 2',
      'steps:',
      '  - name: burn the CPUs',
      '    command: { run: "timeout 6 sh -c \'while :; do :; done\' & timeout 6 sh -c \'while :; do :; done\' & wait; touch {{ work_root }}/burnt", creates: "{{ work_root }}/burnt" }',
      '',
    ].join('\n'),
  );
  fleet.writeInventory({
    top: { alerts: { mem_available_mb: 10_000_000, disk_free_gb: 1_000_000, cpu_pct: 90, cpu_sustained_s: 2 } },
  });
});
afterAll(async () => {
  await fleet?.stop();
});

const samplerRunning = () => {
  try {
    return (
      execFileSync('pgrep', ['-f', `${fleet.dir}/.*sampler\\.sh`])
        .toString()
        .trim().length > 0
    );
  } catch {
    return false;
  }
};

test('a run records timing and resources on the hosts, raises alerts live, and writes the merged report', async () => {
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
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as RunResult;
  // live alerts went to the progress output while it ran
  expect(r.stderr).toMatch(/CRITICAL memory: available memory \d+ MB is below half the 10000000 MB threshold/);
  expect(r.stderr).toMatch(/CRITICAL disk: free disk [\d.]+ GB is below/);
  expect(r.stderr).toMatch(/ALERT cpu: CPU above 90 % for \d+ s/);
  expect(r.stderr).toMatch(/CRITICAL phase-duration: phase burn took [\d.]+ s/);
  expect(r.stderr).toContain(`report: ${join(reports, run.runId, 'report.html')}`);
  // the monitor is gone
  expect(samplerRunning()).toBe(false);

  const runDir = join(reports, run.runId);
  expect(readdirSync(runDir).sort()).toEqual(
    [...fleet.names, 'report.html', 'report.json', 'resources.csv', 'timing.csv'].sort(),
  );
  for (const [i, host] of fleet.names.entries()) {
    // what the host recorded is what came back
    const onHost = readFileSync(join(fleet.stateDir(i), 'runs', run.runId, 'timing.csv'), 'utf8');
    expect(readFileSync(join(runDir, host, 'timing.csv'), 'utf8')).toBe(onHost);
    const samples = parse(readFileSync(join(runDir, host, 'resources.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(samples.length).toBeGreaterThanOrEqual(4);
    expect(samples.every((s) => s.host === host && Number(s.mem_available_mb) > 0)).toBe(true);
    expect(Math.max(...samples.map((s) => Number(s.cpu_pct)))).toBeGreaterThan(90);
    expect(existsSync(join(runDir, host, 'run.json'))).toBe(true);
    expect(existsSync(join(fleet.stateDir(i), 'runs', run.runId, 'monitor.pid'))).toBe(false);
  }
  const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as {
    runId: string;
    hosts: {
      host: string;
      status: string;
      score: number;
      phases: { name: string; durationS: number; estimateS: number; variancePct: number }[];
      alerts: { kind: string; severity: string }[];
      resources: unknown;
    }[];
  };
  expect(report.runId).toBe(run.runId);
  expect(report.hosts.map((h) => h.host).sort()).toEqual([...fleet.names].sort());
  for (const h of report.hosts) {
    expect(h.status).toBe('ok');
    const kinds = new Set(h.alerts.map((a) => a.kind));
    for (const k of ['memory', 'disk', 'cpu', 'phase-duration']) expect(kinds).toContain(k);
    const burn = h.phases.find((p) => p.name === 'burn')!;
    expect(burn.durationS).toBeGreaterThan(5);
    expect(burn.variancePct).toBeGreaterThan(150);
    // score = min(100, 100 x target / actual), target = 32 s of estimates, actual > 6 s
    expect(h.score).toBe(100);
  }
  const merged = parse(readFileSync(join(runDir, 'timing.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  expect(new Set(merged.map((m) => m.host))).toEqual(new Set(fleet.names));
  expect(merged.filter((m) => m.step === 'burn the CPUs').every((m) => Number(m.controller_duration_s) >= 5)).toBe(
    true,
  );
  expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toContain('<canvas');
}, 150_000);

test('report fetch pulls the CSVs again; compare flags a slower run', async () => {
  const runs = readdirSync(reports).filter((d) => /^\d{8}T/.test(d));
  const fetched = await runCli(['report', 'fetch', '-i', fleet.inventoryPath, '--reports-dir', reports, '--json']);
  expect(fetched.code).toBe(0);
  const out = JSON.parse(fetched.stdout) as { hosts: { host: string; runId: string; files: string[] }[] };
  expect(out.hosts.map((h) => [h.runId, h.files.sort()])).toEqual(
    fleet.names.map(() => [runs[0], ['controller-timing.csv', 'resources.csv', 'run.json', 'timing.csv']]),
  );
  // a second run: everything already in place, so much faster than the burn -> improved, no regression
  const again = await runCli([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    pb,
    '--yes',
    '--force',
    '--reports-dir',
    reports,
  ]);
  expect(again.code).toBe(0);
  const cmp = await runCli(['report', 'compare', runs[0]!, '--reports-dir', reports, '--fail-on-regression', '--json']);
  expect(cmp.code).toBe(0);
  const result = JSON.parse(cmp.stdout) as { hasRegression: boolean; phases: { name: string; verdict: string }[] };
  expect(result.hasRegression).toBe(false);
  expect(result.phases.find((p) => p.name === 'burn')!.verdict).toBe('improved');
  // the other way round, the burn run is a regression against the quick one
  const latest = readdirSync(reports)
    .filter((d) => /^\d{8}T/.test(d))
    .sort()
    .at(-1)!;
  const reverse = await runCli([
    'report',
    'compare',
    latest,
    runs[0]!,
    '--reports-dir',
    reports,
    '--fail-on-regression',
  ]);
  expect(reverse.code).toBe(2);
  expect(reverse.stdout).toMatch(/burn .* REGRESSION/);
});
