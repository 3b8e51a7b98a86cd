// SPEC §6 exit codes; only src/cli maps outcomes to them.
import type { RunResult } from '../engine/events.js';

// a confirmation answered "no" exits 1, like a preflight that said no
export const EXIT = { ok: 0, preflight: 1, cancelled: 1, failed: 2, verify: 4, config: 5, interrupted: 130 } as const;

/** The exit code for a finished run. */
export function exitCodeFor(run: RunResult): number {
  if (run.hosts.some((h) => h.status === 'interrupted')) return EXIT.interrupted;
  const failed = run.hosts.filter((h) => h.status !== 'ok');
  if (!failed.length) return EXIT.ok;
  // only a failing verify phase, everything else fine: verification failed
  const onlyVerify = failed.every(
    (h) =>
      h.status === 'failed' &&
      !h.error &&
      h.phases.filter((p) => p.status === 'failed').every((p) => p.name === 'verify'),
  );
  return onlyVerify ? EXIT.verify : EXIT.failed;
}
