// The hosts of one run -> its report. Pure merge: per-host inputs (run.json, droplet and laptop timing, samples) ->
// the run report model that report.json holds (SPEC §5) and the HTML draws.
import { phaseDurationAlerts, resourceAlerts, type PhaseDuration, type PhaseWindow } from './alerts.js';
import {
  DEFAULT_THRESHOLDS,
  SAMPLE_METRICS,
  type Alert,
  type AlertThresholds,
  type HostStatus,
  type PhaseStatus,
  type ResourceSample,
  type RunJson,
  type SampleMetric,
  type StepStatus,
  type TimingRow,
} from './formats.js';

/** Everything known about one host of a run (what load-run reads from reports/<run-id>/<host>/). */
export interface HostRunInput {
  host: string;
  run?: RunJson;
  timing: TimingRow[];
  controllerTiming: TimingRow[];
  resources: ResourceSample[];
  /** problems met while reading (missing files, a cut-short last line) */
  warnings?: string[];
}

export interface RunInputs {
  runId: string;
  hosts: HostRunInput[];
}

interface StepReport {
  name: string;
  status: StepStatus;
  startEpochS: number;
  /** measured on the droplet */
  durationS: number;
  /** measured on the laptop, when it has a matching row */
  controllerDurationS: number | null;
}

export interface PhaseReport {
  name: string;
  status: PhaseStatus;
  critical: boolean | null;
  estimateS: number | null;
  /** droplet measure when present, else the laptop's; null when it never ran */
  durationS: number | null;
  controllerDurationS: number | null;
  /** 100 × (duration − estimate) / estimate */
  variancePct: number | null;
  startedAt: string | null;
  startEpochS: number | null;
  reason?: string;
  /** failed steps with the tail of their output (from run.json) */
  failedSteps?: { step: string; output: string }[];
  steps: StepReport[];
}

type MetricStats = Record<SampleMetric, number>;

export interface ResourceSummary {
  samples: number;
  /** median seconds between samples */
  intervalS: number | null;
  firstAt: string | null;
  lastAt: string | null;
  /** highest value of each metric */
  peak: MetricStats | null;
  /** lowest value of each metric (the peak of trouble for available memory and disk) */
  min: MetricStats | null;
  average: MetricStats | null;
}

export type ReportHostStatus = HostStatus | 'unknown';

export interface HostReport {
  host: string;
  address: string | null;
  status: ReportHostStatus;
  error?: string;
  startedAt: string | null;
  endedAt: string | null;
  durationS: number | null;
  /** sum of the estimates of the phases that ran */
  targetS: number;
  /** min(100, 100 × target / actual); null unless the host finished ok */
  score: number | null;
  phases: PhaseReport[];
  resources: ResourceSummary;
  alerts: Alert[];
  thresholds: AlertThresholds;
  warnings: string[];
}

export interface RunReport {
  schemaVersion: 1;
  runId: string;
  generatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationS: number | null;
  /** phase names in run order, over all hosts */
  phaseNames: string[];
  summary: {
    hosts: number;
    byStatus: Record<ReportHostStatus, number>;
    alerts: { warning: number; critical: number };
    /** mean of the hosts' scores (null when none has one) */
    meanScore: number | null;
  };
  hosts: HostReport[];
  /** `report merge`: the runs (e.g. --shard parts) this report was merged from */
  mergedFrom?: string[];
}

export interface MergeOptions {
  /** used for hosts without run.json */
  thresholds?: AlertThresholds;
  /** fixed for reproducible output; default now */
  generatedAt?: string;
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const r3 = (v: number) => Math.round(v * 1000) / 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Score of SPEC §5: min(100, 100 × target / actual), 1 decimal; null when undefined. */
export function performanceScore(targetS: number, actualS: number | null): number | null {
  if (actualS === null || !(actualS > 0) || !(targetS > 0)) return null;
  return r1(Math.min(100, (100 * targetS) / actualS));
}

/** Variance of an actual against an estimate, in % (positive = slower). */
export function variancePct(actual: number | null, estimate: number | null): number | null {
  if (actual === null || estimate === null || !(estimate > 0)) return null;
  return r1((100 * (actual - estimate)) / estimate);
}

function key(phase: string, step: string, n: number): string {
  return `${phase}\u0000${step}\u0000${n}`;
}

/** Laptop rows keyed by phase/step/occurrence, so a step run twice (resume) joins in order. */
function controllerIndex(rows: readonly TimingRow[]): Map<string, TimingRow> {
  const seen = new Map<string, number>();
  const out = new Map<string, TimingRow>();
  for (const r of rows) {
    const base = `${r.phase}\u0000${r.step}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.set(key(r.phase, r.step, n), r);
  }
  return out;
}

export function summarizeResources(samples: readonly ResourceSample[]): ResourceSummary {
  if (samples.length === 0)
    return { samples: 0, intervalS: null, firstAt: null, lastAt: null, peak: null, min: null, average: null };
  const peak = {} as MetricStats;
  const min = {} as MetricStats;
  const average = {} as MetricStats;
  for (const m of SAMPLE_METRICS) {
    let hi = -Infinity;
    let lo = Infinity;
    let sum = 0;
    for (const s of samples) {
      const v = s[m];
      if (v > hi) hi = v;
      if (v < lo) lo = v;
      sum += v;
    }
    peak[m] = r1(hi);
    min[m] = r1(lo);
    average[m] = r1(sum / samples.length);
  }
  let first = samples[0].t;
  let last = samples[0].t;
  for (const s of samples) {
    if (s.t < first) first = s.t;
    if (s.t > last) last = s.t;
  }
  const gaps: number[] = [];
  for (let i = 1; i < samples.length; i++) gaps.push((samples[i].t - samples[i - 1].t) / 1000);
  gaps.sort((a, b) => a - b);
  const intervalS = gaps.length ? r1(gaps[Math.floor(gaps.length / 2)]) : null;
  return { samples: samples.length, intervalS, firstAt: iso(first), lastAt: iso(last), peak, min, average };
}

function mergeHost(input: HostRunInput, defaults: AlertThresholds): HostReport {
  const run = input.run;
  const thresholds = run?.thresholds ?? defaults;
  const warnings = [...(input.warnings ?? [])];
  const ctl = controllerIndex(input.controllerTiming);

  // droplet rows grouped by phase, in file order
  const phaseRows = new Map<string, TimingRow[]>();
  const stepRows = new Map<string, TimingRow[]>();
  const order: string[] = [];
  for (const r of input.timing) {
    if (!phaseRows.has(r.phase)) {
      phaseRows.set(r.phase, []);
      stepRows.set(r.phase, []);
      order.push(r.phase);
    }
    (r.step === '' ? phaseRows : stepRows).get(r.phase)!.push(r);
  }
  const ctlPhaseRows = new Map<string, TimingRow[]>();
  for (const r of input.controllerTiming) {
    if (r.step !== '') continue;
    if (!ctlPhaseRows.has(r.phase)) ctlPhaseRows.set(r.phase, []);
    ctlPhaseRows.get(r.phase)!.push(r);
    if (!order.includes(r.phase)) order.push(r.phase);
  }
  const names = run
    ? [...run.phases.map((p) => p.name), ...order.filter((n) => !run.phases.some((p) => p.name === n))]
    : order;

  const phases: PhaseReport[] = names.map((name) => {
    const meta = run?.phases.find((p) => p.name === name);
    const rows = phaseRows.get(name) ?? [];
    const ctlRows = ctlPhaseRows.get(name) ?? [];
    // a phase resumed after a dropped connection has several rows: its time is their sum
    const dropletS = rows.length ? r3(rows.reduce((s, r) => s + r.durationS, 0)) : null;
    const ctlS = ctlRows.length
      ? r3(ctlRows.reduce((s, r) => s + r.durationS, 0))
      : meta?.durationMs !== undefined
        ? r3(meta.durationMs / 1000)
        : null;
    const status: PhaseStatus = meta?.status ?? rows.at(-1)?.status ?? ctlRows.at(-1)?.status ?? 'pending';
    const ran = status !== 'skipped' && status !== 'pending';
    const durationS = dropletS ?? ctlS;
    const startEpochS =
      rows[0]?.startEpochS ?? ctlRows[0]?.startEpochS ?? (meta?.startedAt ? Date.parse(meta.startedAt) / 1000 : null);
    const seen = new Map<string, number>();
    const steps: StepReport[] = (stepRows.get(name) ?? []).map((r) => {
      const n = seen.get(r.step) ?? 0;
      seen.set(r.step, n + 1);
      const c = ctl.get(key(name, r.step, n));
      return {
        name: r.step,
        status: r.status,
        startEpochS: r.startEpochS,
        durationS: r.durationS,
        controllerDurationS: c ? c.durationS : null,
      };
    });
    const estimateS = meta ? meta.estimateS : null;
    const p: PhaseReport = {
      name,
      status,
      critical: meta ? meta.critical : null,
      estimateS,
      durationS,
      controllerDurationS: ctlS,
      variancePct: ran ? variancePct(durationS, estimateS) : null,
      startedAt: meta?.startedAt ?? (startEpochS !== null ? iso(startEpochS * 1000) : null),
      startEpochS,
      steps,
    };
    if (meta?.reason !== undefined) p.reason = meta.reason;
    if (meta?.failedSteps?.length) p.failedSteps = meta.failedSteps;
    return p;
  });

  // host start/end: the controller's record, else the span of the timing rows
  let startMs = run ? Date.parse(run.startedAt) : NaN;
  let endMs = run?.endedAt ? Date.parse(run.endedAt) : NaN;
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) {
    const all = [...input.timing, ...input.controllerTiming];
    if (all.length) {
      if (Number.isNaN(startMs)) startMs = Math.min(...all.map((r) => r.startEpochS * 1000));
      if (Number.isNaN(endMs)) endMs = Math.max(...all.map((r) => (r.startEpochS + r.durationS) * 1000));
    }
  }
  const durationS = !Number.isNaN(startMs) && !Number.isNaN(endMs) ? r3((endMs - startMs) / 1000) : null;
  const status: ReportHostStatus =
    run?.status ??
    (input.timing.length || input.controllerTiming.length
      ? phases.some((p) => p.status === 'failed')
        ? 'failed'
        : 'unknown'
      : 'unknown');
  if (!run) warnings.push(`${input.host}: no run.json; status, estimates and score unknown`);

  const targetS = phases.reduce(
    (s, p) =>
      s +
      (p.status !== 'skipped' && p.status !== 'pending' && p.durationS !== null && p.estimateS !== null
        ? p.estimateS
        : 0),
    0,
  );
  const score = status === 'ok' ? performanceScore(targetS, durationS) : null;

  const windows: PhaseWindow[] = phases
    .filter((p) => p.startEpochS !== null && p.durationS !== null)
    .map((p) => ({ phase: p.name, startMs: p.startEpochS! * 1000, endMs: (p.startEpochS! + p.durationS!) * 1000 }));
  const phaseDurations: PhaseDuration[] = phases
    .filter((p) => p.estimateS !== null && p.durationS !== null && p.status !== 'skipped')
    .map((p) => ({
      phase: p.name,
      estimateS: p.estimateS!,
      durationS: p.durationS!,
      startMs: p.startEpochS !== null ? p.startEpochS * 1000 : undefined,
    }));
  const computed = [
    ...resourceAlerts(input.host, input.resources, thresholds, windows),
    ...phaseDurationAlerts(input.host, phaseDurations, thresholds),
  ];
  const alerts = [...computed, ...liveOnly(run?.alerts ?? [], computed)].sort((a, b) => a.at.localeCompare(b.at));

  const report: HostReport = {
    host: input.host,
    address: run?.address ?? null,
    status,
    startedAt: Number.isNaN(startMs) ? null : iso(startMs),
    endedAt: Number.isNaN(endMs) ? null : iso(endMs),
    durationS,
    targetS: r3(targetS),
    score,
    phases,
    resources: summarizeResources(input.resources),
    alerts,
    thresholds,
    warnings,
  };
  if (run?.error !== undefined) report.error = run.error;
  return report;
}

/**
 * Alerts seen live that the full data does not reproduce (e.g. samples lost with a
 * rebooted droplet). A live alert matches a computed one of the same kind, severity
 * and phase within two minutes.
 */
function liveOnly(live: readonly Alert[], computed: readonly Alert[]): Alert[] {
  const WINDOW_MS = 120_000;
  return live.filter(
    (l) =>
      !computed.some(
        (c) =>
          c.kind === l.kind &&
          c.severity === l.severity &&
          (l.kind !== 'phase-duration' || c.phase === l.phase) &&
          (l.kind === 'phase-duration' || Math.abs(Date.parse(c.at) - Date.parse(l.at)) <= WINDOW_MS),
      ),
  );
}

/** Merges all hosts of a run into the report model. Pure: same inputs, same output. */
export function mergeHosts(inputs: RunInputs, opts: MergeOptions = {}): RunReport {
  const defaults = opts.thresholds ?? DEFAULT_THRESHOLDS;
  const hosts = [...inputs.hosts]
    .sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true }))
    .map((h) => mergeHost(h, defaults));
  const byStatus: Record<ReportHostStatus, number> = { ok: 0, failed: 0, unreachable: 0, interrupted: 0, unknown: 0 };
  const alerts = { warning: 0, critical: 0 };
  const phaseNames: string[] = [];
  let start = Infinity;
  let end = -Infinity;
  for (const h of hosts) {
    byStatus[h.status]++;
    for (const a of h.alerts) alerts[a.severity]++;
    for (const p of h.phases) if (!phaseNames.includes(p.name)) phaseNames.push(p.name);
    if (h.startedAt) start = Math.min(start, Date.parse(h.startedAt));
    if (h.endedAt) end = Math.max(end, Date.parse(h.endedAt));
  }
  const scores = hosts.map((h) => h.score).filter((s): s is number => s !== null);
  return {
    schemaVersion: 1,
    runId: inputs.runId,
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    startedAt: Number.isFinite(start) ? iso(start) : null,
    endedAt: Number.isFinite(end) ? iso(end) : null,
    durationS: Number.isFinite(start) && Number.isFinite(end) ? r3((end - start) / 1000) : null,
    phaseNames,
    summary: {
      hosts: hosts.length,
      byStatus,
      alerts,
      meanScore: scores.length ? r1(scores.reduce((a, b) => a + b, 0) / scores.length) : null,
    },
    hosts,
  };
}
