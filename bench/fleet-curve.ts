// The controller at fleet size: the whole CLI (a child process, as a user runs it) against
// the light ssh2 fleet (bench/ssh2-fleet.ts) at 10, 100, 1000 hosts, the 50-step phase
// changed then no-op; controller wall, CPU (user + sys) and peak RSS of each run.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSsh2Fleet } from './ssh2-fleet.js';
import { writeInventories, writeVpsPhase } from './fixtures/phase-50.js';
import { runVpsCli } from './vps-runner.js';

export interface CurvePoint {
  hosts: number;
  changed: { wallMs: number; cpuMs: number; peakRssKb: number };
  noop: { wallMs: number; cpuMs: number; peakRssKb: number };
  /** highest number of remote `sh` processes alive at once */
  peakRemoteProcesses: number;
  load: string;
}

export async function runFleetCurve(counts: number[], concurrency = 50): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  for (const n of counts) {
    const fleet = await startSsh2Fleet({ count: n });
    const work = mkdtempSync(join(tmpdir(), 'vps-bench-curve-'));
    try {
      const inv = writeInventories({
        dir: work,
        targets: fleet.names.map((name) => ({ name, host: '127.0.0.1', port: fleet.port })),
        identityFile: fleet.clientKey.privateKeyPath,
        knownHostsPath: fleet.knownHostsPath,
        targetRoot: join(work, 'targets'),
      });
      const pb = join(work, 'playbooks');
      writeVpsPhase(pb, join(work, 'targets'));
      const run = async (what: string) => {
        const r = await runVpsCli(inv.vpsInventoryPath, pb, join(work, 'reports'), [], concurrency);
        if (r.code !== 0) throw new Error(`${n} light hosts, ${what} run exited ${r.code}: ${r.stderr.slice(-1500)}`);
        return { wallMs: r.wallMs, cpuMs: r.cpuMs, peakRssKb: r.peakRssKb };
      };
      const changed = await run('changed');
      const noop = await run('no-op');
      points.push({
        hosts: n,
        changed,
        noop,
        peakRemoteProcesses: fleet.stats.peakLiveProcesses,
        load: loadavg()
          .map((x) => x.toFixed(2))
          .join(' '),
      });
    } finally {
      await fleet.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  return points;
}
