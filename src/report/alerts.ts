// Pure alert rules (SPEC §5). The same tracker serves the live display (feed it
// samples as they arrive) and the report (feed it the whole file), so both agree.
//
// Memory and disk: an episode starts when the value drops below the threshold
// (warning; critical below half of it) and ends only when the value is back above
// the threshold by 10 % (hysteresis, so a value hovering at the line does not
// raise an alert per sample). One alert per episode, plus one when it worsens to
// critical. CPU: samples above cpuPct in a row, for at least cpuSustainedS (each
// sample is the average since the previous one, so a streak covers from the sample
// before it); one warning per streak. Phases: over phaseWarningPct of the estimate
// is a warning, over phaseCriticalPct critical; `at` is when the line was crossed.
import type { Alert, AlertThresholds, ResourceSample, Severity } from './formats.js';

/** A phase's time window, to tell which phase was running when an alert fired. */
export interface PhaseWindow {
  phase: string;
  startMs: number;
  endMs: number;
}

const HYSTERESIS = 1.1;

/** The phase running at time tMs (the latest one started, when windows touch). */
export function phaseAt(windows: readonly PhaseWindow[], tMs: number): string | undefined {
  let found: PhaseWindow | undefined;
  for (const w of windows) if (w.startMs <= tMs && tMs <= w.endMs && (!found || w.startMs >= found.startMs)) found = w;
  return found?.phase;
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const fmtGb = (mb: number) => `${r1(mb / 1024)} GB`;

interface LowEpisode {
  level: 0 | 1 | 2;
}

/** Raises alerts sample by sample for one host. */
export class ResourceAlertTracker {
  private readonly mem: LowEpisode = { level: 0 };
  private readonly disk: LowEpisode = { level: 0 };
  private prevT: number | undefined;
  private streakStartT: number | undefined;
  private streakSum = 0;
  private streakN = 0;
  private streakAlerted = false;

  constructor(
    private readonly host: string,
    private readonly thresholds: AlertThresholds,
    private readonly windows: readonly PhaseWindow[] = [],
  ) {}

  /** Alerts raised by this sample (usually none). Samples must come in time order. */
  push(s: ResourceSample): Alert[] {
    const out: Alert[] = [];
    const th = this.thresholds;
    const memMb = th.memAvailableMb;
    this.low(
      this.mem,
      s.memAvailableMb,
      memMb,
      s,
      out,
      'memory',
      (sev) =>
        `available memory ${Math.round(s.memAvailableMb)} MB is below ${sev === 'critical' ? `half the ${memMb} MB threshold` : `${memMb} MB`}`,
    );
    const diskMb = th.diskFreeGb * 1024;
    this.low(
      this.disk,
      s.diskAvailMb,
      diskMb,
      s,
      out,
      'disk',
      (sev) =>
        `free disk ${fmtGb(s.diskAvailMb)} is below ${sev === 'critical' ? `half the ${th.diskFreeGb} GB threshold` : `${th.diskFreeGb} GB`}`,
    );
    this.cpu(s, out);
    this.prevT = s.t;
    return out;
  }

  private low(
    ep: LowEpisode,
    value: number,
    threshold: number,
    s: ResourceSample,
    out: Alert[],
    kind: 'memory' | 'disk',
    message: (sev: Severity) => string,
  ): void {
    const level = value < threshold / 2 ? 2 : value < threshold ? 1 : 0;
    if (level > ep.level) {
      const severity: Severity = level === 2 ? 'critical' : 'warning';
      out.push(this.alert(kind, severity, s, message(severity), value, threshold));
      ep.level = level;
    } else if (ep.level > 0 && value >= threshold * HYSTERESIS) {
      ep.level = 0; // recovered: the next drop is a new episode
    }
  }

  private cpu(s: ResourceSample, out: Alert[]): void {
    const th = this.thresholds;
    const gap = this.prevT === undefined ? 0 : s.t - this.prevT;
    // a hole in the samples longer than the window itself breaks the streak
    if (gap / 1000 > th.cpuSustainedS) this.streakStartT = undefined;
    if (s.cpuPct > th.cpuPct) {
      if (this.streakStartT === undefined) {
        this.streakStartT = this.prevT !== undefined && gap / 1000 <= th.cpuSustainedS ? this.prevT : s.t;
        this.streakSum = 0;
        this.streakN = 0;
        this.streakAlerted = false;
      }
      this.streakSum += s.cpuPct;
      this.streakN++;
      const sustainedS = (s.t - this.streakStartT) / 1000;
      if (!this.streakAlerted && sustainedS >= th.cpuSustainedS) {
        this.streakAlerted = true;
        const mean = r1(this.streakSum / this.streakN);
        out.push(
          this.alert(
            'cpu',
            'warning',
            s,
            `CPU above ${th.cpuPct} % for ${Math.round(sustainedS)} s (mean ${mean} %)`,
            mean,
            th.cpuPct,
          ),
        );
      }
    } else {
      this.streakStartT = undefined;
    }
  }

  private alert(
    kind: Alert['kind'],
    severity: Severity,
    s: ResourceSample,
    message: string,
    value: number,
    threshold: number,
  ): Alert {
    const a: Alert = {
      host: this.host,
      kind,
      severity,
      at: new Date(s.t).toISOString(),
      message,
      value: r1(value),
      threshold,
    };
    const phase = phaseAt(this.windows, s.t);
    if (phase !== undefined) a.phase = phase;
    return a;
  }
}

/** All resource alerts of one host's samples (sorted by time first). */
export function resourceAlerts(
  host: string,
  samples: readonly ResourceSample[],
  thresholds: AlertThresholds,
  windows: readonly PhaseWindow[] = [],
): Alert[] {
  const sorted = isSorted(samples) ? samples : [...samples].sort((a, b) => a.t - b.t);
  const tracker = new ResourceAlertTracker(host, thresholds, windows);
  const out: Alert[] = [];
  for (const s of sorted) for (const a of tracker.push(s)) out.push(a);
  return out;
}

function isSorted(samples: readonly ResourceSample[]): boolean {
  for (let i = 1; i < samples.length; i++) if (samples[i].t < samples[i - 1].t) return false;
  return true;
}

/** Severity of a phase that ran durationS against its estimate, if any. */
export function phaseDurationSeverity(
  estimateS: number,
  durationS: number,
  thresholds: AlertThresholds,
): Severity | undefined {
  if (!(estimateS > 0)) return undefined;
  const pct = (100 * durationS) / estimateS;
  if (pct > thresholds.phaseCriticalPct) return 'critical';
  if (pct > thresholds.phaseWarningPct) return 'warning';
  return undefined;
}

export interface PhaseDuration {
  phase: string;
  estimateS: number;
  durationS: number;
  /** when the phase started (epoch ms); `at` is then the moment the line was crossed */
  startMs?: number;
  /** fallback for `at` when the start is unknown */
  endedAt?: string;
}

/**
 * One alert per phase over its budget, with the worse severity. A phase still running
 * can be checked live with its elapsed time as durationS.
 */
export function phaseDurationAlerts(
  host: string,
  phases: readonly PhaseDuration[],
  thresholds: AlertThresholds,
): Alert[] {
  const out: Alert[] = [];
  for (const p of phases) {
    const severity = phaseDurationSeverity(p.estimateS, p.durationS, thresholds);
    if (!severity) continue;
    const limitPct = severity === 'critical' ? thresholds.phaseCriticalPct : thresholds.phaseWarningPct;
    const pct = Math.round((100 * p.durationS) / p.estimateS);
    const at =
      p.startMs !== undefined
        ? new Date(p.startMs + p.estimateS * limitPct * 10).toISOString()
        : (p.endedAt ?? new Date(0).toISOString());
    out.push({
      host,
      kind: 'phase-duration',
      severity,
      at,
      phase: p.phase,
      message: `phase ${p.phase} took ${r1(p.durationS)} s, ${pct} % of its ${p.estimateS} s estimate (over ${limitPct} %)`,
      value: r1(p.durationS),
      threshold: r1((p.estimateS * limitPct) / 100),
    });
  }
  return out;
}

/**
 * Live phase-duration alerts for the progress display: call check() while a phase
 * runs (and once when it ends); each phase raises its warning and its critical
 * alert at most once.
 */
export class PhaseAlertTracker {
  private readonly raised = new Set<string>();

  constructor(
    private readonly host: string,
    private readonly thresholds: AlertThresholds,
  ) {}

  check(phase: string, estimateS: number, startMs: number, nowMs: number): Alert[] {
    const alerts = phaseDurationAlerts(
      this.host,
      [{ phase, estimateS, durationS: (nowMs - startMs) / 1000, startMs }],
      this.thresholds,
    );
    return alerts.filter((a) => {
      const key = `${phase}\u0000${a.severity}`;
      if (this.raised.has(key)) return false;
      this.raised.add(key);
      return true;
    });
  }
}
