// Reads a pulled run folder, reports/<run-id>/<host>/{run.json,timing.csv,
// controller-timing.csv,resources.csv}, into merge inputs. Files come from hosts, so
// nothing in them is trusted: a missing, damaged or foreign file is a warning naming
// it (its good rows are kept), and one host's broken files never sink the report.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { parseRunJson, type RunJson } from './formats.js';
import { isRunId } from './report-paths.js';
import { parseResourcesCsv, parseTimingCsv } from './parse-csv.js';
import type { HostRunInput, RunInputs } from './merge-hosts.js';

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

/** What a host folder holds: each file's text, undefined when it is missing. */
export interface HostTexts {
  run?: string;
  timing?: string;
  controllerTiming?: string;
  resources?: string;
}

/** One host folder -> merge input (undefined when the folder holds none of the files). */
async function loadHost(dir: string, host = basename(dir), expectedRunId?: string): Promise<HostRunInput | undefined> {
  const readErrors: string[] = [];
  const [run, timing, controllerTiming, resources] = await Promise.all(
    [HOST_FILES.run, HOST_FILES.timing, HOST_FILES.controllerTiming, HOST_FILES.resources].map((f) =>
      readIfPresent(join(dir, f)).catch((err: Error) => {
        // unreadable (permissions, a folder in its place): as good as missing, said so below
        readErrors.push(`${join(dir, f)}: cannot read (${err.message})`);
        return undefined;
      }),
    ),
  );
  return parseHost(dir, host, expectedRunId, { run, timing, controllerTiming, resources }, readErrors);
}

/** A host folder's texts (read from it, or the same bytes still in memory) -> merge input. */
function parseHost(
  dir: string,
  host: string,
  expectedRunId: string | undefined,
  texts: HostTexts,
  readErrors: readonly string[] = [],
): HostRunInput | undefined {
  const { run: runText, timing: timingText, controllerTiming: ctlText, resources: resText } = texts;
  if (runText === undefined && timingText === undefined && ctlText === undefined && resText === undefined)
    return undefined;
  const warnings: string[] = [...readErrors];
  let run: RunJson | undefined;
  if (runText !== undefined) {
    try {
      run = parseRunJson(runText, join(dir, HOST_FILES.run));
      if (run.host !== host || (expectedRunId && run.runId !== expectedRunId)) {
        warnings.push(
          `${join(dir, HOST_FILES.run)}: written for host ${JSON.stringify(run.host)}, run ${run.runId}, not ${host}, run ${expectedRunId ?? '?'}: ignored`,
        );
        run = undefined;
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      warnings.push(`${err.message}: ignored`);
    }
  }
  const table = <T>(
    text: string | undefined,
    file: string,
    parser: (t: string, f: string) => { rows: T[]; warnings: string[] },
  ): T[] => {
    if (text === undefined) {
      warnings.push(`${join(dir, file)}: missing`);
      return [];
    }
    try {
      const parsed = parser(text, join(dir, file));
      warnings.push(...parsed.warnings);
      return parsed.rows;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      warnings.push(`${err.message}: file ignored`);
      return [];
    }
  };
  return {
    host,
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
    throw new ConfigError(
      `${runDir}: cannot read the run folder (${(err as Error).message})`,
      'run `report fetch` first, or check the run id',
      runDir,
      undefined,
      { cause: err },
    );
  }
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const expected = isRunId(basename(runDir)) ? basename(runDir) : undefined;
  const loaded = await Promise.all(dirs.map((d) => loadHost(join(runDir, d), d, expected)));
  const hosts = loaded.filter((h): h is HostRunInput => h !== undefined);
  return runInputs(runDir, hosts);
}

function runInputs(runDir: string, hosts: HostRunInput[]): RunInputs {
  if (hosts.length === 0) {
    throw new ConfigError(
      `${runDir}: no host folders with run.json or CSVs`,
      'run `report fetch` first, or check the run id',
      runDir,
    );
  }
  const runId = hosts.find((h) => h.run)?.run?.runId ?? basename(runDir);
  return { runId, hosts };
}

/**
 * What loadRun(runDir) gives once `texts` (host folder name -> its files' texts) are
 * written there and nothing else is: the run that just wrote them skips reading them back.
 */
export function loadRunTexts(runDir: string, texts: ReadonlyMap<string, HostTexts>): RunInputs {
  const expected = isRunId(basename(runDir)) ? basename(runDir) : undefined;
  const hosts = [...texts.keys()]
    .sort()
    .map((d) => parseHost(join(runDir, d), d, expected, texts.get(d)!))
    .filter((h): h is HostRunInput => h !== undefined);
  return runInputs(runDir, hosts);
}
