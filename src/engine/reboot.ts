// --reboot: hosts that say /var/run/reboot-required (an upgraded kernel, libc, ...) are
// rebooted at the end of a run, waited for (bounded) until SSH answers from a new boot, and
// checked: a new boot id, no reboot-required left, systemd up (running or degraded).
import { randomBytes } from 'node:crypto';
import type { Connection, Connector } from '../transport/connection.js';
import { pause, REBOOT_POLL_MS } from '../transport/reconnect-backoff.js';
import type { HostSpec } from '../config/inventory.js';
import type { Secret } from '../shell/secret.js';
import { recordReader } from './records.js';

import { bootStateScript, REBOOT_REQUIRED_FILE } from '../shell/host-scripts.js';

export { REBOOT_REQUIRED_FILE };

export interface RebootResult {
  ok: boolean;
  /** from the reboot command to SSH answering from the new boot */
  downMs: number;
  detail: string;
}

export interface RebootOptions {
  become: boolean;
  sudoPassword?: Secret;
  /** how long the host may take to answer SSH again */
  timeoutMs: number;
  /** between connection attempts */
  pollMs?: number;
  signal?: AbortSignal;
}

interface BootState {
  bootId: string;
  required: boolean;
  systemd: string;
}

async function bootState(conn: Connection, opts: RebootOptions, waitS: number): Promise<BootState> {
  const shell = await conn.openShell({
    become: opts.become,
    sudoPassword: opts.become ? opts.sudoPassword : undefined,
  });
  try {
    const n = randomBytes(6).toString('hex');
    const st: BootState = { bootId: '', required: false, systemd: 'unknown' };
    await shell.run(
      bootStateScript(n, waitS),
      recordReader(n, (r) => {
        if (r.tag === 'BOOT') st.bootId = r.args[0] ?? '';
        if (r.tag === 'REQUIRED') st.required = true;
        if (r.tag === 'SYSTEMD') st.systemd = r.args[0] ?? 'unknown';
      }),
    );
    return st;
  } finally {
    shell.close();
  }
}

export async function rebootHost(connector: Connector, host: HostSpec, opts: RebootOptions): Promise<RebootResult> {
  const conn = await connector.connect(host.name);
  let before: BootState;
  try {
    before = await bootState(conn, opts, 0);
    const shell = await conn.openShell({
      become: opts.become,
      sudoPassword: opts.become ? opts.sudoPassword : undefined,
    });
    // --no-block: queued, so this returns (and says if it was refused) before SSH goes down
    const lines: string[] = [];
    const r = await shell.run('systemctl --no-block reboot 2>&1', (l) => lines.push(l)).catch(() => ({ exitCode: 0 }));
    shell.close();
    if (r.exitCode !== 0)
      return {
        ok: false,
        downMs: 0,
        detail: `reboot refused: ${lines.join(' ').slice(0, 300) || `exit ${r.exitCode}`}`,
      };
  } finally {
    conn.close();
  }
  const started = performance.now();
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  // bounded: attempts stop at the deadline (or on Ctrl-C)
  while (Date.now() < deadline && !opts.signal?.aborted) {
    await pause(opts.pollMs ?? REBOOT_POLL_MS, opts.signal);
    let c: Connection | undefined;
    try {
      c = await connector.connect(host.name);
      const after = await bootState(c, opts, 120);
      // still the old boot: it has not gone down yet
      if (after.bootId === before.bootId) {
        last = 'still up on the old boot';
        continue;
      }
      const downMs = performance.now() - started;
      const problems = [
        ...(after.required ? [`${REBOOT_REQUIRED_FILE} is still there`] : []),
        ...(after.systemd === 'running' || after.systemd === 'degraded' ? [] : [`systemd is ${after.systemd}`]),
      ];
      return problems.length
        ? { ok: false, downMs, detail: `back after ${Math.round(downMs / 1000)} s, but ${problems.join(', ')}` }
        : {
            ok: true,
            downMs,
            detail: `back after ${Math.round(downMs / 1000)} s on a new boot (systemd ${after.systemd})`,
          };
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    } finally {
      c?.close();
    }
  }
  return {
    ok: false,
    downMs: performance.now() - started,
    detail: opts.signal?.aborted
      ? 'interrupted while waiting for the host'
      : `no SSH from a new boot within ${Math.round(opts.timeoutMs / 1000)} s (${last})`,
  };
}
