// Writes reports/<run-id>/{timing.csv,resources.csv,report.json,report.html}.
// Each file is written to a temp name and renamed, so a reader never sees half a file.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MERGED_TIMING_COLUMNS,
  RESOURCE_COLUMNS,
  RESOURCE_METRIC_COLUMNS,
  timingCells,
  csvText,
  type ResourceSample,
  type TimingRow,
} from './formats.js';
import type { RunInputs, RunReport } from './merge-hosts.js';
import { renderHtml, type RenderOptions } from './render-html.js';

const REPORT_FILES = {
  timing: 'timing.csv',
  resources: 'resources.csv',
  json: 'report.json',
  html: 'report.html',
} as const;

export interface WrittenReport {
  dir: string;
  timingCsv: string;
  resourcesCsv: string;
  reportJson: string;
  reportHtml: string;
}

/** Seconds with ms precision, no float noise; '' for unknown. */
const sec = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 1000) / 1000);

/**
 * Rows of the merged timing.csv: every droplet row with the laptop's duration of the
 * same host/phase/step (n-th occurrence with n-th, for steps resumed after a drop),
 * then laptop rows without a droplet twin (e.g. the droplet's file was lost).
 */
function mergedTimingRows(inputs: RunInputs): string[][] {
  const out: string[][] = [];
  const hosts = [...inputs.hosts].sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true }));
  for (const h of hosts) {
    const ctl = new Map<string, TimingRow[]>();
    for (const r of h.controllerTiming) {
      const k = `${r.phase}\u0000${r.step}`;
      if (!ctl.has(k)) ctl.set(k, []);
      ctl.get(k)!.push(r);
    }
    const used = new Map<string, number>();
    for (const r of h.timing) {
      const k = `${r.phase}\u0000${r.step}`;
      const n = used.get(k) ?? 0;
      used.set(k, n + 1);
      const c = ctl.get(k)?.[n];
      out.push([...timingCells({ ...r, host: h.host }), sec(c?.durationS)]);
    }
    for (const [k, rows] of ctl) {
      for (const c of rows.slice(used.get(k) ?? 0)) {
        // no droplet twin: its duration_s is empty
        out.push([...timingCells({ ...c, host: h.host, durationS: NaN }), sec(c.durationS)]);
      }
    }
  }
  return out;
}

function resourceRows(inputs: RunInputs): string[][] {
  const hosts = [...inputs.hosts].sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true }));
  const out: string[][] = [];
  const row = (host: string, s: ResourceSample) => [
    s.timestamp,
    host,
    ...RESOURCE_METRIC_COLUMNS.map(([metric]) => String(s[metric])),
  ];
  for (const h of hosts) for (const s of h.resources) out.push(row(h.host, s));
  return out;
}

async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Writes the merged files of one run into outDir (normally reports/<run-id>/). */
export async function writeReport(
  outDir: string,
  inputs: RunInputs,
  report: RunReport,
  opts: RenderOptions = {},
): Promise<WrittenReport> {
  await mkdir(outDir, { recursive: true });
  const files: WrittenReport = {
    dir: outDir,
    timingCsv: join(outDir, REPORT_FILES.timing),
    resourcesCsv: join(outDir, REPORT_FILES.resources),
    reportJson: join(outDir, REPORT_FILES.json),
    reportHtml: join(outDir, REPORT_FILES.html),
  };
  await Promise.all([
    writeAtomic(files.timingCsv, csvText(MERGED_TIMING_COLUMNS, mergedTimingRows(inputs))),
    writeAtomic(files.resourcesCsv, csvText(RESOURCE_COLUMNS, resourceRows(inputs))),
    writeAtomic(files.reportJson, JSON.stringify(report, null, 2) + '\n'),
    writeAtomic(files.reportHtml, renderHtml(report, inputs, opts)),
  ]);
  return files;
}
