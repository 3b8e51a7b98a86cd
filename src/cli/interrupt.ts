// Ctrl-C (SIGINT) and SIGTERM, the same with or without a terminal. The tool owns the
// signal (listr2's own handler is turned off). Outside a run there is nothing on a host to
// undo: exit 130 at once. During a run the first signal stops it cleanly (the engine stops
// the remote steps, releases the locks, stops the samplers, the report is written); a
// second one exits at once.
import { EXIT } from './exit-codes.js';

interface ActiveRun {
  abort: AbortController;
  /** prints a line where the person sees it (above the live tree, or on stderr) */
  notice: (line: string) => void;
}

let active: ActiveRun | undefined;
let installed = false;

function exitNow(): never {
  // the live tree hides the cursor; give it back
  if (process.stderr.isTTY) process.stderr.write('\x1b[?25h');
  process.stderr.write('\ninterrupted\n');
  process.exit(EXIT.interrupted);
}

function onSignal(signal: NodeJS.Signals): void {
  // a command that listens itself (connect holds a tunnel until Ctrl-C) owns the signal
  if (!active && process.listenerCount(signal) > 1) return;
  if (!active || active.abort.signal.aborted) exitNow();
  active.notice('interrupt: stopping the running steps, releasing locks (Ctrl-C again to quit at once)');
  active.abort.abort();
}

/** Once, at start-up: from here on a signal never kills the process half-way. */
export function installInterruptHandler(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** While a run is on: a signal aborts `signal` instead of exiting. */
export function interruptibleRun(notice: (line: string) => void): { signal: AbortSignal; end(): void } {
  const abort = new AbortController();
  const run: ActiveRun = { abort, notice };
  active = run;
  return {
    signal: abort.signal,
    end: () => {
      if (active === run) active = undefined;
    },
  };
}
