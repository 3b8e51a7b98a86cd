// One place that runs the bench's synchronous clean-ups when the process ends: on 'exit',
// and on SIGINT/SIGTERM/SIGHUP, which otherwise end Node without firing 'exit'.
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      /* best effort: keep cleaning */
    }
  }
  cleanups.clear();
}

/** Registers a synchronous clean-up; returns a function that unregisters it. */
export function onProcessEnd(fn: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', runAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const onSignal = () => {
        runAll();
        // Re-raise so the default action (or another handler the bench added) ends the process.
        process.off(sig, onSignal);
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      };
      process.on(sig, onSignal);
    }
  }
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}
