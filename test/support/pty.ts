// The CLI in a real pseudo-terminal: a tmux server of its own (private socket in a temp
// dir), one window of a fixed size; the test reads the screen and types keys like a person.
// Waits poll the screen with a bound; stop() kills the tmux server it started.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shQuote } from '../../src/shell/shell-quote.js';
import { CLI, REPO } from './cli.js';

export interface PtyCli {
  /** the visible screen (and what scrolled off it), as text */
  screen(): string;
  /** polls the screen until `pattern` shows (bounded); returns the screen */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** tmux key names: 'C-c', 'Enter', or literal text */
  keys(...keys: string[]): void;
  /** the CLI's exit code once it has ended (bounded wait) */
  exitCode(timeoutMs?: number): Promise<number>;
  stop(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startPtyCli(
  args: string[],
  opts: { env?: Record<string, string>; width?: number; height?: number } = {},
): PtyCli {
  const dir = mkdtempSync(join(tmpdir(), 'vps-pty-'));
  const sock = join(dir, 'tmux.sock');
  const codeFile = join(dir, 'exit-code');
  const tmux = (...a: string[]) => execFileSync('tmux', ['-S', sock, ...a], { encoding: 'utf8' });
  // a terminal session as a person has it: no CI variable, colour allowed
  const env = Object.entries({ ...opts.env })
    .map(([k, v]) => `${k}=${shQuote(v)}`)
    .join(' ');
  const cli = [process.execPath, CLI, ...args].map(shQuote).join(' ');
  // the shell stays after the CLI ended, so its last screen can still be read; Ctrl-C
  // reaches the whole foreground group: the shell only notes it (a trap, reset for the CLI)
  const script = `trap : INT; cd ${shQuote(REPO)} && env -u CI -u NO_COLOR ${env} ${cli}; echo $? > ${shQuote(codeFile)}; exec sleep 600`;
  tmux(
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-x',
    String(opts.width ?? 120),
    '-y',
    String(opts.height ?? 40),
    '-s',
    'cli',
    'sh',
    '-c',
    script,
  );
  tmux('set-option', '-t', 'cli', 'history-limit', '5000');
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'cli');
  let stopped = false;
  return {
    screen,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = screen();
        if (pattern.test(s)) return s;
        if (Date.now() > deadline)
          throw new Error(`${pattern} not on the screen within ${timeoutMs} ms; the screen:\n${s}`);
        await sleep(150);
      }
    },
    keys(...keys) {
      for (const k of keys) tmux('send-keys', '-t', 'cli', k);
    },
    async exitCode(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!existsSync(codeFile) || !readFileSync(codeFile, 'utf8').trim()) {
        if (Date.now() > deadline)
          throw new Error(`the CLI did not end within ${timeoutMs} ms; the screen:\n${screen()}`);
        await sleep(100);
      }
      return Number(readFileSync(codeFile, 'utf8').trim());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        tmux('kill-server');
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
