// The one helper for every local path built from a run id or a host name: a run id or
// host name that comes back from a host (or a YAML file) is hostile until it passes
// here, so `../../..` can never write outside the reports folder.
import { join, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Run ids: a UTC stamp (sorts by time) and random hex. The hex part is 4 to 32 digits
 * so ids of older versions (4) and longer random parts are both accepted.
 * RUN_ID_ERE is the same rule for `grep -E` in scripts run on a host.
 */
export const RUN_ID_ERE = '[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4,32}';
const RUN_ID = new RegExp(`^${RUN_ID_ERE}$`);
/** One path segment: no separators, no leading dot (so never "." or ".."). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class UnsafePathError extends ConfigError {
  constructor(what: string, value: string) {
    super(
      `${what} ${JSON.stringify(value.slice(0, 80))} cannot be used as a folder name`,
      `${what}s are letters, digits, ".", "_" and "-" (run ids look like 20261128T022100Z-a1b2)`,
    );
  }
}

export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

function inside(base: string, parts: string[]): string {
  const root = resolve(base);
  const full = resolve(root, ...parts);
  // belt and braces: the segment rules already make escaping impossible
  if (full !== root && !full.startsWith(root + sep)) throw new UnsafePathError('path', parts.join('/'));
  return join(base, ...parts);
}

/** reports/<run-id>; throws UnsafePathError for anything that is not a run id. */
export function runDirPath(reportsDir: string, runId: string): string {
  if (!isRunId(runId)) throw new UnsafePathError('run id', runId);
  return inside(reportsDir, [runId]);
}

/** reports/<run-id>/<host>; the host name must be one path segment. */
export function hostDirPath(reportsDir: string, runId: string, host: string): string {
  if (!SEGMENT.test(host)) throw new UnsafePathError('host name', host);
  return inside(runDirPath(reportsDir, runId), [host]);
}
