// Runs the default playbooks on fresh fake droplets outside jest and prints wall times:
// first provision, then a second `provision --force` that must change nothing.
//   node dist/test/support/workstation-run.js [--profile full|lean] [--count N] [--release trixie|bookworm]
// Then, when xfreerdp + Xvfb are at hand (see rdp-login.ts), an RDP login on each droplet
// through `connect` (the default rdp_access tunnel) that must start xfce4-session. Exit 0 when
// every phase was green on every droplet, the second run changed nothing and every login
// reached the desktop.
import { startWorkstations } from './workstation-fixture.js';
import type { RunResult } from '../../src/engine/events.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const profile = arg('profile', 'full') === 'lean' ? 'lean' : 'full';
const count = Number(arg('count', '1'));
const release = arg('release', 'trixie') === 'bookworm' ? 'bookworm' : 'trixie';
const log = (l: string) => process.stderr.write(`${l}\n`);

const started = Date.now();
const ws = await startWorkstations({ count, profile, release, namePrefix: `vpsprov-${profile}`, log });
let stopping: Promise<void> | null = null;
const stop = () => (stopping ??= ws.stop());
process.on('SIGINT', () => void stop().then(() => process.exit(130)));
process.on('SIGTERM', () => void stop().then(() => process.exit(143)));

let failed = false;
try {
  const bootMs = Date.now() - started;
  log(`${count} ${release} droplet(s) up in ${bootMs} ms; provisioning (${profile} profile)`);
  const first = await ws.cli(['provision', '--yes', '--json', '--concurrency', String(count)], 120 * 60_000);
  const run1 = JSON.parse(first.stdout) as RunResult;
  const second = await ws.cli(['provision', '--yes', '--json', '--force', '--concurrency', String(count)], 60 * 60_000);
  const run2 = JSON.parse(second.stdout) as RunResult;
  const steps = (r: RunResult) =>
    r.hosts.flatMap((h) => h.phases.flatMap((p) => p.steps.map((s) => ({ host: h.host, phase: p.name, ...s }))));
  const failures = steps(run1).filter((s) => s.status === 'failed');
  const changedAgain = steps(run2).filter((s) => s.status !== 'ok' && s.status !== 'skipped');
  failed ||= first.code !== 0 || second.code !== 0 || failures.length > 0 || changedAgain.length > 0;
  // RDP as the product offers it by default (rdp_access tunnel: xrdp on the droplet's
  // loopback), through `connect`; a login straight to the droplet's address cannot work
  const rdpLoginMs: Record<string, number | string> = {};
  for (const [i, d] of ws.droplets.entries()) {
    const login = await ws.loginThroughConnect(i, 180_000);
    rdpLoginMs[d.name] = login.ok ? login.elapsedMs : `no xfce4-session after ${login.elapsedMs} ms`;
    if (!login.ok) {
      log(`${d.name}: ${login.clientOutput.slice(-2000)}\n${login.out}\n${login.err}`);
      failed = true;
    }
  }
  const summary = {
    profile,
    count,
    release,
    bootMs,
    firstProvisionMs: first.wallMs,
    perHostMs: Object.fromEntries(run1.hosts.map((h) => [h.host, Math.round(h.durationMs)])),
    perPhaseS: Object.fromEntries(
      run1.hosts.map((h) => [
        h.host,
        Object.fromEntries(h.phases.map((p) => [p.name, Math.round(p.durationMs / 100) / 10])),
      ]),
    ),
    secondProvisionForceMs: second.wallMs,
    rdpLoginToXfceMs: rdpLoginMs,
    exitCodes: [first.code, second.code],
    failures: failures.map((s) => `${s.host} ${s.phase} / ${s.name}: ${s.reason}`),
    changedOnSecondRun: changedAgain.map((s) => `${s.host} ${s.phase} / ${s.name}: ${s.status} ${s.reason}`),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (first.code !== 0) log(first.stderr.slice(-4000));
} catch (err) {
  failed = true;
  log(`error: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  await stop();
}
process.exit(failed ? 1 : 0);
