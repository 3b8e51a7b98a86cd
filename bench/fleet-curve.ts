// The controller at fleet size: the whole CLI (a child process, as a user runs it) against
// the light ssh2 fleet (bench/ssh2-fleet.ts) at 10, 100, 1000 hosts, the 50-step phase
// changed then no-op (the no-op `reps` times); controller wall, CPU (user + sys) and peak
// RSS of each run, the servers' SSH handshake times (so a slow server shows as such, not
// as the controller) and the processes this machine forked per host during the run.
// Past `changedUpTo` hosts (10) the changed run is made on one host only and its end state
// copied to the others' bench_root (the hosts share this filesystem and the files name no
// host): with the targets on this 2-core machine, 50 hosts at once x 50 changed steps (~1100
// processes forked per host) outran the phase limit (600 s; 100 sshd hosts: exit 2 after
// 689 s), which measures the machine, not the controller.
// Every CLI run is bounded (runTimeoutMs(n)): past it the CLI is interrupted and the curve
// stops with an error.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSsh2Fleet } from './ssh2-fleet.js';
import { writeInventories, writeVpsPhase } from './fixtures/phase-50.js';
import { runVpsCli } from './vps-runner.js';
import { onProcessEnd } from './process-cleanup.js';

export interface RunFigure {
  wallMs: number;
  cpuMs: number;
  peakRssKb: number;
  /** processes forked on this whole machine during the run, per host (/proc/stat) */
  forksPerHost: number;
  /** the servers' SSH handshakes of this run: median and slowest */
  handshakeMedianMs: number;
  handshakeMaxMs: number;
  /** 1-minute load average when the run ended */
  load1: number;
}

export interface CurvePoint {
  hosts: number;
  /** undefined when the end state was copied from one host's changed run */
  changed?: RunFigure;
  /** one per rep */
  noop: RunFigure[];
  /** highest number of remote `sh` processes alive at once */
  peakRemoteProcesses: number;
  servers: number;
}

/** A no-op run's bound: generous (a loaded 2-core machine), still finite. */
const runTimeoutMs = (hosts: number, changed: boolean) => (changed ? 600_000 : 120_000 + hosts * 1_000);

/** Processes forked on this machine since boot. */
const forks = () => Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

export async function runFleetCurve(
  counts: number[],
  opts: { concurrency?: number; reps?: number; changedUpTo?: number; servers?: number; log?: (s: string) => void } = {},
): Promise<CurvePoint[]> {
  const concurrency = opts.concurrency ?? 50;
  const servers = opts.servers ?? 4;
  const points: CurvePoint[] = [];
  for (const n of counts) {
    const fleet = await startSsh2Fleet({ count: n, servers });
    const work = mkdtempSync(join(tmpdir(), 'vps-bench-curve-'));
    // interrupted: the fleet kills its processes first (registered before), then this goes
    const unregister = onProcessEnd(() => rmSync(work, { recursive: true, force: true }));
    try {
      const targets = fleet.targets;
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
      let peak = 0;
      const run = async (what: string, inventory = inv.vpsInventoryPath, hosts = n): Promise<RunFigure> => {
        await fleet.resetStats();
        const forked = forks();
        const changed = what.startsWith('changed');
        const r = await runVpsCli(inventory, pb, join(work, 'reports'), [], concurrency, runTimeoutMs(hosts, changed));
        const s = await fleet.stats();
        peak = Math.max(peak, s.peakLiveProcesses);
        if (r.timedOut)
          throw new Error(`${n} light hosts, ${what} run: not done within ${runTimeoutMs(hosts, changed) / 1000} s`);
        if (r.code !== 0)
          throw new Error(
            `${n} light hosts, ${what} run exited ${r.code}:\n${r.stdoutTail.slice(-2500)}\n${r.stderr.slice(-1000)}`,
          );
        const fig: RunFigure = {
          wallMs: r.wallMs,
          cpuMs: r.cpuMs,
          peakRssKb: r.peakRssKb,
          forksPerHost: (forks() - forked) / hosts,
          handshakeMedianMs: median(s.handshakeMs),
          handshakeMaxMs: Math.max(...s.handshakeMs),
          load1: loadavg()[0]!,
        };
        opts.log?.(
          `  ${n} hosts, ${what}: wall ${(fig.wallMs / 1000).toFixed(1)} s, CPU ${(fig.cpuMs / 1000).toFixed(2)} s, ` +
            `RSS ${(fig.peakRssKb / 1024).toFixed(0)} MB, handshakes median ${fig.handshakeMedianMs.toFixed(0)} ms ` +
            `max ${fig.handshakeMaxMs.toFixed(0)} ms (${s.handshakeMs.length}), forks/host ${fig.forksPerHost.toFixed(1)}, load ${fig.load1.toFixed(1)}`,
        );
        return fig;
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
        await run('changed (first host)', first.vpsInventoryPath, 1);
        const made = inv.benchRoots[targets[0]!.name]!;
        for (const t of targets.slice(1)) cpSync(made, inv.benchRoots[t.name]!, { recursive: true });
        if (readdirSync(targetRoot).filter((f) => !f.endsWith('.state')).length < n)
          throw new Error('seeding the hosts from the first one failed');
      }
      const noop: RunFigure[] = [];
      for (let i = 0; i < (opts.reps ?? 1); i++) noop.push(await run('no-op'));
      points.push({
        hosts: n,
        changed,
        noop,
        peakRemoteProcesses: peak,
        servers,
      });
    } finally {
      await fleet.stop();
      rmSync(work, { recursive: true, force: true });
      unregister();
    }
  }
  return points;
}
