// Runs one phase on one host through its long-lived shell: read (probe script),
// decide (pure, steps/), act (apply script). Round trips: 1 when every step is
// already satisfied, 2 when steps change; a step found stale (an earlier step changed its
// state) is decided again on the host by its settle action when its type has one (line,
// command with creates), else it costs one more round trip.
import { randomBytes } from 'node:crypto';
import type { RemoteShell } from '../transport/connection.js';
import type { PhaseInstance, StepInstance } from '../config/playbook.js';
import type { Decision, ProbeOutput, StepContext, LocalCheck } from '../steps/step-type.js';
import { probeScript, applyScript, satisfiedPhaseScript, checkpointScript, pendingRestartFile, type ApplyStep, type RunFiles } from '../commands/phase-scripts.js';
import { CommandError } from '../errors.js';
import { batchFacts, type BatchRecord } from '../facts/batch-probe.js';
import { recordReader, trimTrailingNewlines, type ScriptRecord } from './records.js';
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
  /** names of steps whose change timing.csv already holds (resuming after a drop) */
  recorded?: ReadonlySet<string>;
  /** the PID of the script running now, for an interrupt to stop it */
  onScriptPid?: (pid: number | null) => void;
}

const nonce = () => randomBytes(6).toString('hex');

async function runScript(shell: RemoteShell, n: string, script: string, onRecord: (r: ScriptRecord) => void): Promise<string[]> {
  const stray: string[] = [];
  const res = await shell.run(script, recordReader(n, onRecord, (l) => stray.push(l)));
  if (res.exitCode !== 0) {
    throw new CommandError(`script exited ${res.exitCode}: ${stray.slice(-3).join(' | ')}`, 'run with --verbose to see the host output');
  }
  return stray;
}

/** One round trip: the state of each step from `from` on, and the handlers' restarts left pending. */
async function probe(shell: RemoteShell, steps: readonly StepInstance[], files: RunFiles, prefix = ''): Promise<{ facts: Map<number, ProbeOutput>; startCs: number | null; pending: Set<number> }> {
  const n = nonce();
  const facts = new Map<number, ProbeOutput>();
  const pending = new Set<number>();
  let startCs: number | null = null;
  const script = prefix + probeScript(n, steps.map((s) => ({ index: s.index, name: s.name, probe: s.type.probe(s.args), batch: s.type.batchProbe?.(s.args), pendingFile: handlerFile(s, files) })));
  const batches: BatchRecord[] = [];
  await runScript(shell, n, script, (r) => {
    if (r.tag === 'U') startCs = Number(r.args[0]);
    if (r.tag === 'H') pending.add(Number(r.args[0]));
    if (r.tag === 'B') facts.set(Number(r.args[0]), { exitCode: Number(r.args[1]), text: trimTrailingNewlines(r.body ?? '') });
    if (r.tag === 'G') batches.push({ kind: r.args[0] ?? '', indexes: r.args.slice(1).filter(Boolean).map(Number), body: r.body ?? '' });
  });
  for (const [index, out] of batchFacts(batches)) facts.set(index, out);
  return { facts, startCs, pending };
}

/** The pending-restart file of a handler step (one that watches earlier steps), else undefined. */
function handlerFile(step: StepInstance, files: RunFiles): string | undefined {
  return step.type.watches?.(step.args).length ? pendingRestartFile(files, step.name) : undefined;
}

function decide(step: StepInstance, facts: Map<number, ProbeOutput>, ctx: StepContext): Decision {
  const probed = step.type.probe(step.args) === null ? null : facts.get(step.index) ?? { text: '', exitCode: 1 };
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

export async function runPhase(run: PhaseRun): Promise<PhaseOutcome> {
  const { shell, phase, mode, files, ctx, emit, host } = run;
  const started = performance.now();
  const startedAt = new Date().toISOString();
  // controller-side checks come after the host's own steps (the loader keeps them last)
  const steps = phase.steps.filter((s) => !s.type.local);
  const locals = phase.steps.filter((s) => s.type.local);
  const byName = new Map(steps.map((s) => [s.name, s.index]));
  const results = new Map<number, StepResult>();
  const record = (r: StepResult, index: number) => {
    results.set(index, r);
    emit({ type: 'step', host, phase: phase.def.name, step: r });
  };
  const finish = (status: PhaseResult['status'], reason: string): PhaseResult => {
    for (const s of phase.steps) {
      if (!results.has(s.index)) results.set(s.index, { name: s.name, type: s.type.id, status: 'skipped', reason, durationMs: 0 });
    }
    const stepResults = phase.steps.map((s) => results.get(s.index)!);
    const anyChanged = stepResults.some((r) => r.status === 'changed');
    const final = status === 'ok' && anyChanged ? 'changed' : status;
    return {
      name: phase.def.name, status: final, reason: final === 'failed' ? reason : anyChanged ? `${stepResults.filter((r) => r.status === 'changed').length} step(s) changed` : 'every step already satisfied',
      durationMs: performance.now() - started, estimateS: phase.def.estimateS, critical: phase.def.critical, startedAt, steps: stepResults,
    };
  };

  const remote = await runRemoteSteps();
  if (remote.status === 'failed') return { result: finish(remote.status, remote.reason), deferred: remote.deferred };
  for (const s of locals) {
    if (mode === 'plan') {
      // a plan changes nothing and probes nothing from the controller either
      record({ name: s.name, type: s.type.id, status: 'ok', reason: 'checked from the controller when the phase is applied', durationMs: 0 }, s.index);
      continue;
    }
    emit({ type: 'step-start', host, phase: phase.def.name, step: s.name });
    const t0 = performance.now();
    const check = s.type.local!(s.args);
    const r = run.localChecks ? await run.localChecks.run(check) : { ok: false, reason: 'no controller-side checks available' };
    record({ name: s.name, type: s.type.id, status: r.ok ? 'ok' : 'failed', reason: r.reason, durationMs: Math.round(performance.now() - t0) }, s.index);
    if (!r.ok) return { result: finish('failed', `step "${s.name}" failed: ${r.reason}`), deferred: remote.deferred };
  }
  // with controller-side checks the checkpoint waits until they passed
  const deferred = (remote.deferred ?? '') + (locals.length && mode === 'apply' ? checkpointScript(files, phase.hash) : '');
  return { result: finish('ok', ''), deferred: deferred || null };

  async function runRemoteSteps(): Promise<{ status: 'ok' | 'failed'; reason: string; deferred: string | null }> {
  if (!steps.length) return { status: 'ok', reason: '', deferred: run.prefix || null };
  const checkpoint = locals.length ? null : { hash: phase.hash };
  let { facts, startCs, pending } = await probe(shell, steps, files, run.prefix);
  // for each step, the pending-restart files of the handlers that watch it
  const marksOf = new Map<string, string[]>();
  for (const h of steps) {
    for (const watched of h.type.watches?.(h.args) ?? []) marksOf.set(watched, [...marksOf.get(watched) ?? [], handlerFile(h, files)!]);
  }
  let from = 0;
  const changed = new Set<number>();
  // each STALE restarts at a later step or at the same step with fresh facts acted on
  // without re-check, so the loop ends; the bound is a guard, not a path
  for (let round = 0; round <= steps.length + 1 && from < steps.length; round++) {
    const rest = steps.slice(from);
    const decisions = rest.map((s) => decide(s, facts, ctx));
    const withIndex = (d: Decision) => (d.onChanged ? { ...d, onChanged: { ...d.onChanged, steps: d.onChanged.steps.map((n) => String(byName.get(n))) } } : d);

    if (mode === 'plan') {
      rest.forEach((s, i) => {
        const d = decisions[i]!;
        if (pending.has(s.index) && d.onChanged) {
          // an earlier run changed what this handler watches and broke off before it ran
          const reason = `restart left pending by an earlier run (${d.onChanged.reason.replace(/^restart: /, '')})`;
          record({
            name: s.name, type: s.type.id, status: 'changed', reason: d.status === 'change' ? `${d.reason}; ${reason}` : reason, durationMs: 0,
            commands: [...(d.status === 'change' ? d.display : []), ...d.onChanged.display],
          }, s.index);
          return;
        }
        const conditional = d.onChanged ? [`if ${d.onChanged.steps.join(', ')} change${d.onChanged.steps.length > 1 ? '' : 's'}: ${d.onChanged.display.join('; ')}`] : [];
        record({
          name: s.name, type: s.type.id, status: d.status === 'change' ? 'changed' : 'ok', reason: d.reason, durationMs: 0,
          commands: d.status === 'change' ? [...d.display, ...conditional] : conditional.length ? conditional : undefined,
        }, s.index);
      });
      return { status: 'ok', reason: '', deferred: null };
    }

    const triggers = (d: Decision) => d.onChanged?.steps.some((n) => changed.has(byName.get(n)!)) ?? false;
    const noWork = decisions.every((d) => d.status === 'ok' && !triggers(d) && !d.onChanged);
    if (noWork && changed.size === 0) {
      // nothing to do: no second round trip; the checkpoint and timing rows go with the next script
      rest.forEach((s, i) => record({ name: s.name, type: s.type.id, status: 'ok', reason: decisions[i]!.reason, durationMs: 0 }, s.index));
      return { status: 'ok', reason: '', deferred: satisfiedPhaseScript(files, steps.map((s) => s.name), checkpoint?.hash ?? null, performance.now() - started) };
    }

    const apply: ApplyStep[] = rest.map((s, i) => ({
      index: s.index, name: s.name, probe: s.type.probe(s.args), decision: withIndex(decisions[i]!), expected: facts.get(s.index)?.text ?? null, timeoutS: s.timeoutS,
      pendingFile: handlerFile(s, files), pending: pending.has(s.index), marks: marksOf.get(s.name), settle: s.type.settle?.(s.args),
    }));
    // steps found stale and decided again on the host (R): their own settle action ran
    const settled = new Set<number>();
    const n = nonce();
    // the steps run in order: the one after the last reported is the one running
    const running = (k: number) => { if (rest[k]) emit({ type: 'step-start', host, phase: phase.def.name, step: rest[k]!.name }); };
    running(0);
    let stale: number | undefined;
    const fresh = new Map<number, ProbeOutput>();
    let failed: { index: number; code: number; output: string; timedOut?: string } | undefined;
    let lastMark = performance.now();
    await runScript(shell, n, applyScript(n, files, apply, changed, checkpoint, startCs, new Set(steps.filter((x) => run.recorded?.has(x.name)).map((x) => x.index)), phase.def.timeoutS), (r) => {
      if (r.tag === 'PID') run.onScriptPid?.(Number(r.args[0]));
      if (r.tag === 'STALE') stale = Number(r.args[0]);
      if (r.tag === 'R') settled.add(Number(r.args[0]));
      // fresh state of the steps left, read by the script when one went stale
      if (r.tag === 'B') fresh.set(Number(r.args[0]), { exitCode: Number(r.args[1]), text: trimTrailingNewlines(r.body ?? '') });
      if (r.tag === 'S') {
        const index = Number(r.args[0]);
        const st = r.args[1]!;
        const s = steps[index]!;
        const d = apply.find((a) => a.index === index)!.decision;
        const now = performance.now();
        const triggered = d.onChanged?.steps.some((x) => changed.has(Number(x)));
        const settle = settled.has(index) ? apply.find((a) => a.index === index)!.settle : undefined;
        const reason = settle ? (st === 'ok' ? 'changed by an earlier step of this run; re-checked on the host: as wanted' : 'changed by an earlier step of this run; re-checked and set on the host')
          : st !== 'restarted' ? d.reason
          : pending.has(index) && !triggered ? `restart left pending by an earlier run (${d.onChanged!.reason.replace(/^restart: /, '')})` : d.onChanged!.reason;
        const commands = settle ? (st === 'ok' ? undefined : settle.display) : st === 'restarted' ? d.onChanged!.display : d.status === 'change' ? d.display : undefined;
        if (st !== 'ok') changed.add(index);
        record({ name: s.name, type: s.type.id, status: st === 'ok' ? 'ok' : 'changed', reason, durationMs: Math.round(now - lastMark), commands }, index);
        lastMark = now;
        running(rest.findIndex((x) => x.index === index) + 1);
      }
      if (r.tag === 'F') {
        // "timeout <N> step|phase": the watchdog ended the action past its limit
        const timedOut = r.args[2] === 'timeout' ? `timed out after ${r.args[3]} s${r.args[4] === 'phase' ? ' (the phase limit)' : ''}` : undefined;
        failed = { index: Number(r.args[0]), code: Number(r.args[1]), output: trimTrailingNewlines(r.body ?? ''), timedOut };
      }
    });
    run.onScriptPid?.(null);
    if (failed) {
      const s = steps[failed.index]!;
      const d = apply.find((a) => a.index === failed!.index)!.decision;
      const lastLine = failed.output.split('\n').filter(Boolean).pop() ?? '';
      // a full disk is the host's problem, not the step's: say so plainly
      const diskFull = /No space left on device/i.test(failed.output) ? 'the disk is full on the host (No space left on device); free space and re-run: ' : '';
      record({
        name: s.name, type: s.type.id, status: 'failed', reason: failed.timedOut ?? `${diskFull}exit ${failed.code}${lastLine ? `: ${lastLine}` : ''}`,
        durationMs: Math.round(performance.now() - lastMark), commands: settled.has(failed.index) ? apply.find((a) => a.index === failed!.index)!.settle?.display : d.status === 'change' ? d.display : undefined, output: failed.output,
      }, failed.index);
      return { status: 'failed', reason: `step "${s.name}" ${failed.timedOut ?? `failed (exit ${failed.code})`}`, deferred: null };
    }
    if (stale === undefined) return { status: 'ok', reason: '', deferred: null };
    from = steps.findIndex((s) => s.index === stale);
    facts = fresh;
  }
  throw new CommandError(`${phase.def.name}: the host's state kept changing under the run`, 'another process may be changing the same files; re-run');
  }
}
