// Scratch/profile harness: N sshd targets (bench/local-fleet.ts), the 50-step phase, the whole
// CLI run twice (changed, then no-op), printing wall, CPU and peak RSS of the controller, and
// the processes this machine forked during the run per host (/proc/stat: sshd's own per login
// included; meaningful only on an otherwise quiet machine).
// --seed: the changed run on the first host only, its end state copied to the others (see
// fleet-curve.ts: 100 hosts' changed runs at once outrun the phase limit on this machine).
//   node dist/bench/fleet-cli-run.js <hosts> [--prof dir] [--reps n] [--seed]
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { startLocalFleet } from './local-fleet.js';
import { writeVpsPhase, writeInventories } from './fixtures/phase-50.js';
import { runVpsCli } from './vps-runner.js';

const n = Number(process.argv[2] ?? '100');
const profIdx = process.argv.indexOf('--prof');
const prof = profIdx > 0 ? process.argv[profIdx + 1] : undefined;
const repsIdx = process.argv.indexOf('--reps');
const reps = repsIdx > 0 ? Number(process.argv[repsIdx + 1]) : 1;
/** Processes forked on this machine since boot. */
const forks = () => Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
const work = mkdtempSync(join(tmpdir(), 'vps-bench-cli-'));
const t0 = performance.now();
const fleet = await startLocalFleet({ count: n, cleanHome: true, startConcurrency: 8 });
console.log(`fleet of ${n} up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
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
  if (process.argv.includes('--seed')) {
    const first = writeInventories({
      dir: join(work, 'first'),
      targets: fleet.targets.slice(0, 1),
      identityFile: fleet.clientKey.privateKeyPath,
      knownHostsPath: fleet.knownHostsPath,
      targetRoot: join(work, 'targets'),
    });
    const res = await runVpsCli(first.vpsInventoryPath, pb, join(work, 'reports'));
    console.log(`first host changed: code ${res.code}; its end state copied to the other ${n - 1}`);
    const made = inv.benchRoots[fleet.targets[0]!.name]!;
    for (const t of fleet.targets.slice(1)) cpSync(made, inv.benchRoots[t.name]!, { recursive: true });
  }
  for (let r = 0; r < reps; r++) {
    const extra = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
    for (const what of ['changed', 'no-op']) {
      if (what === 'changed' && (r > 0 || process.argv.includes('--seed'))) continue;
      const forked = forks();
      const res = await runVpsCli(inv.vpsInventoryPath, pb, join(work, 'reports'), what === 'no-op' ? extra : []);
      console.log(
        `${n} hosts ${what}: code ${res.code} wall ${res.wallMs.toFixed(0)} ms CPU ${res.cpuMs.toFixed(0)} ms peak RSS ${(res.peakRssKb / 1024).toFixed(0)} MB forks/host ${((forks() - forked) / n).toFixed(1)}  load ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}`,
      );
      if (res.code !== 0) console.log(res.stderr?.slice(-3000));
    }
  }
} finally {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
}
