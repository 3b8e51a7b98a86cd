// After an apply run: the hosts' CSVs, the controller's own timing and run.json go to
// reports/<run-id>/<host>/, then the merged report is built (src/report).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult, HostResult } from '../engine/events.js';
import type { FetchedCsvs } from '../engine/host-session.js';
import type { AlertThresholds } from '../config/inventory.js';
import { buildReport } from '../report/build-report.js';
import { formatTimingRow, timingHeader, type Alert, type RunJsonInput, type TimingRow } from '../report/formats.js';

/** The controller's own measurement of every phase and step (laptop clock). */
export function controllerTimingRows(run: RunResult, h: HostResult): TimingRow[] {
  const rows: TimingRow[] = [];
  for (const p of h.phases) {
    if (!p.startedAt || p.status === 'skipped') continue;
    let t = Date.parse(p.startedAt);
    for (const s of p.steps) {
      if (s.status === 'skipped') continue;
      rows.push({ timestamp: new Date(t + s.durationMs).toISOString(), runId: run.runId, host: h.host, phase: p.name, step: s.name, startEpochS: t / 1000, durationS: s.durationMs / 1000, status: s.status });
      t += s.durationMs;
    }
    const start = Date.parse(p.startedAt);
    rows.push({ timestamp: new Date(start + p.durationMs).toISOString(), runId: run.runId, host: h.host, phase: p.name, step: '', startEpochS: start / 1000, durationS: p.durationMs / 1000, status: p.status });
  }
  return rows;
}

export async function writeRunReport(
  reportsDir: string,
  run: RunResult,
  files: ReadonlyMap<string, FetchedCsvs>,
  thresholds: AlertThresholds,
  alertsOf: (host: string) => Alert[],
): Promise<string> {
  const runDir = join(reportsDir, run.runId);
  for (const h of run.hosts) {
    const dir = join(runDir, h.host);
    await mkdir(dir, { recursive: true });
    const f = files.get(h.host) ?? {};
    if (f.timingCsv) await writeFile(join(dir, 'timing.csv'), f.timingCsv);
    if (f.resourcesCsv) await writeFile(join(dir, 'resources.csv'), f.resourcesCsv);
    await writeFile(join(dir, 'controller-timing.csv'), timingHeader() + controllerTimingRows(run, h).map(formatTimingRow).join(''));
    const runJson: RunJsonInput = {
      runId: run.runId, host: h.host, address: h.address, startedAt: run.startedAt, endedAt: run.endedAt, status: h.status,
      error: h.error ? `${h.error.message} (${h.error.hint})` : undefined,
      phases: h.phases.map((p) => ({ name: p.name, estimateS: p.estimateS, critical: p.critical, status: p.status, startedAt: p.startedAt, durationMs: p.durationMs, reason: p.reason })),
      thresholds, alerts: alertsOf(h.host),
    };
    await writeFile(join(dir, 'run.json'), `${JSON.stringify(runJson, null, 2)}\n`);
  }
  const built = await buildReport(runDir, { thresholds });
  return built.files.reportHtml;
}
