// Runs one phase on one host through its long-lived shell: read (probe script),
// decide (pure, steps/), act (apply script). Round trips: 1 when every step is
// already satisfied, 2 when steps change; a step found stale (an earlier step changed its
// state) is decided again on the host by its settle action when its type has one (line,
// command with creates), else it costs one more round trip.
import { randomBytes } from 'node:crypto';
import type { RemoteShell } from '../transport/connection.js';
import type { PhaseInstance, StepInstance } from '../config/playbook.js';
import type { Decision, ProbeOutput, StepContext, LocalCheck } from '../steps/step-type.js';
import {
  probeScript,
  applyScript,
  satisfiedPhaseScript,
  PHASE_ROW,
  checkpointScript,
  pendingRestartFile,
  readTimeout,
  type ApplyStep,
  type RunFiles,
} from '../shell/phase-scripts.js';
import { CommandError } from '../errors.js';
import { batchFacts, type BatchRecord } from '../facts/batch-probe.js';
import { recordReader, trimTrailingNewlines, type ScriptRecord } from './records.js';
import { evaluateWhen } from '../config/when.js';
import type { PhaseResult, StepResult, EventSink } from './events.js';

export interface PhaseRun {
  shell: RemoteShell;
  phase: PhaseInstance;
  mode: 'apply' | 'plan';
  files: RunFiles;
  ctx: StepContext;
  emit: EventSink;
  host: string;
  /** shell text to run ahead of the first script (deferred records of an earlier phase) */
  prefix?: string;
  /** performs controller-side checks (rdp_check) against this host */
  localChecks?: LocalChecks;
  /** rows timing.csv already holds for this phase, step name ('' the phase) → status (resuming after a drop) */
  recorded?: ReadonlyMap<string, string>;
  /** the PID of the script running now, for an interrupt to stop it */
  onScriptPid?: (pid: number | null) => void;
}

const nonce = () => randomBytes(6).toString('hex');

/** A step's probe text: built once per step (the probe, decide and apply scripts all ask for it). */
const probes = new WeakMap<StepInstance, string | null>();
function probeOf(step: StepInstance): string | null {
  let p = probes.get(step);
  if (p === undefined) probes.set(step, (p = step.type.probe(step.args)));
  return p;
}

/** A read of a step's state (a probe, an `unless` guard) that its script's watchdog ended past its limit. */
interface ReadTimeout {
  index: number;
  reason: string;
}

/** Runs a script; a read past its limit (PTO) is the answer then, not the killed script's exit code. */
async function runScript(
  shell: RemoteShell,
  n: string,
  script: string,
  onRecord: (r: ScriptRecord) => void,
): Promise<ReadTimeout | undefined> {
  const stray: string[] = [];
  let timedOut: ReadTimeout | undefined;
  const res = await shell.run(
    script,
    recordReader(
      n,
      (r) => {
        if (r.tag === 'PTO') timedOut ??= readTimeout(r.args);
        else onRecord(r);
      },
      (l) => stray.push(l),
    ),
  );
  if (timedOut) return timedOut;
  if (res.exitCode !== 0) {
    throw new CommandError(
      `script exited ${res.exitCode}: ${stray.slice(-3).join(' | ')}`,
      'run with --verbose to see the host output',
    );
  }
  return undefined;
}

interface Probed {
  facts: Map<number, ProbeOutput>;
  startCs: number | null;
  pending: Set<number>;
  timedOut?: ReadTimeout;
}

/** One round trip: the state of each step, and the handlers' restarts left pending. */
async function probe(run: PhaseRun, steps: readonly StepInstance[]): Promise<Probed> {
  const n = nonce();
  const facts = new Map<number, ProbeOutput>();
  const pending = new Set<number>();
  let startCs: number | null = null;
  const scriptSteps = steps.map((s) => ({
    index: s.index,
    name: s.name,
    probe: probeOf(s),
    batch: s.type.batchProbe?.(s.args),
    pendingFile: handlerFile(s, run.files),
    timeoutS: s.timeoutS,
  }));
  const script = (run.prefix ?? '') + probeScript(n, scriptSteps, run.phase.def.timeoutS);
  const batches: BatchRecord[] = [];
  const timedOut = await runScript(run.shell, n, script, (r) => {
    // a read that hangs can be stopped by an interrupt
    if (r.tag === 'PID') run.onScriptPid?.(Number(r.args[0]));
    if (r.tag === 'U') startCs = Number(r.args[0]);
    if (r.tag === 'H') pending.add(Number(r.args[0]));
    if (r.tag === 'B')
      facts.set(Number(r.args[0]), { exitCode: Number(r.args[1]), text: trimTrailingNewlines(r.body ?? '') });
    if (r.tag === 'G')
      batches.push({ kind: r.args[0] ?? '', indexes: r.args.slice(1).filter(Boolean).map(Number), body: r.body ?? '' });
  });
  run.onScriptPid?.(null);
  for (const [index, out] of batchFacts(batches)) facts.set(index, out);
  return { facts, startCs, pending, timedOut };
}

/** The pending-restart file of a handler step (one that watches earlier steps), else undefined. */
function handlerFile(step: StepInstance, files: RunFiles): string | undefined {
  return step.type.watches?.(step.args).length ? pendingRestartFile(files, step.name) : undefined;
}

function decide(step: StepInstance, facts: Map<number, ProbeOutput>, ctx: StepContext): Decision {
  const probed = probeOf(step) === null ? null : (facts.get(step.index) ?? { text: '', exitCode: 1 });
  return step.type.decide(step.args, probed, ctx);
}

export interface LocalChecks {
  run(check: LocalCheck): Promise<{ ok: boolean; reason: string }>;
}

export interface PhaseOutcome {
  result: PhaseResult;
  /** shell text to send ahead of the next script (checkpoint and timing of a satisfied phase) */
  deferred: string | null;
}

/** One phase's run as it goes: its steps split by where they run, and their results so far. */
interface PhaseState {
  run: PhaseRun;
  started: number;
  startedAt: string;
  /** the host's own steps, in order */
  steps: StepInstance[];
  /** controller-side checks: after the host's own steps (the loader keeps them last) */
  locals: StepInstance[];
  byName: Map<string, number>;
  /** the host's own steps by their index in the phase (steps skipped by `when` leave gaps) */
  byIndex: Map<number, StepInstance>;
  results: Map<number, StepResult>;
}

interface RemoteOutcome {
  status: 'ok' | 'failed';
  reason: string;
  deferred: string | null;
}

export async function runPhase(run: PhaseRun): Promise<PhaseOutcome> {
  const { phase, mode, files } = run;
  const st: PhaseState = {
    run,
    started: performance.now(),
    startedAt: new Date().toISOString(),
    steps: [],
    locals: [],
    byName: new Map(),
    byIndex: new Map(),
    results: new Map(),
  };
  const applies = skipByWhen(st);
  st.steps = applies.filter((s) => !s.type.local);
  st.locals = applies.filter((s) => s.type.local);
  st.byName = new Map(st.steps.map((s) => [s.name, s.index]));
  st.byIndex = new Map(st.steps.map((s) => [s.index, s]));
  const remote = await runRemoteSteps(st);
  if (remote.status === 'failed')
    return { result: finish(st, remote.status, remote.reason), deferred: remote.deferred };
  const localFailure = await runLocalChecks(st);
  if (localFailure) return { result: finish(st, 'failed', localFailure), deferred: remote.deferred };
  // with controller-side checks the checkpoint waits until they passed
  const deferred =
    (remote.deferred ?? '') + (st.locals.length && mode === 'apply' ? checkpointScript(files, phase.hash) : '');
  return { result: finish(st, 'ok', ''), deferred: deferred || null };
}

/** Steps whose `when` does not hold on this host are recorded as skipped (neither probed nor run); the others are returned. */
function skipByWhen(st: PhaseState): StepInstance[] {
  return st.run.phase.steps.filter((s) => {
    const verdict = s.when && evaluateWhen(s.when, st.run.ctx.os);
    if (verdict && !verdict.applies)
      record(st, { name: s.name, type: s.type.id, status: 'skipped', reason: verdict.reason, durationMs: 0 }, s.index);
    return !verdict || verdict.applies;
  });
}

function record(st: PhaseState, r: StepResult, index: number): void {
  st.results.set(index, r);
  st.run.emit({ type: 'step', host: st.run.host, phase: st.run.phase.def.name, step: r });
}

/** The phase's result: steps not reached are skipped with `reason`; ok with a change is changed. */
function finish(st: PhaseState, status: PhaseResult['status'], reason: string): PhaseResult {
  const { phase } = st.run;
  for (const s of phase.steps) {
    if (!st.results.has(s.index))
      st.results.set(s.index, { name: s.name, type: s.type.id, status: 'skipped', reason, durationMs: 0 });
  }
  const stepResults = phase.steps.map((s) => st.results.get(s.index)!);
  const anyChanged = stepResults.some((r) => r.status === 'changed');
  const final = status === 'ok' && anyChanged ? 'changed' : status;
  return {
    name: phase.def.name,
    status: final,
    reason:
      final === 'failed'
        ? reason
        : anyChanged
          ? `${stepResults.filter((r) => r.status === 'changed').length} step(s) changed`
          : 'every step already satisfied',
    durationMs: performance.now() - st.started,
    estimateS: phase.def.estimateS,
    critical: phase.def.critical,
    startedAt: st.startedAt,
    steps: stepResults,
  };
}

/** The controller-side checks, in order; the reason of the first that fails, else null. */
async function runLocalChecks(st: PhaseState): Promise<string | null> {
  const { run } = st;
  for (const s of st.locals) {
    if (run.mode === 'plan') {
      // a plan changes nothing and probes nothing from the controller either
      record(
        st,
        {
          name: s.name,
          type: s.type.id,
          status: 'ok',
          reason: 'checked from the controller when the phase is applied',
          durationMs: 0,
        },
        s.index,
      );
      continue;
    }
    run.emit({ type: 'step-start', host: run.host, phase: run.phase.def.name, step: s.name });
    const t0 = performance.now();
    const check = s.type.local!(s.args);
    const r = run.localChecks
      ? await run.localChecks.run(check)
      : { ok: false, reason: 'no controller-side checks available' };
    record(
      st,
      {
        name: s.name,
        type: s.type.id,
        status: r.ok ? 'ok' : 'failed',
        reason: r.reason,
        durationMs: Math.round(performance.now() - t0),
      },
      s.index,
    );
    if (!r.ok) return `step "${s.name}" failed: ${r.reason}`;
  }
  return null;
}

/**
 * The host's own steps: probe, decide, act; again from a step found stale with the
 * fresh state the script read. Each STALE restarts at a later step or at the same step
 * with fresh facts acted on without re-check, so the loop ends; the bound is a guard, not a path.
 */
async function runRemoteSteps(st: PhaseState): Promise<RemoteOutcome> {
  const { run, steps } = st;
  if (!steps.length) return { status: 'ok', reason: '', deferred: run.prefix || null };
  const checkpoint = st.locals.length ? null : { hash: run.phase.hash };
  const probed = await probe(run, steps);
  // a read past its limit: that step failed, and the phase with it (nothing was acted on)
  if (probed.timedOut) return readFailed(st, probed.timedOut, performance.now() - st.started);
  let { facts } = probed;
  const { startCs, pending } = probed;
  const marksOf = handlerMarks(steps, run.files);
  let from = 0;
  const changed = new Set<number>();
  for (let round = 0; round <= steps.length + 1 && from < steps.length; round++) {
    const rest = steps.slice(from);
    const decisions = rest.map((s) => decide(s, facts, run.ctx));
    if (run.mode === 'plan') {
      recordPlan(st, rest, decisions, pending);
      return { status: 'ok', reason: '', deferred: null };
    }
    const triggers = (d: Decision) => d.onChanged?.steps.some((n) => changed.has(st.byName.get(n)!)) ?? false;
    const noWork = decisions.every((d) => d.status === 'ok' && !triggers(d) && !d.onChanged);
    if (noWork && changed.size === 0) {
      // nothing to do: no second round trip; the checkpoint and timing rows go with the next script
      rest.forEach((s, i) =>
        record(
          st,
          { name: s.name, type: s.type.id, status: 'ok', reason: decisions[i]!.reason, durationMs: 0 },
          s.index,
        ),
      );
      return {
        status: 'ok',
        reason: '',
        deferred: satisfiedPhaseScript(
          run.files,
          // after a drop, the steps already in timing.csv keep their one row
          steps.filter((s) => !run.recorded?.has(s.name)).map((s) => s.name),
          checkpoint?.hash ?? null,
          performance.now() - st.started,
          !run.recorded?.has(''),
        ),
      };
    }
    const apply: ApplyStep[] = rest.map((s, i) => ({
      index: s.index,
      name: s.name,
      probe: probeOf(s),
      decision: withIndex(st, decisions[i]!),
      expected: facts.get(s.index)?.text ?? null,
      timeoutS: s.timeoutS,
      pendingFile: handlerFile(s, run.files),
      pending: pending.has(s.index),
      marks: marksOf.get(s.name),
      settle: s.type.settle?.(s.args),
    }));
    const applied = await applyRound(st, apply, rest, changed, pending, checkpoint, startCs);
    // a re-check past its limit: the steps before it are done and reported, it failed
    if (applied.readTimeout) return readFailed(st, applied.readTimeout, performance.now() - applied.lastMark);
    if (applied.failed) return recordFailure(st, apply, applied.failed, applied.settled, applied.lastMark);
    if (applied.stale === undefined) return { status: 'ok', reason: '', deferred: null };
    from = steps.findIndex((s) => s.index === applied.stale);
    facts = applied.fresh;
  }
  throw new CommandError(
    `${run.phase.def.name}: the host's state kept changing under the run`,
    'another process may be changing the same files; re-run',
  );
}

/** For each step, the pending-restart files of the handlers that watch it. */
function handlerMarks(steps: readonly StepInstance[], files: RunFiles): Map<string, string[]> {
  const marksOf = new Map<string, string[]>();
  for (const h of steps) {
    for (const watched of h.type.watches?.(h.args) ?? [])
      marksOf.set(watched, [...(marksOf.get(watched) ?? []), handlerFile(h, files)!]);
  }
  return marksOf;
}

/** A decision whose handler trigger names steps by index (as the apply script's C_<index> flags). */
function withIndex(st: PhaseState, d: Decision): Decision {
  // a watched step skipped by its `when` never changes: it triggers nothing
  return d.onChanged
    ? {
        ...d,
        onChanged: {
          ...d.onChanged,
          steps: d.onChanged.steps.filter((n) => st.byName.has(n)).map((n) => String(st.byName.get(n))),
        },
      }
    : d;
}

/** A plan: what each step would do, conditional restarts included; nothing is run. */
function recordPlan(
  st: PhaseState,
  rest: readonly StepInstance[],
  decisions: readonly Decision[],
  pending: ReadonlySet<number>,
): void {
  rest.forEach((s, i) => {
    const d = decisions[i]!;
    if (pending.has(s.index) && d.onChanged) {
      // an earlier run changed what this handler watches and broke off before it ran
      const reason = `restart left pending by an earlier run (${d.onChanged.reason.replace(/^restart: /, '')})`;
      record(
        st,
        {
          name: s.name,
          type: s.type.id,
          status: 'changed',
          reason: d.status === 'change' ? `${d.reason}; ${reason}` : reason,
          durationMs: 0,
          commands: [...(d.status === 'change' ? d.display : []), ...d.onChanged.display],
        },
        s.index,
      );
      return;
    }
    const conditional = d.onChanged
      ? [
          `if ${d.onChanged.steps.join(', ')} change${d.onChanged.steps.length > 1 ? '' : 's'}: ${d.onChanged.display.join('; ')}`,
        ]
      : [];
    record(
      st,
      {
        name: s.name,
        type: s.type.id,
        status: d.status === 'change' ? 'changed' : 'ok',
        reason: d.reason,
        durationMs: 0,
        commands: d.status === 'change' ? [...d.display, ...conditional] : conditional.length ? conditional : undefined,
        ...(d.status === 'change' && d.fails ? { fails: true } : {}),
      },
      s.index,
    );
  });
}

interface StepFailure {
  index: number;
  code: number;
  output: string;
  timedOut?: string;
}

interface AppliedRound {
  /** the step found stale, from which the controller decides again */
  stale?: number;
  /** fresh state of the steps left, read by the script when one went stale */
  fresh: Map<number, ProbeOutput>;
  failed?: StepFailure;
  /** a re-check before acting that hung past its limit */
  readTimeout?: ReadTimeout;
  /** steps found stale and decided again on the host (R): their own settle action ran */
  settled: Set<number>;
  /** when the last step report came in */
  lastMark: number;
}

/** One apply script: each step reported as it ends (S), a failure (F), or a stale step (STALE). */
async function applyRound(
  st: PhaseState,
  apply: readonly ApplyStep[],
  rest: readonly StepInstance[],
  changed: Set<number>,
  pending: ReadonlySet<number>,
  checkpoint: { hash: string } | null,
  startCs: number | null,
): Promise<AppliedRound> {
  const { run, steps } = st;
  const out: AppliedRound = { fresh: new Map(), settled: new Set(), lastMark: performance.now() };
  const n = nonce();
  // the steps run in order: the one after the last reported is the one running
  const running = (k: number) => {
    if (rest[k]) run.emit({ type: 'step-start', host: run.host, phase: run.phase.def.name, step: rest[k]!.name });
  };
  running(0);
  const recorded = new Map<number, string>(
    steps.flatMap((x) => (run.recorded?.has(x.name) ? [[x.index, run.recorded.get(x.name)!] as const] : [])),
  );
  if (run.recorded?.has('')) recorded.set(PHASE_ROW, run.recorded.get('')!);
  out.readTimeout = await runScript(
    run.shell,
    n,
    applyScript(n, run.files, apply, changed, checkpoint, startCs, recorded, run.phase.def.timeoutS),
    (r) => {
      if (r.tag === 'PID') run.onScriptPid?.(Number(r.args[0]));
      if (r.tag === 'STALE') out.stale = Number(r.args[0]);
      if (r.tag === 'R') out.settled.add(Number(r.args[0]));
      if (r.tag === 'B')
        out.fresh.set(Number(r.args[0]), { exitCode: Number(r.args[1]), text: trimTrailingNewlines(r.body ?? '') });
      if (r.tag === 'S') {
        const index = Number(r.args[0]);
        recordApplied(st, apply, index, r.args[1]!, changed, pending, out);
        running(rest.findIndex((x) => x.index === index) + 1);
      }
      if (r.tag === 'F') {
        // "timeout <N> step|phase": the watchdog ended the action past its limit
        const timedOut =
          r.args[2] === 'timeout'
            ? `timed out after ${r.args[3]} s${r.args[4] === 'phase' ? ' (the phase limit)' : ''}`
            : undefined;
        out.failed = {
          index: Number(r.args[0]),
          code: Number(r.args[1]),
          output: trimTrailingNewlines(r.body ?? ''),
          timedOut,
        };
      }
    },
  );
  run.onScriptPid?.(null);
  return out;
}

/** A step's S record (ok, changed or restarted): its result with the reason and commands that fit. */
function recordApplied(
  st: PhaseState,
  apply: readonly ApplyStep[],
  index: number,
  status: string,
  changed: Set<number>,
  pending: ReadonlySet<number>,
  out: AppliedRound,
): void {
  const s = st.byIndex.get(index)!;
  const d = apply.find((a) => a.index === index)!.decision;
  const now = performance.now();
  const triggered = d.onChanged?.steps.some((x) => changed.has(Number(x)));
  const settle = out.settled.has(index) ? apply.find((a) => a.index === index)!.settle : undefined;
  const reason = settle
    ? status === 'ok'
      ? 'changed by an earlier step of this run; re-checked on the host: as wanted'
      : 'changed by an earlier step of this run; re-checked and set on the host'
    : status !== 'restarted'
      ? d.reason
      : pending.has(index) && !triggered
        ? `restart left pending by an earlier run (${d.onChanged!.reason.replace(/^restart: /, '')})`
        : d.onChanged!.reason;
  const commands = settle
    ? status === 'ok'
      ? undefined
      : settle.display
    : status === 'restarted'
      ? d.onChanged!.display
      : d.status === 'change'
        ? d.display
        : undefined;
  if (status !== 'ok') changed.add(index);
  record(
    st,
    {
      name: s.name,
      type: s.type.id,
      status: status === 'ok' ? 'ok' : 'changed',
      reason,
      durationMs: Math.round(now - out.lastMark),
      commands,
    },
    index,
  );
  out.lastMark = now;
}

/** The failed step's result: exit code or timeout, its last output line, a full disk said plainly. */
function recordFailure(
  st: PhaseState,
  apply: readonly ApplyStep[],
  failed: StepFailure,
  settled: ReadonlySet<number>,
  lastMark: number,
): RemoteOutcome {
  const s = st.byIndex.get(failed.index)!;
  const a = apply.find((x) => x.index === failed.index)!;
  const d = a.decision;
  const lastLine = failed.output.split('\n').filter(Boolean).pop() ?? '';
  // a full disk is the host's problem, not the step's: say so plainly
  const diskFull = /No space left on device/i.test(failed.output)
    ? 'the disk is full on the host (No space left on device); free space and re-run: '
    : '';
  record(
    st,
    {
      name: s.name,
      type: s.type.id,
      status: 'failed',
      reason: failed.timedOut ?? `${diskFull}exit ${failed.code}${lastLine ? `: ${lastLine}` : ''}`,
      durationMs: Math.round(performance.now() - lastMark),
      commands: settled.has(failed.index) ? a.settle?.display : d.status === 'change' ? d.display : undefined,
      output: failed.output,
    },
    failed.index,
  );
  return {
    status: 'failed',
    reason: `step "${s.name}" ${failed.timedOut ?? `failed (exit ${failed.code})`}`,
    deferred: null,
  };
}

/** A step whose state could not be read within its limit: it failed, the phase stops there. */
function readFailed(st: PhaseState, t: ReadTimeout, durationMs: number): RemoteOutcome {
  const s = st.steps.find((x) => x.index === t.index) ?? st.steps[0]!;
  record(
    st,
    { name: s.name, type: s.type.id, status: 'failed', reason: t.reason, durationMs: Math.round(durationMs) },
    s.index,
  );
  return { status: 'failed', reason: `step "${s.name}" ${t.reason}`, deferred: null };
}
