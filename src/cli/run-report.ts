// After an apply run: the hosts' CSVs, the controller's own timing and run.json go to
// reports/<run-id>/<host>/, then the merged report is built (src/report). run.json and
// controller-timing.csv are also stored on each host in the closing round trip (the
// same bytes), so `report fetch` from another laptop rebuilds the same report.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { RunResult, HostResult } from '../engine/events.js';
import type { FetchedCsvs, RunRecordFiles } from '../engine/host-session.js';
import type { AlertThresholds } from '../config/inventory.js';
import { buildReport } from '../report/build-report.js';
import type { HostTexts } from '../report/load-run.js';
import { hostDirPath, runDirPath } from '../report/report-paths.js';
import { formatTimingRows, timingHeader, type Alert, type RunJsonInput, type TimingRow } from '../report/formats.js';
import { join } from 'node:path';

/** The controller's own measurement of every phase and step (laptop clock). */
function controllerTimingRows(runId: string, h: HostResult): TimingRow[] {
  const rows: TimingRow[] = [];
  for (const p of h.phases) {
    if (!p.startedAt || p.status === 'skipped') continue;
    let t = Date.parse(p.startedAt);
    for (const s of p.steps) {
      if (s.status === 'skipped') continue;
      rows.push({
        timestamp: new Date(t + s.durationMs).toISOString(),
        runId,
        host: h.host,
        phase: p.name,
        step: s.name,
        startEpochS: t / 1000,
        durationS: s.durationMs / 1000,
        status: s.status,
      });
      t += s.durationMs;
    }
    const start = Date.parse(p.startedAt);
    rows.push({
      timestamp: new Date(start + p.durationMs).toISOString(),
      runId,
      host: h.host,
      phase: p.name,
      step: '',
      startEpochS: start / 1000,
      durationS: p.durationMs / 1000,
      status: p.status,
    });
  }
  return rows;
}

export interface RunRecordContext {
  runId: string;
  startedAt: string;
  thresholds: AlertThresholds;
  alertsOf: (host: string) => Alert[];
}

/** run.json and controller-timing.csv of one host, as text (endedAt: when it is asked for). */
export function hostRunRecord(
  ctx: RunRecordContext,
  h: HostResult,
  endedAt = new Date().toISOString(),
): Required<Pick<RunRecordFiles, 'run.json' | 'controller-timing.csv'>> {
  const failedStep = h.phases.flatMap((p) =>
    p.steps
      .filter((s) => s.status === 'failed' && s.output)
      .map((s) => ({ phase: p.name, step: s.name, output: s.output! })),
  );
  const runJson: RunJsonInput = {
    runId: ctx.runId,
    host: h.host,
    address: h.address,
    startedAt: ctx.startedAt,
    endedAt,
    status: h.status,
    error: h.error ? `${h.error.message} (${h.error.hint})` : undefined,
    phases: h.phases.map((p) => ({
      name: p.name,
      estimateS: p.estimateS,
      critical: p.critical,
      status: p.status,
      startedAt: p.startedAt,
      durationMs: p.durationMs,
      reason: p.reason,
      ...(failedStep.some((f) => f.phase === p.name)
        ? { failedSteps: failedStep.filter((f) => f.phase === p.name).map(({ step, output }) => ({ step, output })) }
        : {}),
    })),
    thresholds: ctx.thresholds,
    alerts: ctx.alertsOf(h.host),
  };
  return {
    'run.json': `${JSON.stringify(runJson, null, 2)}\n`,
    'controller-timing.csv': timingHeader() + formatTimingRows(controllerTimingRows(ctx.runId, h)),
  };
}

/** A text as a file written from it reads back (UTF-8: a lone surrogate becomes U+FFFD). */
function asWritten(text: string): string {
  return /[\ud800-\udfff]/.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text;
}

export async function writeRunReport(
  reportsDir: string,
  run: RunResult,
  files: ReadonlyMap<string, FetchedCsvs>,
  /** what was stored on each host at its end (same bytes here); computed for the others */
  records: ReadonlyMap<string, RunRecordFiles>,
  ctx: RunRecordContext,
): Promise<string> {
  const runDir = runDirPath(reportsDir, run.runId);
  // the run folder is new: what is written here is all it holds, so the report is built from these texts
  const written = new Map<string, HostTexts>();
  // synchronous: the hosts are done, nothing else waits on the event loop, and five small
  // files per host cost several times more CPU through promises and the thread pool
  for (const h of run.hosts) {
    const dir = hostDirPath(reportsDir, run.runId, h.host);
    mkdirSync(dir, { recursive: true });
    const f = files.get(h.host) ?? {};
    if (f.timingCsv) writeFileSync(join(dir, 'timing.csv'), f.timingCsv);
    if (f.resourcesCsv) writeFileSync(join(dir, 'resources.csv'), f.resourcesCsv);
    const stored = records.get(h.host);
    // made once per host: what was stored on it, else (it ended before its closing round trip) now
    const runJson = stored?.['run.json'];
    const timing = stored?.['controller-timing.csv'];
    const rec =
      runJson !== undefined && timing !== undefined
        ? { 'run.json': runJson, 'controller-timing.csv': timing }
        : { ...hostRunRecord(ctx, h, run.endedAt), ...stored };
    writeFileSync(join(dir, 'controller-timing.csv'), rec['controller-timing.csv']);
    writeFileSync(join(dir, 'run.json'), rec['run.json']);
    written.set(h.host, {
      run: asWritten(rec['run.json']),
      timing: f.timingCsv ? asWritten(f.timingCsv) : undefined,
      controllerTiming: asWritten(rec['controller-timing.csv']),
      resources: f.resourcesCsv ? asWritten(f.resourcesCsv) : undefined,
    });
  }
  const built = await buildReport(runDir, { thresholds: ctx.thresholds }, written);
  return built.files.reportHtml;
}
