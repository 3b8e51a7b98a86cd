// The data embedded in report.html for its script: times in seconds since the run
// start, samples column-wise (compact, and what Chart.js wants per dataset).
import type {
  AlertKind,
  AlertThresholds,
  PhaseStatus,
  ResourceSample,
  SampleMetric,
  Severity,
  StepStatus,
} from '../formats.js';
import type { ReportHostStatus, RunInputs, RunReport } from '../merge-hosts.js';
import { RESOURCE_CHARTS, type ResourceChart } from './chart-table.js';

export interface PageStep {
  name: string;
  status: StepStatus;
  start: number;
  dur: number;
}
export interface PagePhase {
  name: string;
  status: PhaseStatus;
  start: number;
  dur: number;
  est: number | null;
  steps: PageStep[];
}
export interface PageAlert {
  kind: AlertKind;
  severity: Severity;
  x: number;
  value: number;
  message: string;
  phase: string | null;
}
/** Sample times and, per metric a chart or the readout draws, its values (same order). */
type PageSeries = { t: number[] } & Partial<Record<SampleMetric, number[]>>;

export interface PageHost {
  host: string;
  status: ReportHostStatus;
  thresholds: AlertThresholds;
  phases: PagePhase[];
  alerts: PageAlert[];
  s: PageSeries;
}

export interface PageData {
  runId: string;
  /** epoch ms of second 0 */
  t0: number;
  phaseNames: string[];
  charts: readonly ResourceChart[];
  hosts: PageHost[];
}

/** What the crosshair readout names at a moment, besides what the charts draw. */
const READOUT_METRICS: readonly SampleMetric[] = ['cpuPct', 'memAvailableMb', 'diskAvailMb', 'load1'];

function series(samples: readonly ResourceSample[], t0: number, metrics: readonly SampleMetric[]): PageSeries {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const s: PageSeries = { t: sorted.map((x) => Math.round(x.t - t0) / 1000) };
  for (const m of metrics) s[m] = sorted.map((x) => x[m]);
  return s;
}

/** The data the page script draws from. */
export function pageData(
  report: RunReport,
  inputs: RunInputs,
  charts: readonly ResourceChart[] = RESOURCE_CHARTS,
): PageData {
  const metrics = [...new Set([...charts.flatMap((c) => c.lines.map((l) => l.metric)), ...READOUT_METRICS])];
  const samplesByHost = new Map(inputs.hosts.map((h) => [h.host, h.resources] as const));
  const starts = report.hosts.flatMap((h) => [
    h.startedAt ? Date.parse(h.startedAt) : Infinity,
    ...(samplesByHost.get(h.host) ?? []).slice(0, 1).map((s) => s.t),
  ]);
  const t0 = Math.min(...starts.filter(Number.isFinite), Date.parse(report.startedAt ?? '') || Infinity);
  const base = Number.isFinite(t0) ? t0 : 0;
  const rel = (ms: number) => Math.round(ms - base) / 1000;
  return {
    runId: report.runId,
    t0: base,
    phaseNames: report.phaseNames,
    charts,
    hosts: report.hosts.map((h) => ({
      host: h.host,
      status: h.status,
      thresholds: h.thresholds,
      phases: h.phases
        .filter((p) => p.startEpochS !== null && p.durationS !== null)
        .map((p) => ({
          name: p.name,
          status: p.status,
          start: rel(p.startEpochS! * 1000),
          dur: p.durationS!,
          est: p.estimateS,
          steps: p.steps.map((s) => ({
            name: s.name,
            status: s.status,
            start: rel(s.startEpochS * 1000),
            dur: s.durationS,
          })),
        })),
      alerts: h.alerts.map((a) => ({
        kind: a.kind,
        severity: a.severity,
        x: rel(Date.parse(a.at)),
        value: a.value,
        message: a.message,
        phase: a.phase ?? null,
      })),
      s: series(samplesByHost.get(h.host) ?? [], base, metrics),
    })),
  };
}
