// Runs the selected phases, in order, on one host: one connection, one long-lived
// shell (a second one only for a phase whose `become` differs), the lock, checkpoints.
import { randomBytes } from 'node:crypto';
import type { Connection, Connector, RemoteShell } from '../transport/connection.js';
import type { HostSpec } from '../config/inventory.js';
import type { PhaseInstance } from '../config/playbook.js';
import type { Secret } from '../commands/secret.js';
import { openSessionScript, releaseLockScript, type LockOwner } from '../commands/host-scripts.js';
import { ProvisionError, CommandError } from '../errors.js';
import { recordReader } from './records.js';
import { runPhase } from './phase-runner.js';
import type { EventSink, HostResult, PhaseResult } from './events.js';

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

export interface SessionFacts {
  os: { id: string; version: string; pretty: string; arch: string; user: string };
  diskFreeKb: number;
  checkpoints: Map<string, { hash: string; at: string; runId: string }>;
  lock?: { state: 'acquired' | 'held' | 'stale'; since: string; runId: string; holder: string };
}

/** One round trip: state folders, OS facts, checkpoints, and (apply) the lock. */
export async function openSession(shell: RemoteShell, stateDir: string, owner: LockOwner | null): Promise<SessionFacts> {
  const n = randomBytes(6).toString('hex');
  const facts: SessionFacts = { os: { id: 'unknown', version: '', pretty: '', arch: '', user: '' }, diskFreeKb: 0, checkpoints: new Map() };
  let error: string | undefined;
  await shell.run(openSessionScript(n, stateDir, owner), recordReader(n, (r) => {
    if (r.tag === 'ERR') error = r.rest;
    if (r.tag === 'OS') {
      const [id = '', version = '', pretty = '', arch = '', user = ''] = r.rest.split('|');
      facts.os = { id, version, pretty, arch, user };
    }
    if (r.tag === 'DF') facts.diskFreeKb = Number(r.args[0]);
    if (r.tag === 'CK') facts.checkpoints.set(r.args[0]!, { hash: r.args[1] ?? '', at: r.args[2] ?? '', runId: r.args[3] ?? '' });
    if (r.tag === 'LOCK') {
      const [since = '', runId = '', holder = ''] = r.args.slice(1).join(' ').split('|');
      facts.lock = { state: r.args[0] as 'acquired' | 'held' | 'stale', since, runId, holder };
    }
  }));
  if (error) throw new CommandError(`${error}`, 'check state_dir in the inventory and that the login user may write there (or use become: true)');
  return facts;
}

function errorInfo(err: unknown): { kind: string; message: string; hint: string } {
  if (err instanceof ProvisionError) return { kind: err.kind, message: err.message, hint: err.hint };
  return { kind: 'internal', message: err instanceof Error ? err.message : String(err), hint: 'this is a bug in vps-provision; run with --verbose and report it' };
}

function countRoundTrips(shell: RemoteShell, count: () => void): RemoteShell {
  return {
    pid: shell.pid,
    user: shell.user,
    run: (script, onLine) => { count(); return shell.run(script, onLine); },
    close: () => shell.close(),
  };
}

export async function runHost(connector: Connector, host: HostSpec, opts: HostRunOptions): Promise<HostResult> {
  const started = performance.now();
  const result: HostResult = { host: host.name, address: host.address, status: 'ok', durationMs: 0, roundTrips: 0, phases: [] };
  const done = (r: HostResult) => {
    r.durationMs = performance.now() - started;
    opts.emit({ type: 'host-end', host: host.name, result: r });
    return r;
  };
  opts.emit({ type: 'host-start', host: host.name });
  let conn: Connection;
  try {
    conn = await connector.connect(host.name);
  } catch (err) {
    return done({ ...result, status: 'unreachable', error: errorInfo(err) });
  }
  const shells = new Map<boolean, RemoteShell>();
  const shellFor = async (become: boolean) => {
    let sh = shells.get(become);
    if (!sh) {
      sh = countRoundTrips(await conn.openShell({ become, sudoPassword: become ? opts.sudoPassword : undefined }), () => { result.roundTrips++; });
      result.roundTrips++;
      shells.set(become, sh);
    }
    return sh;
  };
  let lockTaken = false;
  let pending = '';
  let scriptPid: number | null = null;
  let current: { phase: PhaseInstance; started: number } | undefined;
  const onAbort = () => {
    // stop the running script and everything it started (its own process group)
    if (scriptPid) void conn.exec(`kill -TERM -- -${scriptPid} 2>/dev/null; true`).catch(() => undefined);
  };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const main = await shellFor(host.become);
    const owner = opts.mode === 'apply' ? { runId: opts.runId, holder: opts.holder, pid: main.pid } : null;
    const session = await openSession(main, host.stateDir, owner);
    opts.emit({ type: 'host-connected', host: host.name, durationMs: performance.now() - started, os: session.os.pretty || session.os.id });
    if (session.lock?.state === 'held') {
      const l = session.lock;
      throw new CommandError(
        `${host.name}: another vps-provision run holds the lock: ${l.holder} since ${l.since} (run ${l.runId})`,
        'wait for it to finish; a lock whose controller has gone is taken over automatically',
      );
    }
    lockTaken = opts.mode === 'apply';
    if (session.lock?.state === 'stale') {
      opts.emit({ type: 'warning', host: host.name, message: `took over a stale lock of ${session.lock.holder} (since ${session.lock.since})` });
    }

    const completed = new Set<string>();
    for (const [name, ck] of session.checkpoints) {
      if (opts.phases.find((p) => p.def.name === name)?.hash === ck.hash || !opts.phases.some((p) => p.def.name === name)) completed.add(name);
    }
    let stopReason: string | undefined;
    for (const [i, phase] of opts.phases.entries()) {
      const name = phase.def.name;
      const skip = (reason: string, status: PhaseResult['status'] = 'skipped'): PhaseResult => ({
        name, status, reason, durationMs: 0, estimateS: phase.def.estimateS, critical: phase.def.critical,
        steps: phase.steps.map((s) => ({ name: s.name, type: s.type.id, status: 'skipped', reason, durationMs: 0 })),
      });
      let pr: PhaseResult;
      const ck = session.checkpoints.get(name);
      const unmet = phase.def.needs.filter((n) => !completed.has(n));
      if (opts.signal?.aborted) {
        pr = skip('interrupted');
        result.status = 'interrupted';
      } else if (stopReason) {
        pr = skip(stopReason);
      } else if (!opts.force && ck && ck.hash === phase.hash) {
        pr = skip(`done ${ck.at} (run ${ck.runId}); --force or "run ${name}" re-runs it`);
      } else if (unmet.length) {
        pr = skip(`needs ${unmet.join(', ')}, not completed on this host: run ${unmet.length > 1 ? 'them' : 'it'} first`, 'failed');
      } else {
        opts.emit({ type: 'phase-start', host: host.name, phase: name, index: i, total: opts.phases.length });
        current = { phase, started: performance.now() };
        const shell = await shellFor(phase.def.become ?? host.become);
        const outcome = await runPhase({
          shell, phase, mode: opts.mode, host: host.name, emit: opts.emit,
          files: { stateDir: host.stateDir, runId: opts.runId, host: host.name, phase: name },
          ctx: { remoteUser: shell.user },
          prefix: pending,
          onScriptPid: (pid) => { scriptPid = pid; },
        });
        current = undefined;
        pending = outcome.deferred ?? '';
        pr = outcome.result;
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
      result.phases.push({
        name: current.phase.def.name, status: 'failed', reason, durationMs: performance.now() - current.started,
        estimateS: current.phase.def.estimateS, critical: current.phase.def.critical,
        steps: current.phase.steps.map((s) => ({ name: s.name, type: s.type.id, status: 'skipped', reason, durationMs: 0 })),
      });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    const main = shells.get(host.become);
    if (main && (lockTaken || pending)) {
      const release = lockTaken ? releaseLockScript(host.stateDir, opts.runId) : '';
      await main.run(pending + release).catch(() => undefined);
    }
    for (const sh of shells.values()) sh.close();
    conn.close();
  }
  return done(result);
}
