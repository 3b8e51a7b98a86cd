// Runs the selected phases, in order, on one host: one connection, one long-lived
// shell (a second one only for a phase whose `become` differs), the lock, checkpoints,
// and resuming a phase after the connection drops.
import pLimit from 'p-limit';
import type { Connection, Connector, RemoteShell } from '../transport/connection.js';
import type { HostSpec } from '../config/inventory.js';
import type { PhaseInstance } from '../config/playbook.js';
import type { Secret } from '../commands/secret.js';
import { ProvisionError, ConnectError } from '../errors.js';
import { runPhase, type PhaseOutcome, type LocalChecks } from './phase-runner.js';
import { HostSession, type SessionFacts, type MonitorSettings, type FetchedCsvs, type RunRecordFiles } from './host-session.js';
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
  /** phases of one `parallel` group running at once on a host (--ide-concurrency) */
  groupConcurrency?: number;
  /** resource sampling on the host during apply runs */
  monitor?: MonitorSettings;
  /** how often new samples are read back for live alerts (ms); 0 = never */
  sampleReadMs?: number;
  /** the run's CSVs as read back from the host at the end */
  collect?: (host: string, files: FetchedCsvs) => void;
  /**
   * The controller's record of this host's run (run.json, controller-timing.csv),
   * asked for once the host's result is final and stored on the host beside its CSVs
   */
  runRecord?: (result: HostResult) => RunRecordFiles;
  /** runs kept on the host (this one included); absent: all kept */
  keepRuns?: number;
  /** controller-side checks (rdp_check), made through or beside the host's connection */
  localChecks?: (connection: Connection) => LocalChecks;
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
    if (opts.signal?.aborted) {
      return done({ ...result, status: 'interrupted', error: { kind: 'interrupted', message: 'interrupted while connecting', hint: 'nothing was changed on this host; re-run to continue' } });
    }
    const unreachable = err instanceof ConnectError;
    return done({ ...result, status: unreachable ? 'unreachable' : 'failed', error: errorInfo(err) });
  }
  opts.emit({ type: 'host-connected', host: host.name, durationMs: performance.now() - started, os: facts.os.pretty || facts.os.id });
  const onAbort = () => session.stopRunningScript();
  opts.signal?.addEventListener('abort', onAbort);
  const stopSampling = readSamplesPeriodically(session, host.name, opts);
  let pending = '';
  const running = new Map<string, { phase: PhaseInstance; started: number }>();
  let resumes = 0;

  /** One phase, resumed after dropped connections; `shared` phases run on a shell of their own. */
  async function execute(phase: PhaseInstance, index: number, prefix: string, ownShell: boolean): Promise<PhaseOutcome> {
    const name = phase.def.name;
    opts.emit({ type: 'phase-start', host: host.name, phase: name, index, total: opts.phases.length, estimateS: phase.def.estimateS });
    running.set(name, { phase, started: performance.now() });
    // what each step did in earlier attempts, when the connection dropped mid-phase
    const earlier = new Map<string, StepResult>();
    let outcome: PhaseOutcome;
    let resumed = false;
    let recorded = new Set<string>();
    for (;;) {
      const become = phase.def.become ?? host.become;
      let scriptPid: number | null = null;
      let shell: RemoteShell | undefined;
      try {
        shell = ownShell ? await session.extraShell(become) : await session.shell(become);
        if (resumed) {
          // what the host recorded before the drop (some reports were lost with the connection):
          // those steps are counted as changed and get no second timing row
          recorded = new Set(await session.changedSteps(host.stateDir, opts.runId, name));
          for (const stepName of recorded) {
            const s = phase.steps.find((x) => x.name === stepName);
            if (s && earlier.get(stepName)?.status !== 'changed') earlier.set(stepName, { name: s.name, type: s.type.id, status: 'changed', reason: 'changed', durationMs: 0 });
          }
        }
        outcome = await runPhase({
          shell, phase, mode: opts.mode, host: host.name,
          emit: (e) => {
            // a step found in place after a resume keeps the change it made before the drop
            if (e.type === 'step' && earlier.get(e.step.name)?.status !== 'changed') earlier.set(e.step.name, e.step);
            opts.emit(e);
          },
          files: { stateDir: host.stateDir, runId: opts.runId, host: host.name, phase: name },
          ctx: { remoteUser: shell.user },
          prefix: resumed ? '' : prefix,
          recorded,
          localChecks: opts.localChecks?.(session.connection),
          onScriptPid: (pid) => {
            if (scriptPid) session.scriptPids.delete(scriptPid);
            scriptPid = pid;
            if (pid) session.scriptPids.set(pid, become);
          },
        });
        if (scriptPid) session.scriptPids.delete(scriptPid);
        if (ownShell) shell.close();
        break;
      } catch (err) {
        if (!(err instanceof ConnectError) || err.reason !== 'dropped' || opts.signal?.aborted || ++resumes > MAX_RESUMES) throw err;
        warn(`connection lost during phase ${name}; reconnecting to resume it`);
        resumed = true;
        await session.reconnect(err);
      }
    }
    running.delete(name);
    const pr = outcome.result;
    // a step that changed before a drop and was found in place after it did change
    pr.steps = pr.steps.map((s) => {
      const before = earlier.get(s.name);
      return s.status === 'ok' && before?.status === 'changed' ? { ...before, reason: `${before.reason} (before the connection dropped)` } : s;
    });
    if (pr.status === 'ok' && pr.steps.some((s) => s.status === 'changed')) pr.status = 'changed';
    return outcome;
  }

  try {
    const completed = completedPhases(facts, opts.phases);
    let stopReason: string | undefined;
    for (let i = 0; i < opts.phases.length;) {
      // adjacent phases of one `parallel` group run together, each on its own shell
      const group = opts.phases[i]!.def.parallel;
      let end = i + 1;
      while (group && end < opts.phases.length && opts.phases[end]!.def.parallel === group) end++;
      const batch = opts.phases.slice(i, end).map((phase, k) => ({ phase, index: i + k }));
      i = end;

      const results = new Map<PhaseInstance, PhaseResult>();
      const toRun: typeof batch = [];
      for (const { phase, index } of batch) {
        const name = phase.def.name;
        const ck = facts.checkpoints.get(name);
        const unmet = phase.def.needs.filter((n) => !completed.has(n));
        if (opts.signal?.aborted) {
          results.set(phase, skipped(phase, 'interrupted'));
          result.status = 'interrupted';
        } else if (stopReason) results.set(phase, skipped(phase, stopReason));
        // a plan evaluates every phase, checkpointed or not: drift in a completed phase shows
        else if (opts.mode === 'apply' && !opts.force && ck && ck.hash === phase.hash) results.set(phase, skipped(phase, `done ${ck.at} (run ${ck.runId}); --force or "run ${name}" re-runs it`));
        else if (unmet.length) results.set(phase, skipped(phase, `needs ${unmet.join(', ')}, not completed on this host: run ${unmet.length > 1 ? 'them' : 'it'} first`, 'failed'));
        else toRun.push({ phase, index });
      }
      for (const pr of results.values()) opts.emit({ type: 'phase-skip', host: host.name, phase: pr });
      const limit = pLimit(toRun.length > 1 ? Math.max(1, opts.groupConcurrency ?? 3) : 1);
      const prefix = pending;
      pending = '';
      const outcomes = await Promise.allSettled(toRun.map(({ phase, index }, k) =>
        limit(() => execute(phase, index, k === 0 ? prefix : '', toRun.length > 1))));
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
      outcomes.forEach((o, k) => {
        const { phase } = toRun[k]!;
        const outcome = (o as PromiseFulfilledResult<PhaseOutcome>).value;
        pending += outcome.deferred ?? '';
        const ck = facts.checkpoints.get(phase.def.name);
        if (ck && ck.hash !== phase.hash && outcome.result.status !== 'failed') outcome.result.reason += ' (the phase changed since its last checkpoint)';
        else if (ck && opts.mode === 'plan' && outcome.result.status === 'changed') outcome.result.reason += ` (drift: completed ${ck.at}, changed on the host since)`;
        results.set(phase, outcome.result);
      });
      if (opts.signal?.aborted && toRun.length) result.status = 'interrupted';
      for (const { phase } of batch) {
        const pr = results.get(phase)!;
        if (pr.status !== 'failed' || opts.mode === 'plan') completed.add(phase.def.name);
        result.phases.push(pr);
        if (toRun.some((t) => t.phase === phase)) opts.emit({ type: 'phase-end', host: host.name, phase: pr });
        if (pr.status === 'failed' && phase.def.critical) stopReason = `critical phase ${phase.def.name} failed`;
      }
    }
    if (result.status === 'ok' && result.phases.some((p) => p.status === 'failed')) result.status = 'failed';
  } catch (err) {
    const aborted = opts.signal?.aborted === true;
    const names = [...running.keys()].join(', ');
    result.status = aborted ? 'interrupted' : 'failed';
    result.error = aborted
      ? { kind: 'interrupted', message: `interrupted${names ? ` during phase ${names}` : ''}`, hint: 'the running step was stopped; re-run to continue (steps are idempotent)' }
      : errorInfo(err);
    // the phases that were running when it broke are reported, not lost
    for (const cur of running.values()) {
      const reason = aborted ? 'interrupted' : result.error.message;
      result.phases.push({ ...skipped(cur.phase, reason, 'failed'), durationMs: performance.now() - cur.started });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await stopSampling();
    const files = await session.close(pending, () => (opts.mode === 'apply' && opts.runRecord ? opts.runRecord(result) : {}));
    if (opts.mode === 'apply') opts.collect?.(host.name, files);
    result.roundTrips = session.roundTrips;
    if (session.rebootRequired) result.rebootRequired = true;
  }
  return done(result);
}

/** New resource samples, read every sampleReadMs while the host runs, as 'samples' events. */
function readSamplesPeriodically(session: HostSession, host: string, opts: HostRunOptions): () => Promise<void> {
  if (opts.mode !== 'apply' || !opts.monitor || !opts.sampleReadMs) return async () => undefined;
  let seen = 0;
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = session.readSamples(seen).then((csv) => {
      const rows = csv.split('\n').filter((l) => l.trim());
      if (!rows.length) return;
      seen += rows.length;
      opts.emit({ type: 'samples', host, csv: rows.join('\n') });
    }).catch(() => undefined).finally(() => { inFlight = undefined; });
  }, opts.sampleReadMs);
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
