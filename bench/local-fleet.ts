// N real sshd targets on 127.0.0.1 for the speed bench, each optionally behind its own
// latency proxy, all trusting one fresh client key, with a known_hosts file naming the port
// a client actually dials (the proxy's when rttMs > 0).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { makeClientKey, startSshd, type ClientKey, type LocalSshd } from '../test/support/local-sshd.js';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js';
import { onProcessEnd } from './process-cleanup.js';

export interface FleetTarget {
  name: string;
  host: '127.0.0.1';
  /** Port to dial: the latency proxy's when rttMs > 0, else sshd's own. */
  port: number;
  /** sshd's own port (bypasses the proxy). */
  sshdPort: number;
  sshdPid: number;
  /** "[127.0.0.1]:<port> ssh-ed25519 AAAA..." for the port to dial. */
  knownHostsLine: string;
  stop(): Promise<void>;
}

export interface LocalFleet {
  targets: FleetTarget[];
  clientKey: ClientKey;
  /** known_hosts with one line per target (for `port`). */
  knownHostsPath: string;
  /** Temp folder holding the key and known_hosts; removed by stop(). */
  dir: string;
  rttMs: number;
  /** Whether the targets' login shells run with an empty HOME (see LocalFleetOptions). */
  cleanHome: boolean;
  stop(): Promise<void>;
}

export interface LocalFleetOptions {
  count: number;
  /** Added round-trip time per target; 0 = no proxy. */
  rttMs?: number;
  /** Target names: `${namePrefix}-01`, ... (default "bench"). */
  namePrefix?: string;
  /** Extra sshd_config lines for every target. */
  extraConfig?: string[];
  /**
   * Give the login shell an empty home (sshd `SetEnv HOME=<fleet dir>/home`), so root's
   * ~/.bashrc on this machine (pyenv init, ~150-200 ms per exec) is not run: a trivial exec
   * then costs ~4 ms, as on a stock droplet. Default false: the machine as it is.
   */
  cleanHome?: boolean;
  /** sshds started at once (default 4: key generation and start-up are CPU-bound). */
  startConcurrency?: number;
}

export async function startLocalFleet(opts: LocalFleetOptions): Promise<LocalFleet> {
  // This fleet's sshd pids and temp dirs still alive, so an exiting or interrupted bench
  // leaves none behind (local-sshd kills its children on 'exit' only, not on signals).
  const livePids = new Set<number>();
  const liveDirs = new Set<string>();
  const unregister = onProcessEnd(() => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
  const rttMs = opts.rttMs ?? 0;
  const prefix = opts.namePrefix ?? 'bench';
  const dir = mkdtempSync(join(tmpdir(), 'vps-bench-fleet-'));
  liveDirs.add(dir);
  const clientKey = makeClientKey(dir);
  const extraConfig = [...(opts.extraConfig ?? [])];
  if (opts.cleanHome) {
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    extraConfig.push(`SetEnv HOME=${home}`);
  }
  const width = Math.max(2, String(opts.count).length);
  const limit = pLimit(opts.startConcurrency ?? 4);
  const targets: FleetTarget[] = [];

  const startOne = async (i: number): Promise<FleetTarget> => {
    // One retry: freePort() in local-sshd can race with a parallel start for the same port.
    let sshd: LocalSshd;
    try {
      sshd = await startSshd({ authorizedKeys: [clientKey.publicKey], extraConfig });
    } catch {
      sshd = await startSshd({ authorizedKeys: [clientKey.publicKey], extraConfig });
    }
    const pid = sshd.pid;
    livePids.add(pid);
    liveDirs.add(sshd.dir); // sshd.stop() removes it; an interrupted run must too
    let proxy: LatencyProxy | undefined;
    try {
      if (rttMs > 0) proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: sshd.port, rttMs });
    } catch (err) {
      await sshd.stop();
      livePids.delete(pid);
      liveDirs.delete(sshd.dir);
      throw err;
    }
    const port = proxy?.port ?? sshd.port;
    let stopped: Promise<void> | undefined;
    const target: FleetTarget = {
      name: `${prefix}-${String(i + 1).padStart(width, '0')}`,
      host: '127.0.0.1',
      port,
      sshdPort: sshd.port,
      sshdPid: pid,
      knownHostsLine: `[127.0.0.1]:${port} ${sshd.hostPublicKey}`,
      stop() {
        stopped ??= (async () => {
          await proxy?.stop();
          await sshd.stop();
          livePids.delete(pid);
          liveDirs.delete(sshd.dir);
        })();
        return stopped;
      },
    };
    return target;
  };

  const started = await Promise.allSettled(Array.from({ length: opts.count }, (_, i) => limit(() => startOne(i))));
  for (const s of started) if (s.status === 'fulfilled') targets.push(s.value);
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const stopAll = async () => {
    await Promise.all(targets.map((t) => t.stop()));
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    unregister();
  };
  if (failure) {
    await stopAll();
    throw new Error(`starting ${opts.count} local sshd targets failed: ${String(failure.reason)}`, {
      cause: failure.reason,
    });
  }
  targets.sort((a, b) => a.name.localeCompare(b.name));
  const knownHostsPath = join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, targets.map((t) => t.knownHostsLine).join('\n') + '\n', { mode: 0o600 });
  return { targets, clientKey, knownHostsPath, dir, rttMs, cleanHome: !!opts.cleanHome, stop: stopAll };
}
