// One listener on a run's AbortSignal for all of its hosts. Each host in flight listens to
// an interrupt in a few places (its connection attempt, its runner, a reconnect's pause);
// on the run's own signal that made --concurrency x 1..3 listeners at once, past Node's 10
// per target (MaxListenersExceededWarning at --concurrency 50), though each was removed in
// time. Here each host gets a signal of its own, aborted with the run's.

export interface HostSignal {
  /** undefined when the run has no signal */
  signal: AbortSignal | undefined;
  /** the host is done: its signal no longer follows the run's */
  release(): void;
}

export function hostSignals(run: AbortSignal | undefined): { take(): HostSignal; close(): void } {
  if (!run) return { take: () => ({ signal: undefined, release: () => undefined }), close: () => undefined };
  const live = new Set<AbortController>();
  const onAbort = () => {
    for (const c of live) c.abort(run.reason);
  };
  run.addEventListener('abort', onAbort, { once: true });
  return {
    take() {
      const c = new AbortController();
      if (run.aborted) c.abort(run.reason);
      else live.add(c);
      return { signal: c.signal, release: () => live.delete(c) };
    },
    close() {
      run.removeEventListener('abort', onAbort);
      live.clear();
    },
  };
}
