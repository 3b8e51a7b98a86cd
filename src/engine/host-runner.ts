// Runs the selected phases, in order, on one host: one connection, one long-lived
// shell (a second one only for a phase whose `become` differs), the lock, checkpoints,
// and resuming a phase after the connection drops.
import type { Connector } from '../transport/connection.js';
import type { HostSpec } from '../config/inventory.js';
import type { PhaseInstance } from '../config/playbook.js';
import type { Secret } from '../commands/secret.js';
import { ProvisionError, ConnectError } from '../errors.js';
import { runPhase, type PhaseOutcome } from './phase-runner.js';
import { HostSession, type SessionFacts } from './host-session.js';
import type { EventSink, HostResult, PhaseResult, StepResult } from './events.js';

export interface HostRunOptions {
  mode: 'apply' | 'plan';
  runId: string;
  /** who runs this, recorded in the lock: "user@laptop (pid N)" */
  holder: string;
  /** phases rendered for this host, in order */
  phases: PhaseInstance[];
  /** ignore checkpoints */
  force: boolean;
  emit: EventSink;
  signal?: AbortSignal;
  sudoPassword?: Secret;
}

/** Drops survived per host before giving up on it. */
export const MAX_RESUMES = 30;

function errorInfo(err: unknown): { kind: string; message: string; hint: string } {
  if (err instanceof ProvisionError) return { kind: err.kind, message: err.message, hint: err.hint };
  return { kind: 'internal', message: err instanceof Error ? err.message : String(err), hint: 'this is a bug in vps-provision; run with --verbose and report it' };
}

function skipped(phase: PhaseInstance, reason: string, status: PhaseResult['status'] = 'skipped'): PhaseResult {
  return {
    name: phase.def.name, status, reason, durationMs: 0, estimateS: phase.def.estimateS, critical: phase.def.critical,
    steps: phase.steps.map((s) => ({ name: s.name, type: s.type.id, status: 'skipped', reason, durationMs: 0 })),
  };
}

/** Phases whose checkpoint counts: same rendered content, or not part of this run (run <phase>). */
function completedPhases(facts: SessionFacts, phases: PhaseInstance[]): Set<string> {
  const done = new Set<string>();
  for (const [name, ck] of facts.checkpoints) {
    const here = phases.find((p) => p.def.name === name);
    if (!here || here.hash === ck.hash) done.add(name);
  }
  return done;
}

export async function runHost(connector: Connector, host: HostSpec, opts: HostRunOptions): Promise<HostResult> {
  const started = performance.now();
  const result: HostResult = { host: host.name, address: host.address, status: 'ok', durationMs: 0, roundTrips: 0, phases: [] };
  const warn = (message: string) => opts.emit({ type: 'warning', host: host.name, message });
  const done = (r: HostResult) => {
    r.durationMs = performance.now() - started;
    opts.emit({ type: 'host-end', host: host.name, result: r });
    return r;
  };
  opts.emit({ type: 'host-start', host: host.name });
  let session: HostSession;
  let facts: SessionFacts;
  try {
    ({ session, facts } = await HostSession.open(connector, host, { ...opts, onWarning: warn }));
  } catch (err) {
    const unreachable = err instanceof ConnectError;
    return done({ ...result, status: unreachable ? 'unreachable' : 'failed', error: errorInfo(err) });
  }
  opts.emit({ type: 'host-connected', host: host.name, durationMs: performance.now() - started, os: facts.os.pretty || facts.os.id });
  const onAbort = () => session.stopRunningScript();
  opts.signal?.addEventListener('abort', onAbort);
  let pending = '';
  let current: { phase: PhaseInstance; started: number } | undefined;
  try {
    const completed = completedPhases(facts, opts.phases);
    let stopReason: string | undefined;
    let resumes = 0;
    for (const [i, phase] of opts.phases.entries()) {
      const name = phase.def.name;
      const ck = facts.checkpoints.get(name);
      const unmet = phase.def.needs.filter((n) => !completed.has(n));
      let pr: PhaseResult;
      if (opts.signal?.aborted) {
        pr = skipped(phase, 'interrupted');
        result.status = 'interrupted';
      } else if (stopReason) {
        pr = skipped(phase, stopReason);
      } else if (!opts.force && ck && ck.hash === phase.hash) {
        pr = skipped(phase, `done ${ck.at} (run ${ck.runId}); --force or "run ${name}" re-runs it`);
      } else if (unmet.length) {
        pr = skipped(phase, `needs ${unmet.join(', ')}, not completed on this host: run ${unmet.length > 1 ? 'them' : 'it'} first`, 'failed');
      } else {
        opts.emit({ type: 'phase-start', host: host.name, phase: name, index: i, total: opts.phases.length });
        current = { phase, started: performance.now() };
        // what each step did in earlier attempts, when the connection dropped mid-phase
        const earlier = new Map<string, StepResult>();
        let outcome: PhaseOutcome;
        let resumed = false;
        for (;;) {
          try {
            const shell = await session.shell(phase.def.become ?? host.become);
            outcome = await runPhase({
              shell, phase, mode: opts.mode, host: host.name,
              emit: (e) => { if (e.type === 'step') earlier.set(e.step.name, e.step); opts.emit(e); },
              files: { stateDir: host.stateDir, runId: opts.runId, host: host.name, phase: name },
              ctx: { remoteUser: shell.user },
              prefix: pending,
              onScriptPid: (pid) => { if (pid) session.scriptPid = pid; },
            });
            break;
          } catch (err) {
            if (!(err instanceof ConnectError) || err.reason !== 'dropped' || opts.signal?.aborted || ++resumes > MAX_RESUMES) throw err;
            warn(`connection lost during phase ${name}; reconnecting to resume it`);
            resumed = true;
            await session.reconnect(err);
          }
        }
        session.scriptPid = null;
        current = undefined;
        pending = outcome.deferred ?? '';
        pr = outcome.result;
        if (resumed) {
          // steps whose report was lost with the connection: the host's own timing rows say what they did
          const changedOnHost = await session.changedSteps(host.stateDir, opts.runId, name);
          for (const stepName of changedOnHost) {
            if (earlier.get(stepName)?.status !== 'changed') earlier.set(stepName, { ...pr.steps.find((x) => x.name === stepName)!, status: 'changed', reason: 'changed' });
          }
        }
        // a step that changed before a drop and was found in place after it did change
        pr.steps = pr.steps.map((s) => {
          const before = earlier.get(s.name);
          return s.status === 'ok' && before?.status === 'changed' ? { ...before, reason: `${before.reason} (before the connection dropped)` } : s;
        });
        if (pr.status === 'ok' && pr.steps.some((s) => s.status === 'changed')) pr.status = 'changed';
        if (ck && ck.hash !== phase.hash && pr.status !== 'failed') pr.reason += ' (the phase changed since its last checkpoint)';
        if (pr.status !== 'failed' || opts.mode === 'plan') completed.add(name);
        if (opts.signal?.aborted) result.status = 'interrupted';
      }
      result.phases.push(pr);
      if (pr.status !== 'skipped') opts.emit({ type: 'phase-end', host: host.name, phase: pr });
      if (pr.status === 'failed' && phase.def.critical) stopReason = `critical phase ${name} failed`;
    }
    if (result.status === 'ok' && result.phases.some((p) => p.status === 'failed')) result.status = 'failed';
  } catch (err) {
    const aborted = opts.signal?.aborted === true;
    result.status = aborted ? 'interrupted' : 'failed';
    result.error = aborted
      ? { kind: 'interrupted', message: `interrupted${current ? ` during phase ${current.phase.def.name}` : ''}`, hint: 'the running step was stopped; re-run to continue (steps are idempotent)' }
      : errorInfo(err);
    if (current) {
      // the phase that was running when it broke is reported, not lost
      const reason = aborted ? 'interrupted' : result.error.message;
      result.phases.push({ ...skipped(current.phase, reason, 'failed'), durationMs: performance.now() - current.started });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await session.close(pending);
    result.roundTrips = session.roundTrips;
  }
  return done(result);
}
