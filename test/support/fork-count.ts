// Counts the processes a shell script starts: the script is run by the local sh under
// `strace -f` (Debian package strace), and every fork/vfork/clone that is not a thread is
// one process; execve calls that succeed are the programs run.
import { execFileSync } from 'node:child_process';
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
    const lines = readFileSync(log, 'utf8').split('\n');
    const forks = lines.filter(
      (l) => /\b(fork|vfork|clone|clone3)\(/.test(l) && !/CLONE_THREAD/.test(l) && !/= -1 /.test(l),
    ).length;
    const execs = lines
      .filter((l) => /\bexecve\(/.test(l) && !/= -1 /.test(l))
      .map((l) => /execve\("([^"]*)"/.exec(l)?.[1] ?? '?');
    return { forks, execs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
