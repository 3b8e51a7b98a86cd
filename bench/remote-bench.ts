// What a run costs the host, in figures load does not distort: processes the 50-step no-op
// probe forks (the probe script as the engine writes it, run by the local sh under strace
// on the very files a real run left), the same with every step probed on its own (how
// probes were written before they were batched), and round trips of a changed and of a
// no-op run of the 50-step mixed phase against one real sshd target.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalFleet } from './local-fleet.js';
import { writeVpsPhase, writeInventories, checkBenchRoot } from './fixtures/phase-50.js';
import { runVpsCli, runVpsInProcess } from './vps-runner.js';
import { loadRunContext } from '../src/cli/run-context.js';
import { probeScript, type ScriptStep } from '../src/shell/phase-scripts.js';
import { countForks, traceForks } from '../test/support/fork-count.js';

export interface RemoteFigures {
  /** processes forked by the 50-step no-op probe: batched (now) and per step (before) */
  probeForks: number;
  probePrograms: string[];
  perStepForks: number;
  /** round trips per host */
  changedRoundTrips: number;
  noopRoundTrips: number;
  /** stale steps re-decided on the host inside the apply script, not by a round trip */
  changed: number;
  /** all a no-op CLI run forks on its host (sshd's login, the driver, every script, the sampler) */
  runForks: number;
  /** programs that run ran, by name: how many times each */
  runPrograms: Map<string, number>;
}

export async function runRemoteBench(): Promise<RemoteFigures> {
  const work = mkdtempSync(join(tmpdir(), 'vps-bench-remote-'));
  const fleet = await startLocalFleet({ count: 1, cleanHome: true });
  try {
    const inv = writeInventories({
      dir: work,
      targets: fleet.targets,
      identityFile: fleet.clientKey.privateKeyPath,
      knownHostsPath: fleet.knownHostsPath,
      targetRoot: join(work, 'targets'),
    });
    const pb = join(work, 'playbooks');
    writeVpsPhase(pb, join(work, 'targets'));
    const c = await runVpsInProcess(inv.vpsInventoryPath, pb);
    const o = await runVpsInProcess(inv.vpsInventoryPath, pb);
    if (c.failed || o.changed)
      throw new Error(`remote bench: changed run failed ${c.failed}, no-op run changed ${o.changed}`);
    // the stale steps settled on the host left every file as the 50 steps describe
    const problems = Object.values(inv.benchRoots).flatMap(checkBenchRoot);
    if (problems.length) throw new Error(`remote bench: ${problems.join('; ')}`);
    // the probe of the no-op state the runs left, on this machine's filesystem (the target's)
    const ctx = await loadRunContext({ inventory: inv.vpsInventoryPath, playbooks: pb } as never);
    const steps = ctx.hosts[0]!.phases[0]!.steps.filter((s) => !s.type.local);
    const scriptSteps: ScriptStep[] = steps.map((s) => ({
      index: s.index,
      name: s.name,
      probe: s.type.probe(s.args),
      batch: s.type.batchProbe?.(s.args),
    }));
    const batched = countForks(probeScript('bench', scriptSteps));
    const perStep = countForks(
      probeScript(
        'bench',
        scriptSteps.map((s) => ({ ...s, batch: undefined })),
      ),
    );
    // the whole no-op run as a user starts it, the host's side traced from its sshd down; a
    // CLI run before it installs the sampler (the in-process runs start none), as on any re-run
    const first = await runVpsCli(inv.vpsInventoryPath, pb, join(work, 'reports'));
    if (first.code !== 0)
      throw new Error(`remote bench: a no-op CLI run exited ${first.code}: ${first.stderr.slice(-500)}`);
    const trace = await traceForks(fleet.targets[0]!.sshdPid);
    const cli = await runVpsCli(inv.vpsInventoryPath, pb, join(work, 'reports'));
    const run = await trace.stop();
    if (cli.code !== 0)
      throw new Error(`remote bench: the traced no-op run exited ${cli.code}: ${cli.stderr.slice(-500)}`);
    const runPrograms = new Map<string, number>();
    for (const e of run.execs) {
      const name = e.replace(/.*\//, '');
      runPrograms.set(name, (runPrograms.get(name) ?? 0) + 1);
    }
    return {
      runForks: run.forks,
      runPrograms,
      probeForks: batched.forks,
      probePrograms: batched.execs.map((e) => e.replace(/.*\//, '')),
      perStepForks: perStep.forks,
      changedRoundTrips: c.roundTripsPerHost,
      noopRoundTrips: o.roundTripsPerHost,
      changed: c.changed,
    };
  } finally {
    await fleet.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
