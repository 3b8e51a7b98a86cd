// Runs the selected phases, in order, on one host: one connection, one long-lived
// shell (a second one only for a phase whose `become` differs), the lock, checkpoints,
// and resuming a phase after the connection drops.
import pLimit from 'p-limit';
import type { Connection, Connector, RemoteShell } from '../transport/connection.js';
import type { HostSpec } from '../config/inventory.js';
import type { PhaseInstance } from '../config/playbook.js';
import type { Secret } from '../shell/secret.js';
import { ProvisionError, ConnectError } from '../errors.js';
import { runPhase, type PhaseOutcome, type LocalChecks } from './phase-runner.js';
import {
  HostSession,
  type SessionFacts,
  type MonitorSettings,
  type FetchedCsvs,
  type RunRecordFiles,
} from './host-session.js';
import type { EventSink, HostResult, PhaseResult, StepResult } from './events.js';
import { osName } from '../facts/os-release.js';
import { evaluateWhen } from '../config/when.js';

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
const MAX_RESUMES = 30;

function errorInfo(err: unknown): { kind: string; message: string; hint: string } {
  if (err instanceof ProvisionError) return { kind: err.kind, message: err.message, hint: err.hint };
  return {
    kind: 'internal',
    message: err instanceof Error ? err.message : String(err),
    hint: 'this is a bug in vps-provision; run with --verbose and report it',
  };
}

function skipped(phase: PhaseInstance, reason: string, status: PhaseResult['status'] = 'skipped'): PhaseResult {
  return {
    name: phase.def.name,
    status,
    reason,
    durationMs: 0,
    estimateS: phase.def.estimateS,
    critical: phase.def.critical,
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

/** What one host's run carries from step to step. */
interface HostRun {
  host: HostSpec;
  opts: HostRunOptions;
  session: HostSession;
  facts: SessionFacts;
  result: HostResult;
  warn: (message: string) => void;
  /** the phases running now, for a break to report them */
  /** the phases running now: when each started, and what its steps reported so far */
  running: Map<string, { phase: PhaseInstance; started: number; reported: Map<string, StepResult> }>;
  /** deferred shell text (checkpoints, timing rows) for the next script */
  pending: string;
  /** drops survived so far */
  resumes: number;
}

export async function runHost(connector: Connector, host: HostSpec, opts: HostRunOptions): Promise<HostResult> {
  const started = performance.now();
  const result: HostResult = {
    host: host.name,
    address: host.address,
    status: 'ok',
    durationMs: 0,
    roundTrips: 0,
    phases: [],
  };
  const warn = (message: string) => opts.emit({ type: 'warning', host: host.name, message });
  const done = (r: HostResult) => {
    r.durationMs = performance.now() - started;
    opts.emit({ type: 'host-end', host: host.name, result: r });
    return r;
  };
  opts.emit({ type: 'host-start', host: host.name });
  const opened = await openSession(connector, host, opts, warn);
  if ('failure' in opened) return done({ ...result, ...opened.failure });
  const { session, facts } = opened;
  opts.emit({ type: 'host-connected', host: host.name, durationMs: performance.now() - started, os: osName(facts.os) });
  const run: HostRun = { host, opts, session, facts, result, warn, running: new Map(), pending: '', resumes: 0 };
  const onAbort = () => session.stopRunningScript();
  opts.signal?.addEventListener('abort', onAbort);
  const stopSampling = readSamplesPeriodically(session, host.name, opts);
  try {
    await runAllPhases(run);
  } catch (err) {
    reportBreak(run, err);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await stopSampling();
    await closeSession(run);
  }
  return done(result);
}

/** The session and its facts, or how the host failed before any phase. */
async function openSession(
  connector: Connector,
  host: HostSpec,
  opts: HostRunOptions,
  warn: (m: string) => void,
): Promise<{ session: HostSession; facts: SessionFacts } | { failure: Pick<HostResult, 'status' | 'error'> }> {
  try {
    return await HostSession.open(connector, host, { ...opts, onWarning: warn });
  } catch (err) {
    if (opts.signal?.aborted) {
      return {
        failure: {
          status: 'interrupted',
          error: {
            kind: 'interrupted',
            message: 'interrupted while connecting',
            hint: 'nothing was changed on this host; re-run to continue',
          },
        },
      };
    }
    const unreachable = err instanceof ConnectError;
    return { failure: { status: unreachable ? 'unreachable' : 'failed', error: errorInfo(err) } };
  }
}

/** Every selected phase in order, a `parallel` group's adjacent phases together. */
async function runAllPhases(run: HostRun): Promise<void> {
  const { opts, result } = run;
  const completed = completedPhases(run.facts, opts.phases);
  let stopReason: string | undefined;
  for (let i = 0; i < opts.phases.length;) {
    const batch = groupAt(opts.phases, i);
    i += batch.length;
    const { results, toRun } = triage(run, batch, completed, stopReason);
    for (const pr of results.values()) opts.emit({ type: 'phase-skip', host: run.host.name, phase: pr });
    await runBatch(run, toRun, results);
    if (opts.signal?.aborted && toRun.length) result.status = 'interrupted';
    for (const { phase } of batch) {
      const pr = results.get(phase)!;
      if (pr.status !== 'failed' || opts.mode === 'plan') completed.add(phase.def.name);
      result.phases.push(pr);
      if (toRun.some((t) => t.phase === phase)) opts.emit({ type: 'phase-end', host: run.host.name, phase: pr });
      if (pr.status === 'failed' && phase.def.critical) stopReason = `critical phase ${phase.def.name} failed`;
    }
  }
  if (result.status === 'ok' && result.phases.some((p) => p.status === 'failed')) result.status = 'failed';
}

interface Indexed {
  phase: PhaseInstance;
  index: number;
}

/** The phase at `start` with the adjacent phases of its `parallel` group (run together, each on its own shell). */
function groupAt(phases: readonly PhaseInstance[], start: number): Indexed[] {
  const group = phases[start]!.def.parallel;
  let end = start + 1;
  while (group && end < phases.length && phases[end]!.def.parallel === group) end++;
  return phases.slice(start, end).map((phase, k) => ({ phase, index: start + k }));
}

/** Which phases of a batch run, and why the others are skipped (interrupt, earlier failure, checkpoint, needs). */
function triage(
  run: HostRun,
  batch: readonly Indexed[],
  completed: ReadonlySet<string>,
  stopReason: string | undefined,
): { results: Map<PhaseInstance, PhaseResult>; toRun: Indexed[] } {
  const { opts } = run;
  const results = new Map<PhaseInstance, PhaseResult>();
  const toRun: Indexed[] = [];
  for (const { phase, index } of batch) {
    const name = phase.def.name;
    const ck = run.facts.checkpoints.get(name);
    const unmet = phase.def.needs.filter((n) => !completed.has(n));
    if (opts.signal?.aborted) {
      results.set(phase, skipped(phase, 'interrupted'));
      run.result.status = 'interrupted';
    } else if (stopReason) results.set(phase, skipped(phase, stopReason));
    // a phase whose `when` does not hold on this host: skipped (and counts as done for needs)
    else if (phase.when && !evaluateWhen(phase.when, run.facts.os).applies)
      results.set(phase, skipped(phase, evaluateWhen(phase.when, run.facts.os).reason));
    // a plan evaluates every phase, checkpointed or not: drift in a completed phase shows
    else if (opts.mode === 'apply' && !opts.force && ck && ck.hash === phase.hash)
      results.set(phase, skipped(phase, `done ${ck.at} (run ${ck.runId}); --force or "run ${name}" re-runs it`));
    else if (unmet.length)
      results.set(
        phase,
        skipped(
          phase,
          `needs ${unmet.join(', ')}, not completed on this host: run ${unmet.length > 1 ? 'them' : 'it'} first`,
          'failed',
        ),
      );
    else toRun.push({ phase, index });
  }
  return { results, toRun };
}

/** The phases to run of one batch (several at once for a parallel group); their results go into `results`. */
async function runBatch(
  run: HostRun,
  toRun: readonly Indexed[],
  results: Map<PhaseInstance, PhaseResult>,
): Promise<void> {
  const { opts } = run;
  const limit = pLimit(toRun.length > 1 ? Math.max(1, opts.groupConcurrency ?? 3) : 1);
  const prefix = run.pending;
  run.pending = '';
  const outcomes = await Promise.allSettled(
    toRun.map(({ phase, index }, k) =>
      limit(() => executePhase(run, phase, index, k === 0 ? prefix : '', toRun.length > 1)),
    ),
  );
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;
  outcomes.forEach((o, k) => {
    const { phase } = toRun[k]!;
    const outcome = (o as PromiseFulfilledResult<PhaseOutcome>).value;
    run.pending += outcome.deferred ?? '';
    const ck = run.facts.checkpoints.get(phase.def.name);
    if (ck && ck.hash !== phase.hash && outcome.result.status !== 'failed')
      outcome.result.reason += ' (the phase changed since its last checkpoint)';
    else if (ck && opts.mode === 'plan' && outcome.result.status === 'changed')
      outcome.result.reason += ` (drift: completed ${ck.at}, changed on the host since)`;
    results.set(phase, outcome.result);
  });
}

/** One phase, resumed after dropped connections; `shared` phases run on a shell of their own. */
async function executePhase(
  run: HostRun,
  phase: PhaseInstance,
  index: number,
  prefix: string,
  ownShell: boolean,
): Promise<PhaseOutcome> {
  const { opts, host, session } = run;
  const name = phase.def.name;
  opts.emit({
    type: 'phase-start',
    host: host.name,
    phase: name,
    index,
    total: opts.phases.length,
    estimateS: phase.def.estimateS,
  });
  // what each step did in earlier attempts, when the connection dropped mid-phase
  const earlier = new Map<string, StepResult>();
  run.running.set(name, { phase, started: performance.now(), reported: earlier });
  let outcome: PhaseOutcome;
  let resumed = false;
  for (;;) {
    try {
      outcome = await attemptPhase(run, phase, resumed ? '' : prefix, ownShell, resumed, earlier);
      break;
    } catch (err) {
      if (
        !(err instanceof ConnectError) ||
        err.reason !== 'dropped' ||
        opts.signal?.aborted ||
        ++run.resumes > MAX_RESUMES
      )
        throw err;
      run.warn(`connection lost during phase ${name}; reconnecting to resume it`);
      resumed = true;
      await session.reconnect(err);
    }
  }
  run.running.delete(name);
  const pr = outcome.result;
  // a step that changed before a drop and was found in place after it did change
  pr.steps = pr.steps.map((s) => {
    const before = earlier.get(s.name);
    return s.status === 'ok' && before?.status === 'changed'
      ? { ...before, reason: `${before.reason} (before the connection dropped)` }
      : s;
  });
  if (pr.status === 'ok' && pr.steps.some((s) => s.status === 'changed')) pr.status = 'changed';
  return outcome;
}

/** One try at a phase on its shell; after a drop (`resumed`) the steps the host recorded count as changed. */
async function attemptPhase(
  run: HostRun,
  phase: PhaseInstance,
  prefix: string,
  ownShell: boolean,
  resumed: boolean,
  earlier: Map<string, StepResult>,
): Promise<PhaseOutcome> {
  const { opts, host, session } = run;
  const name = phase.def.name;
  const become = phase.def.become ?? host.become;
  let scriptPid: number | null = null;
  const shell: RemoteShell = ownShell ? await session.extraShell(become) : await session.shell(become);
  const recorded = resumed ? await recallRecorded(run, phase, earlier) : new Map<string, string>();
  const outcome = await runPhase({
    shell,
    phase,
    mode: opts.mode,
    host: host.name,
    emit: (e) => {
      // a step found in place after a resume keeps the change it made before the drop
      if (e.type === 'step' && earlier.get(e.step.name)?.status !== 'changed') earlier.set(e.step.name, e.step);
      opts.emit(e);
    },
    files: { stateDir: host.stateDir, runId: opts.runId, host: host.name, phase: name },
    ctx: { remoteUser: shell.user, os: run.facts.os },
    prefix,
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
  return outcome;
}

/**
 * What the host recorded before a drop (some reports were lost with the connection):
 * the steps it recorded as changed count as changed; no step gets a second timing row.
 */
async function recallRecorded(
  run: HostRun,
  phase: PhaseInstance,
  earlier: Map<string, StepResult>,
): Promise<Map<string, string>> {
  const recorded = await run.session.recordedSteps(run.host.stateDir, run.opts.runId, phase.def.name);
  for (const [stepName, status] of recorded) {
    const s = phase.steps.find((x) => x.name === stepName);
    if (s && status === 'changed' && earlier.get(stepName)?.status !== 'changed')
      earlier.set(stepName, { name: s.name, type: s.type.id, status: 'changed', reason: 'changed', durationMs: 0 });
  }
  return recorded;
}

/** A run broken off (interrupt or error): the host's status and error, the phases running then reported as failed. */
function reportBreak(run: HostRun, err: unknown): void {
  const { result } = run;
  const aborted = run.opts.signal?.aborted === true;
  const names = [...run.running.keys()].join(', ');
  result.status = aborted ? 'interrupted' : 'failed';
  result.error = aborted
    ? {
        kind: 'interrupted',
        message: `interrupted${names ? ` during phase ${names}` : ''}`,
        hint: 'the running step was stopped; re-run to continue (steps are idempotent)',
      }
    : errorInfo(err);
  // the phases that were running when it broke are reported, not lost
  for (const cur of run.running.values()) {
    const reason = aborted ? 'interrupted' : result.error.message;
    const phase = skipped(cur.phase, reason, 'failed');
    // the steps that ended before the break keep what they reported; the others did not run
    phase.steps = phase.steps.map((s) => cur.reported.get(s.name) ?? s);
    result.phases.push({ ...phase, durationMs: performance.now() - cur.started });
  }
}

/** Lock released, deferred records written, the run's files fetched (apply). */
async function closeSession(run: HostRun): Promise<void> {
  const { opts, result, session } = run;
  const files = await session.close(run.pending, () =>
    opts.mode === 'apply' && opts.runRecord ? opts.runRecord(result) : {},
  );
  if (opts.mode === 'apply') opts.collect?.(run.host.name, files);
  result.roundTrips = session.roundTrips;
  if (session.rebootRequired) result.rebootRequired = true;
}

/** New resource samples, read every sampleReadMs while the host runs, as 'samples' events. */
function readSamplesPeriodically(session: HostSession, host: string, opts: HostRunOptions): () => Promise<void> {
  if (opts.mode !== 'apply' || !opts.monitor || !opts.sampleReadMs) return async () => undefined;
  let seen = 0;
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = session
      .readSamples(seen)
      .then((csv) => {
        const rows = csv.split('\n').filter((l) => l.trim());
        if (!rows.length) return;
        seen += rows.length;
        opts.emit({ type: 'samples', host, csv: rows.join('\n') });
      })
      .catch(() => undefined)
      .finally(() => {
        inFlight = undefined;
      });
  }, opts.sampleReadMs);
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
