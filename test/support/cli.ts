// Runs the real CLI (the compiled dist/src/cli/main.js) as a child process, as a user would.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve, join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/main.js, from dist/test/support/ */
export const CLI = resolve(here, '../../src/cli/main.js');
/** the repository root (two levels above dist/test/) */
export const REPO = resolve(here, '../../..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// reports go to a temp folder, never into the repository; it goes with the test file's tests
const REPORTS = mkdtempSync(join(tmpdir(), 'vps-reports-'));
afterAll(() => rmSync(REPORTS, { recursive: true, force: true }));
const withReports = (args: string[]) => (args.includes('--reports-dir') ? args : [...args, '--reports-dir', REPORTS]);

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onStdout?: (s: string) => void } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...withReports(args)], {
      cwd: REPO,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(String(d));
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** A spawned CLI that the test can signal (Ctrl-C tests). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [CLI, ...withReports(args)], {
    cwd: REPO,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
