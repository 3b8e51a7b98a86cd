// Live alerts during a run: resource samples read back from the hosts and phases over
// their estimate, through the same pure rules the report uses (src/report/alerts.ts).
import type { EngineEvent } from '../engine/events.js';
import type { AlertThresholds } from '../config/inventory.js';
import { ResourceAlertTracker, PhaseAlertTracker } from '../report/alerts.js';
import { parseResourceRows } from '../report/parse-csv.js';
import type { Alert } from '../report/formats.js';

export interface LiveAlerts {
  /** feed every engine event through this */
  observe(e: EngineEvent): void;
  /** alerts raised so far, per host */
  byHost(host: string): Alert[];
  stop(): void;
}

export function liveAlerts(thresholds: AlertThresholds, raise: (a: Alert) => void, tickMs = 2000): LiveAlerts {
  const resources = new Map<string, ResourceAlertTracker>();
  const phases = new Map<string, PhaseAlertTracker>();
  const running = new Map<string, { host: string; phase: string; estimateS: number; startMs: number }>();
  const raised = new Map<string, Alert[]>();
  const add = (alerts: Alert[]) => {
    for (const a of alerts) {
      raised.set(a.host, [...(raised.get(a.host) ?? []), a]);
      raise(a);
    }
  };
  const phaseTracker = (host: string) => {
    let t = phases.get(host);
    if (!t) phases.set(host, (t = new PhaseAlertTracker(host, thresholds)));
    return t;
  };
  const timer = setInterval(() => {
    const now = Date.now();
    for (const r of running.values()) add(phaseTracker(r.host).check(r.phase, r.estimateS, r.startMs, now));
  }, tickMs);
  timer.unref();
  return {
    observe(e) {
      if (e.type === 'samples') {
        let tracker = resources.get(e.host);
        if (!tracker) resources.set(e.host, (tracker = new ResourceAlertTracker(e.host, thresholds)));
        try {
          for (const s of parseResourceRows(e.csv, `${e.host} resources.csv`).rows) add(tracker.push(s));
        } catch {
          /* a damaged row is reported in the merged report, not here */
        }
      }
      if (e.type === 'phase-start')
        running.set(`${e.host}\0${e.phase}`, {
          host: e.host,
          phase: e.phase,
          estimateS: e.estimateS,
          startMs: Date.now(),
        });
      if (e.type === 'phase-end') {
        const r = running.get(`${e.host}\0${e.phase.name}`);
        running.delete(`${e.host}\0${e.phase.name}`);
        if (r)
          add(phaseTracker(e.host).check(e.phase.name, e.phase.estimateS, r.startMs, r.startMs + e.phase.durationMs));
      }
    },
    byHost: (host) => raised.get(host) ?? [],
    stop: () => clearInterval(timer),
  };
}
