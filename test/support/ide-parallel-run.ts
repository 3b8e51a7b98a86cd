// Measures what running the three IDE phases together saves: two fresh fake droplets get
// system-prep, then (one droplet at a time, so they do not share the CPUs) the IDE phases
// with --ide-concurrency 1 on the first and 3 on the second. Prints both wall times.
//   node dist/test/support/ide-parallel-run.js
import { startWorkstations } from './workstation-fixture.js';
import type { RunResult } from '../../src/engine/events.js';

const log = (l: string) => process.stderr.write(`${l}\n`);
const ws = await startWorkstations({ count: 2, namePrefix: 'vpsprov-ide', log });
let stopping: Promise<void> | null = null;
const stop = () => (stopping ??= ws.stop());
process.on('SIGINT', () => void stop().then(() => process.exit(130)));
process.on('SIGTERM', () => void stop().then(() => process.exit(143)));

let failed = false;
try {
  const prep = await ws.cli(['provision', '--yes', '--json', '--only-phase', 'system-prep'], 30 * 60_000);
  if (prep.code !== 0) throw new Error(`system-prep failed:\n${prep.stderr.slice(-3000)}`);
  const result: Record<string, unknown> = {};
  for (const [i, concurrency] of [
    [0, 1],
    [1, 3],
  ] as const) {
    const r = await ws.cli(
      [
        'provision',
        '--yes',
        '--json',
        '--limit',
        ws.names[i]!,
        '--ide-concurrency',
        String(concurrency),
        '--only-phase',
        'ide-vscode',
        '--only-phase',
        'ide-cursor',
        '--only-phase',
        'ide-antigravity',
      ],
      30 * 60_000,
    );
    const run = JSON.parse(r.stdout) as RunResult;
    const phases = run.hosts[0]!.phases;
    if (r.code !== 0) failed = true;
    result[`ideConcurrency${concurrency}`] = {
      wallMs: r.wallMs,
      phasesS: Object.fromEntries(phases.map((p) => [p.name, Math.round(p.durationMs / 100) / 10])),
      sumOfPhasesS: Math.round(phases.reduce((n, p) => n + p.durationMs, 0) / 100) / 10,
      code: r.code,
    };
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (err) {
  failed = true;
  log(`error: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  await stop();
}
process.exit(failed ? 1 : 0);
