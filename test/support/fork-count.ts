// Counts the processes a shell script starts: the script is run by the local sh under
// `strace -f` (Debian package strace), and every fork/vfork/clone that is not a thread is
// one process; execve calls that succeed are the programs run.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ForkCount {
  /** processes created (fork, vfork, clone without CLONE_THREAD) */
  forks: number;
  /** programs run (successful execve, sh itself included) */
  execs: string[];
}

export function countForks(script: string, opts: { cwd?: string; timeoutMs?: number } = {}): ForkCount {
  const dir = mkdtempSync(join(tmpdir(), 'fork-count-'));
  try {
    const file = join(dir, 'script.sh');
    const log = join(dir, 'strace.log');
    writeFileSync(file, script);
    execFileSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=execve,fork,vfork,clone,clone3', 'sh', file], {
      stdio: 'ignore',
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 60_000,
    });
    return readStraceLog(log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readStraceLog(log: string): ForkCount {
  const lines = readFileSync(log, 'utf8').split('\n');
  const forks = lines.filter(
    (l) => /\b(fork|vfork|clone|clone3)\(/.test(l) && !/CLONE_THREAD/.test(l) && !/= -1 /.test(l),
  ).length;
  // with -f a call can be split: "PID execve(...) <unfinished ...>", later "PID <... execve resumed>) = 0"
  const execs: string[] = [];
  const pending = new Map<string, string>();
  for (const l of lines) {
    const pid = /^(\d+) /.exec(l)?.[1] ?? '';
    const path = /\bexecve\("([^"]*)"/.exec(l)?.[1];
    if (path !== undefined && l.endsWith('<unfinished ...>')) pending.set(pid, path);
    else if (path !== undefined && !/= -1 /.test(l)) execs.push(path);
    else if (/<\.\.\. execve resumed>/.test(l)) {
      if (!/= -1 /.test(l) && pending.has(pid)) execs.push(pending.get(pid)!);
      pending.delete(pid);
    }
  }
  return { forks, execs };
}

/**
 * Counts what a running process (an sshd) and all it starts fork from now until stop():
 * `strace -f -p`, from the moment the process shows as traced.
 */
export async function traceForks(pid: number): Promise<{ stop(): Promise<ForkCount> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fork-trace-'));
  const log = join(dir, 'strace.log');
  const st = spawn(
    'strace',
    ['-f', '-qq', '-o', log, '-e', 'trace=execve,fork,vfork,clone,clone3', '-p', String(pid)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const closed = new Promise<void>((done) => st.on('close', () => done()));
  // strace says nothing on attach with -qq: wait (bounded) until the tracee shows up as traced
  for (let i = 0; i < 100; i++) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (!/^TracerPid:\s+0$/m.test(status)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    async stop() {
      st.kill('SIGINT');
      const timer = setTimeout(() => st.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(timer);
      try {
        return readStraceLog(log);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
