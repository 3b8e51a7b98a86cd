// Profiling harness: a light ssh2 fleet of N hosts (bench/ssh2-fleet.ts) with the 50-step
// phase already applied (seeded from one host, as fleet-curve.ts does), kept up so the CLI
// can be run against it by hand as often as needed (under `perf record`, with
// --perf-basic-prof or --cpu-prof). Prints the command line of a no-op run and waits until
// SIGINT/SIGTERM or `--hold-s` seconds (default 1800), then stops the fleet.
//   node dist/bench/fleet-hold.js <hosts> [--hold-s 1800] [--servers 4]
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSsh2Fleet } from './ssh2-fleet.js';
import { writeInventories, writeVpsPhase } from './fixtures/phase-50.js';
import { runVpsCli } from './vps-runner.js';
import { onProcessEnd } from './process-cleanup.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const n = Number(process.argv[2] ?? '100');
const holdS = Number(arg('hold-s', '1800'));
const fleet = await startSsh2Fleet({ count: n, servers: Number(arg('servers', '4')) });
const work = mkdtempSync(join(tmpdir(), 'vps-bench-hold-'));
const unregister = onProcessEnd(() => rmSync(work, { recursive: true, force: true }));
try {
  const targetRoot = join(work, 'targets');
  const inv = writeInventories({
    dir: work,
    targets: fleet.targets,
    identityFile: fleet.clientKey.privateKeyPath,
    knownHostsPath: fleet.knownHostsPath,
    targetRoot,
  });
  const pb = join(work, 'playbooks');
  writeVpsPhase(pb, targetRoot);
  const first = writeInventories({
    dir: join(work, 'first'),
    targets: fleet.targets.slice(0, 1),
    identityFile: fleet.clientKey.privateKeyPath,
    knownHostsPath: fleet.knownHostsPath,
    targetRoot,
  });
  const seeded = await runVpsCli(first.vpsInventoryPath, pb, join(work, 'reports'), [], 50, 600_000);
  if (seeded.code !== 0) throw new Error(`seeding run exited ${seeded.code}: ${seeded.stderr.slice(-1000)}`);
  const made = inv.benchRoots[fleet.targets[0]!.name]!;
  for (const t of fleet.targets.slice(1)) cpSync(made, inv.benchRoots[t.name]!, { recursive: true });
  const cli = resolve(fileURLToPath(new URL('../src/cli/main.js', import.meta.url)));
  const cmd =
    `CI=true node "$@" ${cli} provision -i ${inv.vpsInventoryPath} --playbooks ${pb} --yes --force ` +
    `--concurrency 50 --reports-dir ${join(work, 'reports')}`;
  const script = join(work, 'run-cli.sh');
  writeFileSync(script, `#!/bin/sh\n${cmd}\n`, { mode: 0o755 });
  console.log(`fleet of ${n} held; a no-op run: sh ${script} [node options]`);
  await new Promise<void>((done) => {
    const t = setTimeout(done, holdS * 1000);
    for (const s of ['SIGINT', 'SIGTERM'] as const)
      process.once(s, () => {
        clearTimeout(t);
        done();
      });
  });
} finally {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
  unregister();
}
