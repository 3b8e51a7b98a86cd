// The one policy for waiting between SSH connection attempts to a host: after a dropped
// connection (the engine's reconnect), while a new droplet's sshd comes up (`up`) and
// while a rebooting host comes back. Every wait is bounded and an interrupt cuts it short.

/** Waits before each reconnect after a drop: 10 tries over ~48 s, then the drop is final. */
export const RECONNECT_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000];

/** The longest wait between attempts to reach a host still booting. */
export const BOOTING_HOST_MAX_DELAY_MS = 3000;

/** Wait after failed attempt n (from 1) to reach a host still booting: 0.5 s more each time, at most 3 s. */
export function bootingHostDelayMs(attempt: number): number {
  return Math.min(BOOTING_HOST_MAX_DELAY_MS, 500 * attempt);
}

/** Between the attempts to reach a rebooting host. */
export const REBOOT_POLL_MS = 3000;

/** A wait that an interrupt (the signal's abort) cuts short; it never rejects. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
