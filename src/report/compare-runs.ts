// Pure comparison of a run (or benchmark) with a baseline (SPEC §5): variance % per
// phase and in total; more than tolerancePct (20) worse is a regression, more than
// tolerancePct better an improvement, anything between accepted. A change must also
// pass an absolute floor (minDelta, in the measurement's unit; runs: 1 s by default),
// so 0.01 s -> 0.02 s (+100 %) is noise, not a regression.
import type { RunReport } from './merge-hosts.js';

export type Verdict = 'regression' | 'accepted' | 'improved';

export const DEFAULT_TOLERANCE_PCT = 20;
/** Run comparisons: a phase or total must move by more than this many seconds to count. */
export const DEFAULT_MIN_DELTA_S = 1;

export interface ChangeOptions {
  /** default 20 */
  tolerancePct?: number;
  /** false for durations and latencies (the default), true for throughputs */
  higherIsBetter?: boolean;
  /** absolute floor, in the measurement's unit: a smaller change is accepted whatever its % (default 0) */
  minDelta?: number;
}

export interface Change {
  baseline: number;
  current: number;
  /** 100 × (current − baseline) / baseline, 1 decimal; null when the baseline is 0 */
  variancePct: number | null;
  verdict: Verdict;
}

/** Classifies one measurement against its baseline. */
export function classifyChange(baseline: number, current: number, opts: ChangeOptions = {}): Change {
  const tol = opts.tolerancePct ?? DEFAULT_TOLERANCE_PCT;
  const sign = opts.higherIsBetter ? -1 : 1;
  // rounded like the % below, so a change of exactly the floor is within it
  const small = Math.round(Math.abs(current - baseline) * 1e6) / 1e6 <= (opts.minDelta ?? 0);
  if (baseline === 0) {
    const worse = sign * current > 0;
    return {
      baseline,
      current,
      variancePct: null,
      verdict: current === 0 || small ? 'accepted' : worse ? 'regression' : 'improved',
    };
  }
  const raw = (100 * (current - baseline)) / Math.abs(baseline);
  // rounded before comparing, so exactly 20 % is "within 20 %" despite float noise
  const worsePct = Math.round(sign * raw * 1e6) / 1e6;
  const verdict: Verdict = small
    ? 'accepted'
    : worsePct > tol
      ? 'regression'
      : worsePct < -tol
        ? 'improved'
        : 'accepted';
  return { baseline, current, variancePct: Math.round(raw * 10) / 10, verdict };
}

export interface ComparisonRow extends Change {
  name: string;
}

export interface RunComparison {
  baselineRunId: string;
  runId: string;
  tolerancePct: number;
  /** changes of at most this many seconds are accepted whatever their % */
  minDeltaS: number;
  /** unit of every baseline/current value */
  unit: 's';
  /** mean host duration of the hosts that finished ok */
  total: ComparisonRow | null;
  /** per phase: mean duration over the hosts where it completed */
  phases: ComparisonRow[];
  /** per host present in both runs: its total duration */
  hosts: ComparisonRow[];
  /** phases or hosts measured in only one of the two runs */
  unmatched: string[];
  regressions: number;
  hasRegression: boolean;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Mean duration of each completed phase over a run's hosts. */
function phaseMeans(run: RunReport): Map<string, number> {
  const acc = new Map<string, number[]>();
  for (const h of run.hosts) {
    for (const p of h.phases) {
      if ((p.status !== 'ok' && p.status !== 'changed') || p.durationS === null) continue;
      if (!acc.has(p.name)) acc.set(p.name, []);
      acc.get(p.name)!.push(p.durationS);
    }
  }
  const out = new Map<string, number>();
  for (const name of run.phaseNames) {
    const m = mean(acc.get(name) ?? []);
    if (m !== null) out.set(name, Math.round(m * 1000) / 1000);
  }
  for (const [name, xs] of acc) if (!out.has(name)) out.set(name, Math.round(mean(xs)! * 1000) / 1000);
  return out;
}

/** Mean total duration of the hosts that finished ok (null when none did). */
function runTotal(run: RunReport): number | null {
  const m = mean(run.hosts.filter((h) => h.status === 'ok' && h.durationS !== null).map((h) => h.durationS!));
  return m === null ? null : Math.round(m * 1000) / 1000;
}

/** Compares a run with a baseline run. */
export interface RunCompareOptions {
  tolerancePct?: number;
  /** default DEFAULT_MIN_DELTA_S */
  minDeltaS?: number;
}

export function compareRuns(baseline: RunReport, run: RunReport, opts: RunCompareOptions = {}): RunComparison {
  const tolerancePct = opts.tolerancePct ?? DEFAULT_TOLERANCE_PCT;
  const minDeltaS = opts.minDeltaS ?? DEFAULT_MIN_DELTA_S;
  const rule = { tolerancePct, minDelta: minDeltaS };
  const unmatched: string[] = [];
  const base = phaseMeans(baseline);
  const cur = phaseMeans(run);
  const phases: ComparisonRow[] = [];
  for (const [name, b] of base) {
    const c = cur.get(name);
    if (c === undefined) unmatched.push(`phase ${name}: not completed in ${run.runId}`);
    else phases.push({ name, ...classifyChange(b, c, rule) });
  }
  for (const name of cur.keys())
    if (!base.has(name)) unmatched.push(`phase ${name}: not completed in ${baseline.runId}`);

  const hosts: ComparisonRow[] = [];
  const baseHosts = new Map(baseline.hosts.map((h) => [h.host, h] as const));
  for (const h of run.hosts) {
    const b = baseHosts.get(h.host);
    if (b && b.status === 'ok' && h.status === 'ok' && b.durationS !== null && h.durationS !== null) {
      hosts.push({ name: h.host, ...classifyChange(b.durationS, h.durationS, rule) });
    }
  }
  const bt = runTotal(baseline);
  const ct = runTotal(run);
  const total = bt !== null && ct !== null ? { name: 'total', ...classifyChange(bt, ct, rule) } : null;
  if (total === null) unmatched.push('total: no host finished ok in ' + (bt === null ? baseline.runId : run.runId));
  const regressions = [...phases, ...(total ? [total] : [])].filter((r) => r.verdict === 'regression').length;
  return {
    baselineRunId: baseline.runId,
    runId: run.runId,
    tolerancePct,
    minDeltaS,
    unit: 's',
    total,
    phases,
    hosts,
    unmatched,
    regressions,
    hasRegression: regressions > 0,
  };
}

interface TrendSeries {
  name: string;
  /** one value per run, in run order; null when not measured in that run */
  values: (number | null)[];
  /** last measured value against the first, % */
  changePct: number | null;
  /** last measured value against the one before it */
  lastVerdict: Verdict | null;
}

export interface Trend {
  labels: string[];
  /** unit of every value ('s' for runs; the metric's unit for benchmarks) */
  unit: string;
  series: TrendSeries[];
}

/** A trend over labelled measurements (durations by default; throughputs with higherIsBetter). */
export function trendOf(
  labels: string[],
  named: Map<string, (number | null)[]>,
  opts: ChangeOptions & { unit?: string } = {},
): Trend {
  const series: TrendSeries[] = [];
  for (const [name, values] of named) {
    const measured = values.filter((v): v is number => v !== null);
    let changePct: number | null = null;
    let lastVerdict: Verdict | null = null;
    if (measured.length >= 2) {
      changePct = classifyChange(measured[0], measured.at(-1)!, opts).variancePct;
      lastVerdict = classifyChange(measured.at(-2)!, measured.at(-1)!, opts).verdict;
    }
    series.push({ name, values, changePct, lastVerdict });
  }
  return { labels, unit: opts.unit ?? '', series };
}

/** Per-phase and total trend over several runs (ordered by start time). */
export function runTrend(runs: readonly RunReport[], opts: RunCompareOptions = {}): Trend {
  const ordered = [...runs].sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  const means = ordered.map(phaseMeans);
  const names: string[] = [];
  for (const r of ordered) for (const n of r.phaseNames) if (!names.includes(n)) names.push(n);
  const named = new Map<string, (number | null)[]>();
  named.set('total', ordered.map(runTotal));
  for (const n of names)
    named.set(
      n,
      means.map((m) => m.get(n) ?? null),
    );
  return trendOf(
    ordered.map((r) => r.runId),
    named,
    { tolerancePct: opts.tolerancePct, minDelta: opts.minDeltaS ?? DEFAULT_MIN_DELTA_S, unit: 's' },
  );
}

/** A run that did work: some host finished ok and some phase ran (not all skipped). */
export function isCompletedRun(run: RunReport): boolean {
  return (
    run.hosts.some((h) => h.status === 'ok') &&
    run.hosts.some((h) => h.phases.some((p) => p.status === 'ok' || p.status === 'changed'))
  );
}

/** Both runs selected the same phases (a `run rdp` is not compared with a full provision). */
export function samePhases(a: RunReport, b: RunReport): boolean {
  const x = new Set(a.phaseNames);
  const y = new Set(b.phaseNames);
  return x.size === y.size && [...x].every((n) => y.has(n));
}

/**
 * The default run to judge against a baseline: the newest completed run of the same
 * phases, other than the baseline itself. `reports` come newest first.
 */
export function pickLatestComparable(baseline: RunReport, reports: Iterable<RunReport>): RunReport | undefined {
  for (const r of reports) if (r.runId !== baseline.runId && isCompletedRun(r) && samePhases(baseline, r)) return r;
  return undefined;
}
