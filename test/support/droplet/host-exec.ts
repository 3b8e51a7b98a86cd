// Running commands on the test machine for the fake-droplet harness: every command
// has a time bound (the child is killed when it is exceeded), and processes are
// identified by PID *and* start time so a recycled PID is never signalled by mistake.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

interface ExecResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Runs a command (no shell); a non-zero exit is data, not an exception. */
function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env,
        cwd: opts.cwd,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        if (e && typeof e.code === 'string') {
          reject(new Error(`${cmd}: ${e.message}`, { cause: err })); // could not start (ENOENT...)
          return;
        }
        resolve({
          exitCode: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a command and returns its stdout; throws (with its stderr) unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.exitCode !== 0) throw new Error(describeFailure(cmd, args, r));
  return r.stdout;
}

/** Synchronous twin of runOk, for the lock-protected bookkeeping and exit handlers. */
export function runSyncOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): string {
  try {
    return execFileSync(cmd, args, {
      timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      input: opts.input,
      env: opts.env,
      cwd: opts.cwd,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { status?: number | null; signal?: NodeJS.Signals | null; stdout?: string; stderr?: string };
    throw new Error(
      describeFailure(cmd, args, {
        exitCode: e.status ?? null,
        signal: e.signal ?? null,
        stdout: String(e.stdout ?? ''),
        stderr: String(e.stderr ?? (err as Error).message),
      }),
      { cause: err },
    );
  }
}

/** Like runSyncOk, but failures are ignored (best-effort cleanup). Returns success. */
export function runSyncQuiet(cmd: string, args: readonly string[], opts: ExecOptions = {}): boolean {
  try {
    runSyncOk(cmd, args, opts);
    return true;
  } catch {
    return false;
  }
}

function describeFailure(cmd: string, args: readonly string[], r: ExecResult): string {
  const how = r.signal ? `killed by ${r.signal} (time limit?)` : `exit ${r.exitCode}`;
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
  return `${cmd} ${args.join(' ')}: ${how}\n${tail}`;
}

/** Sleeps without blocking the event loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps synchronously (used only while waiting for the cross-process lock in exit handlers). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A process's identity: PID plus its start time (clock ticks since boot, /proc/PID/stat field 22). */
export interface ProcessId {
  pid: number;
  startTime: string;
}

function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return null; // a zombie is as good as gone
    return fields[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

export function identify(pid: number): ProcessId | null {
  const startTime = processStartTime(pid);
  return startTime === null ? null : { pid, startTime };
}

/** True while the very process that was recorded is still running. */
export function isAlive(p: ProcessId | null | undefined): boolean {
  return !!p && processStartTime(p.pid) === p.startTime;
}

/** Signals a recorded process if (and only if) it is still that process. */
export function signalIfAlive(p: ProcessId | null | undefined, signal: NodeJS.Signals): boolean {
  if (!p || !isAlive(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until a recorded process has gone; returns whether it did. */
export async function waitGone(p: ProcessId, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) return true;
    await sleep(100);
  }
  return !isAlive(p);
}

/** PIDs of all processes in a given PID namespace ("pid:[4026532...]"). */
export function pidsInPidNamespace(nsId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) === nsId) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export function pidNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Direct children of a process (needs CONFIG_PROC_CHILDREN, present on Debian kernels). */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}
