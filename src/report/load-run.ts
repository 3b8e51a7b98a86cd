// Reads a pulled run folder, reports/<run-id>/<host>/{run.json,timing.csv,
// controller-timing.csv,resources.csv}, into merge inputs. A missing file is a
// warning (an unreachable host has no CSVs); a damaged one is an error naming it.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { parseRunJson, type RunJson } from './formats.js';
import { parseResourcesCsv, parseTimingCsv } from './parse-csv.js';
import type { HostRunInput, RunInputs } from './merge-run.js';

export const HOST_FILES = {
  run: 'run.json',
  timing: 'timing.csv',
  controllerTiming: 'controller-timing.csv',
  resources: 'resources.csv',
} as const;

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** One host folder -> merge input (undefined when the folder holds none of the files). */
export async function loadHost(dir: string, host = basename(dir)): Promise<HostRunInput | undefined> {
  const [runText, timingText, ctlText, resText] = await Promise.all(
    [HOST_FILES.run, HOST_FILES.timing, HOST_FILES.controllerTiming, HOST_FILES.resources].map((f) => readIfPresent(join(dir, f))),
  );
  if (runText === undefined && timingText === undefined && ctlText === undefined && resText === undefined) return undefined;
  const warnings: string[] = [];
  let run: RunJson | undefined;
  if (runText !== undefined) run = parseRunJson(runText, join(dir, HOST_FILES.run));
  const table = <T>(text: string | undefined, file: string, parser: (t: string, f: string) => { rows: T[]; warnings: string[] }): T[] => {
    if (text === undefined) {
      warnings.push(`${join(dir, file)}: missing`);
      return [];
    }
    const parsed = parser(text, join(dir, file));
    warnings.push(...parsed.warnings);
    return parsed.rows;
  };
  return {
    host: run?.host ?? host,
    run,
    timing: table(timingText, HOST_FILES.timing, parseTimingCsv),
    controllerTiming: table(ctlText, HOST_FILES.controllerTiming, parseTimingCsv),
    resources: table(resText, HOST_FILES.resources, parseResourcesCsv),
    warnings,
  };
}

/** reports/<run-id>/ -> merge inputs for every host folder in it. */
export async function loadRun(runDir: string): Promise<RunInputs> {
  let entries;
  try {
    entries = await readdir(runDir, { withFileTypes: true });
  } catch (err) {
    throw new ConfigError(`${runDir}: cannot read the run folder (${(err as Error).message})`, 'run `report fetch` first, or check the run id', runDir, undefined, { cause: err });
  }
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const loaded = await Promise.all(dirs.map((d) => loadHost(join(runDir, d), d)));
  const hosts = loaded.filter((h): h is HostRunInput => h !== undefined);
  if (hosts.length === 0) {
    throw new ConfigError(`${runDir}: no host folders with run.json or CSVs`, 'run `report fetch` first, or check the run id', runDir);
  }
  const runId = hosts.find((h) => h.run)?.run?.runId ?? basename(runDir);
  return { runId, hosts };
}
