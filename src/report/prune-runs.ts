// Keeps the newest N run folders of the local reports dir (failed and refused runs count
// like the others). A folder holding a file named ".keep" (e.g. a baseline) is never
// removed and does not count. Only folders named like run ids are touched.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { isRunId, runDirPath } from './report-paths.js';

export const KEEP_MARKER = '.keep';

/** A keep count from a flag or the inventory: a whole number >= 1. */
export function checkKeep(keep: number, where: string): number {
  if (!Number.isInteger(keep) || keep < 1)
    throw new ConfigError(`${where} ${keep}: not a whole number >= 1`, 'give how many runs to keep, e.g. 20');
  return keep;
}

/** Run folders of reportsDir, oldest first (ids start with a UTC stamp). */
async function localRunIds(reportsDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(reportsDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && isRunId(e.name))
    .map((e) => e.name)
    .sort();
}

export interface PruneResult {
  kept: string[];
  removed: string[];
  /** folders marked with .keep */
  pinned: string[];
}

/** Removes all but the newest `keep` run folders (pinned ones aside). */
export async function pruneLocalRuns(
  reportsDir: string,
  keep: number,
  opts: { dryRun?: boolean } = {},
): Promise<PruneResult> {
  checkKeep(keep, 'keep');
  const ids = await localRunIds(reportsDir);
  const pinned = ids.filter((id) => existsSync(join(runDirPath(reportsDir, id), KEEP_MARKER)));
  const candidates = ids.filter((id) => !pinned.includes(id));
  const removed = candidates.slice(0, Math.max(0, candidates.length - keep));
  if (!opts.dryRun) for (const id of removed) await rm(runDirPath(reportsDir, id), { recursive: true, force: true });
  return { kept: candidates.slice(removed.length), removed, pinned };
}
