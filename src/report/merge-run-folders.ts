// `report merge`: several run folders of one fleet (the `--shard i/n` runs of a CI matrix,
// each on its own runner) -> one run folder with one report, as if one run had done every
// host. Inputs must be parts of one run: the same phases, no host in two of them.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadRun, HOST_FILES } from './load-run.js';
import { mergeHosts, type RunInputs, type RunReport } from './merge-hosts.js';
import { hostDirPath, runDirPath } from './report-paths.js';
import { writeReport, type WrittenReport } from './write-report.js';
import type { AlertThresholds } from './formats.js';

export interface MergeRunFoldersResult {
  runId: string;
  /** the input runs' ids, in the order given */
  mergedFrom: string[];
  report: RunReport;
  files: WrittenReport;
}

const HINT = 'give the run folders of one run split with --shard (same playbooks and phases, each host in one of them)';

/** The input runs' hosts and phases checked: parts of one run, no host twice. */
function checkMergeable(parts: { dir: string; inputs: RunInputs; phases: string[] }[]): void {
  if (parts.length < 2) throw new ConfigError('report merge: name at least two runs to merge', HINT);
  const seen = new Map<string, string>();
  for (const p of parts) {
    const dir = resolve(p.dir);
    if (seen.has(dir)) throw new ConfigError(`report merge: ${p.dir} is named twice`, HINT, p.dir);
    seen.set(dir, p.dir);
  }
  const owner = new Map<string, string>();
  for (const p of parts) {
    for (const h of p.inputs.hosts) {
      const other = owner.get(h.host);
      if (other !== undefined) {
        throw new ConfigError(
          `report merge: host ${h.host} is in both ${other} and ${p.dir} (overlapping runs)`,
          HINT,
          p.dir,
        );
      }
      owner.set(h.host, p.dir);
    }
  }
  const [first, ...rest] = parts;
  for (const p of rest) {
    if (p.phases.join(',') !== first!.phases.join(',')) {
      throw new ConfigError(
        `report merge: ${p.dir} ran phases [${p.phases.join(', ')}], ${first!.dir} ran [${first!.phases.join(', ')}]: not parts of one run`,
        HINT,
        p.dir,
      );
    }
  }
}

/**
 * Loads every run folder, checks they are parts of one run, and writes
 * reports/<runId>/: each host's folder (its run.json naming the merged run) and the
 * merged timing.csv, resources.csv, report.json and report.html.
 */
export async function mergeRunFolders(
  runDirs: readonly string[],
  reportsDir: string,
  /** the merged run's id, from the earliest start of the inputs (so it sorts among runs by time) */
  newRunId: (startedAt: Date) => string,
  opts: { thresholds?: AlertThresholds; generatedAt?: string } = {},
): Promise<MergeRunFoldersResult> {
  const parts = await Promise.all(
    runDirs.map(async (dir) => {
      const inputs = await loadRun(dir);
      const alone = mergeHosts(inputs, opts);
      return { dir, inputs, phases: alone.phaseNames, startedAt: alone.startedAt };
    }),
  );
  checkMergeable(parts);
  const starts = parts.flatMap((p) => (p.startedAt ? [Date.parse(p.startedAt)] : []));
  const runId = newRunId(starts.length ? new Date(Math.min(...starts)) : new Date());
  const outDir = runDirPath(reportsDir, runId);
  if (parts.some((p) => resolve(p.dir) === resolve(outDir)))
    throw new ConfigError(`report merge: ${outDir} is one of the inputs`, HINT, outDir);
  const merged: RunInputs = { runId, hosts: [] };
  for (const p of parts) {
    for (const h of p.inputs.hosts) {
      const from = join(p.dir, h.host);
      const to = hostDirPath(reportsDir, runId, h.host);
      await mkdir(to, { recursive: true });
      for (const f of [HOST_FILES.timing, HOST_FILES.controllerTiming, HOST_FILES.resources]) {
        await copyFile(join(from, f), join(to, f)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
      // run.json names the merged run, so the folder reads back as one run (report fetch,
      // compare); the rows of the CSVs keep the id of the run that measured them
      if (h.run) {
        const raw = JSON.parse(await readFile(join(from, HOST_FILES.run), 'utf8')) as Record<string, unknown>;
        await writeFile(
          join(to, HOST_FILES.run),
          `${JSON.stringify({ ...raw, runId, shardRunId: h.run.runId }, null, 2)}\n`,
        );
      }
      merged.hosts.push({ ...h, run: h.run ? { ...h.run, runId } : undefined });
    }
  }
  const report: RunReport = {
    ...mergeHosts(merged, opts),
    mergedFrom: parts.map((p) => p.inputs.runId || basename(p.dir)),
  };
  const files = await writeReport(outDir, merged, report);
  return { runId, mergedFrom: report.mergedFrom!, report, files };
}
