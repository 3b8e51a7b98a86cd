// The controller at fleet size: the whole CLI (a child process, as a user runs it) against
// the light ssh2 fleet (bench/ssh2-fleet.ts) at 10, 100, 1000 hosts, the 50-step phase
// changed then no-op (the no-op `reps` times); controller wall, CPU (user + sys) and peak
// RSS of each run. Past `changedUpTo` hosts (10) the changed run is made on one host only and
// its end state copied to the others' bench_root (the hosts share this filesystem and the
// files name no host): with the targets on this 2-core machine, 50 hosts at once x 50 changed
// steps (~1100 processes forked per host) outran the phase limit (600 s; 100 sshd hosts: exit
// 2 after 689 s), which measures the machine, not the controller.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSsh2Fleet } from './ssh2-fleet.js';
import { writeInventories, writeVpsPhase } from './fixtures/phase-50.js';
import { runVpsCli } from './vps-runner.js';

interface RunFigure {
  wallMs: number;
  cpuMs: number;
  peakRssKb: number;
}

export interface CurvePoint {
  hosts: number;
  /** undefined when the end state was copied from one host's changed run */
  changed?: RunFigure;
  /** one per rep */
  noop: RunFigure[];
  /** highest number of remote `sh` processes alive at once */
  peakRemoteProcesses: number;
  load: string;
}

export async function runFleetCurve(
  counts: number[],
  opts: { concurrency?: number; reps?: number; changedUpTo?: number } = {},
): Promise<CurvePoint[]> {
  const concurrency = opts.concurrency ?? 50;
  const points: CurvePoint[] = [];
  for (const n of counts) {
    const fleet = await startSsh2Fleet({ count: n });
    const work = mkdtempSync(join(tmpdir(), 'vps-bench-curve-'));
    try {
      const targets = fleet.names.map((name) => ({ name, host: '127.0.0.1', port: fleet.port }));
      const targetRoot = join(work, 'targets');
      const inv = writeInventories({
        dir: work,
        targets,
        identityFile: fleet.clientKey.privateKeyPath,
        knownHostsPath: fleet.knownHostsPath,
        targetRoot,
      });
      const pb = join(work, 'playbooks');
      writeVpsPhase(pb, targetRoot);
      const run = async (what: string, inventory = inv.vpsInventoryPath): Promise<RunFigure> => {
        const r = await runVpsCli(inventory, pb, join(work, 'reports'), [], concurrency);
        if (r.code !== 0) throw new Error(`${n} light hosts, ${what} run exited ${r.code}: ${r.stderr.slice(-1500)}`);
        return { wallMs: r.wallMs, cpuMs: r.cpuMs, peakRssKb: r.peakRssKb };
      };
      let changed: RunFigure | undefined;
      if (n <= (opts.changedUpTo ?? 10)) changed = await run('changed');
      else {
        const first = writeInventories({
          dir: join(work, 'first'),
          targets: targets.slice(0, 1),
          identityFile: fleet.clientKey.privateKeyPath,
          knownHostsPath: fleet.knownHostsPath,
          targetRoot,
        });
        await run('changed (first host)', first.vpsInventoryPath);
        const made = inv.benchRoots[targets[0]!.name]!;
        for (const t of targets.slice(1)) cpSync(made, inv.benchRoots[t.name]!, { recursive: true });
        if (readdirSync(targetRoot).length < n) throw new Error('seeding the hosts from the first one failed');
      }
      const noop: RunFigure[] = [];
      for (let i = 0; i < (opts.reps ?? 1); i++) noop.push(await run('no-op'));
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
