// Report merge benchmark: 100 hosts x 1 hour of 10-second samples (360 rows each)
// plus timing for the 13 default phases, then load + merge + write of the whole
// report (timing.csv, resources.csv, report.json, report.html). Bar: under 2 s.
//   node dist/bench/merge-bench.js [--hosts N] [--runs N]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadRun } from '../src/report/load-run.js';
import { mergeHosts } from '../src/report/merge-hosts.js';
import { DEFAULT_PHASES, syntheticRun, writeRunFolder } from '../test/support/synthetic-run.js';
import { writeReport } from '../src/report/write-report.js';

export const MERGE_BAR_MS = 2000;

export interface MergeBenchResult {
  hosts: number;
  /** resource rows over all hosts */
  samples: number;
  /** median wall time of load + merge + write */
  mergeMs: number;
  runsMs: number[];
  /** median CPU time (user + system) of this process for the same work: less noisy on a shared machine */
  cpuMs: number;
  phases: number;
  timingRows: number;
  htmlBytes: number;
}

export async function runMergeBench(
  opts: { hosts?: number; samplesPerHost?: number; runs?: number } = {},
): Promise<MergeBenchResult> {
  const hosts = opts.hosts ?? 100;
  const perHost = opts.samplesPerHost ?? 360;
  const runs = opts.runs ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'vps-merge-bench-'));
  try {
    // at least an hour of run per host (hosts differ in pace), cut to exactly perHost samples
    const inputs = syntheticRun({ hosts, intervalS: 10, targetDurationS: perHost * 10 * 1.7, seed: 11 });
    for (const h of inputs.hosts) {
      if (h.resources.length < perHost)
        throw new Error(`generator gave ${h.resources.length} samples for ${h.host}, wanted ${perHost}`);
      h.resources = h.resources.slice(0, perHost);
    }
    const runDir = join(dir, inputs.runId);
    await writeRunFolder(runDir, inputs);

    const runsMs: number[] = [];
    const cpus: number[] = [];
    let htmlBytes = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const loaded = await loadRun(runDir);
      const report = mergeHosts(loaded);
      const files = await writeReport(runDir, loaded, report);
      const c = process.cpuUsage(c0);
      runsMs.push(performance.now() - t0);
      cpus.push((c.user + c.system) / 1000);
      htmlBytes = statSync(files.reportHtml).size;
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return {
      hosts,
      samples: hosts * perHost,
      mergeMs: Math.round(median(runsMs)),
      runsMs: runsMs.map(Math.round),
      cpuMs: Math.round(median(cpus)),
      phases: DEFAULT_PHASES.length,
      timingRows: inputs.hosts.reduce((s, h) => s + h.timing.length, 0),
      htmlBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runMergeBench({ hosts: arg('hosts'), runs: arg('runs') });
  console.log(
    `merge bench: ${r.hosts} hosts, ${r.samples} samples, ${r.timingRows} timing rows (${r.phases} phases), report.html ${(r.htmlBytes / 1e6).toFixed(1)} MB`,
  );
  console.log(
    `load + merge + write: median ${r.mergeMs} ms wall, ${r.cpuMs} ms CPU (runs: ${r.runsMs.join(', ')} ms); bar ${MERGE_BAR_MS} ms: ${r.mergeMs < MERGE_BAR_MS ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = r.mergeMs < MERGE_BAR_MS ? 0 : 1;
}
