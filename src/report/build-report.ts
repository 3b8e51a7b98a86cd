// The one call behind `report fetch` once the files are pulled: read
// reports/<run-id>/<host>/*, merge, write reports/<run-id>/{timing.csv,...}.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import type { AlertThresholds } from './formats.js';
import { loadRun, loadRunTexts, type HostTexts } from './load-run.js';
import { mergeHosts, type RunInputs, type RunReport } from './merge-hosts.js';
import type { RenderOptions } from './render-html.js';
import { writeReport, type WrittenReport } from './write-report.js';

export interface BuildReportOptions extends RenderOptions {
  /** thresholds for hosts that have no run.json */
  thresholds?: AlertThresholds;
  generatedAt?: string;
}

export interface BuiltReport {
  report: RunReport;
  inputs: RunInputs;
  files: WrittenReport;
}

/**
 * Loads, merges and writes the report of the run folder runDir (reports/<run-id>);
 * `written`: the host folders' texts just written there (and nothing else is), not read back.
 */
export async function buildReport(
  runDir: string,
  opts: BuildReportOptions = {},
  written?: ReadonlyMap<string, HostTexts>,
): Promise<BuiltReport> {
  const inputs = written ? loadRunTexts(runDir, written) : await loadRun(runDir);
  const report = mergeHosts(inputs, { thresholds: opts.thresholds, generatedAt: opts.generatedAt });
  const files = await writeReport(runDir, inputs, report, opts);
  return { report, inputs, files };
}

/** Reads a report.json written by writeReport (e.g. a baseline for compare). */
export async function readReportJson(file: string): Promise<RunReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read (${(err as Error).message})`,
      'give the path of a report.json or of its run folder',
      file,
      undefined,
      { cause: err },
    );
  }
  let data: Partial<RunReport>;
  try {
    data = JSON.parse(text) as Partial<RunReport>;
  } catch (err) {
    throw new ConfigError(
      `${file}: not valid JSON (${(err as Error).message})`,
      'the file is damaged: run `report fetch` again',
      file,
      undefined,
      { cause: err },
    );
  }
  if (data?.schemaVersion !== 1 || !Array.isArray(data.hosts) || typeof data.runId !== 'string') {
    throw new ConfigError(
      `${file}: not a vps-provision report.json (schemaVersion 1 with runId and hosts expected)`,
      'give the path of a report.json written by `report fetch`',
      file,
    );
  }
  return data as RunReport;
}
