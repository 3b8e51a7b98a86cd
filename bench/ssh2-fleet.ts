// A light SSH fleet for the 10/100/1000-host curve: a few ssh2 server processes
// (bench/ssh2-fleet-worker.ts, one 127.0.0.1 port each; hosts spread over them in turn),
// every host a distinct name in the inventory (its own state_dir and bench_root). Each exec
// request runs a real `sh -c` (so the remote driver, the probes and the sampler run for
// real) without sshd's per-login fork, PAM and login shell: what is left to measure is the
// controller. The servers run outside the bench's and the CLI's processes, several of
// them, so the key exchanges of 50 hosts at once keep up (their times are reported).
// The hosts' shells run at nice 10: on a real fleet they would not share the controller's
// CPU; here the controller and the servers get it first and the shells take the rest.
// Processes are bounded by the controller's --concurrency (one driver and one sampler per
// host being worked on). Every process of the fleet carries a marker variable in its
// environment: at stop(), and when the bench ends by a signal, the servers and every process
// carrying the marker (the samplers, detached from their session and named by folders
// outside this fleet's) are killed by PID.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { makeClientKey, type ClientKey } from '../test/support/local-sshd.js';
import { onProcessEnd } from './process-cleanup.js';
import type { WorkerConfig, WorkerStats } from './ssh2-fleet-worker.js';

export interface Ssh2Fleet {
  targets: { name: string; host: string; port: number }[];
  clientKey: ClientKey;
  knownHostsPath: string;
  dir: string;
  /** the servers' figures since start or the last resetStats() */
  stats(): Promise<FleetStats>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetStats {
  connections: number;
  execs: number;
  /** highest number of remote `sh` processes alive at once (sum of the servers' peaks) */
  peakLiveProcesses: number;
  /** TCP accept to authenticated, every connection of every server */
  handshakeMs: number[];
  unauthenticated: number;
}

const WORKER = new URL('./ssh2-fleet-worker.js', import.meta.url);
const MARKER = 'VPS_BENCH_FLEET';

/** PIDs of the processes whose environment holds `${MARKER}=${token}` (their descendants inherit it). */
function marked(token: string): number[] {
  const needle = Buffer.from(`${MARKER}=${token}\0`);
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`).includes(needle)) pids.push(Number(p));
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return pids;
}

function killPid(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export async function startSsh2Fleet(opts: {
  count: number;
  namePrefix?: string;
  /** server processes (default 4: two per core here; ssh2's key exchange is the server's CPU) */
  servers?: number;
  /** nice value of the hosts' shells (default 10: below the controller's and the servers') */
  niceness?: number;
}): Promise<Ssh2Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'vps-bench-ssh2-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const clientKey = makeClientKey(dir);
  // made by ssh-keygen: ssh2's own ed25519 generator makes about 1 key in 256 that its parser
  // then refuses (a leading zero byte stripped; mscdex/ssh2#1390), and the fleet failed to start
  const hostKey = makeClientKey(dir, 'host_ed25519');
  const token = randomBytes(8).toString('hex');
  const config: WorkerConfig = {
    hostKeyPath: hostKey.privateKeyPath,
    clientPublicKey: clientKey.publicKey,
    home,
    niceness: opts.niceness ?? 10,
    env: {
      HOME: home,
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      USER: 'root',
      LOGNAME: 'root',
      SHELL: '/bin/sh',
      LANG: 'C.UTF-8',
      [MARKER]: token,
    },
  };
  const workers: ChildProcess[] = [];
  const killAll = () => {
    for (const w of workers) killPid(w.pid);
    // twice: a shell may fork between the scan and the kill
    for (let i = 0; i < 2; i++) for (const pid of marked(token)) killPid(pid);
  };
  const unregister = onProcessEnd(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const ports: number[] = [];
  try {
    for (let i = 0; i < Math.max(1, opts.servers ?? 4); i++) {
      const w = fork(WORKER, [], {
        env: { ...config.env, VPS_BENCH_WORKER_CONFIG: JSON.stringify(config) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      w.on('error', () => undefined); // a send to a server that just exited
      workers.push(w);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('an ssh2 fleet server did not listen within 30 s')), 30_000);
          w.once('exit', (code) => reject(new Error(`an ssh2 fleet server exited ${code} before it listened`)));
          w.on('message', (m: { type: string; port?: number }) => {
            if (m.type === 'listening') {
              clearTimeout(t);
              resolve(m.port!);
            }
          });
        }),
      );
    }
  } catch (err) {
    killAll();
    unregister();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const width = Math.max(2, String(opts.count).length);
  const targets = Array.from({ length: opts.count }, (_, i) => ({
    name: `${opts.namePrefix ?? 'light'}-${String(i + 1).padStart(width, '0')}`,
    host: '127.0.0.1',
    port: ports[i % ports.length]!,
  }));
  const knownHostsPath = join(dir, 'known_hosts');
  const pub = ssh2.utils.parseKey(hostKey.publicKey);
  if (pub instanceof Error || Array.isArray(pub)) throw new Error('host key');
  const line = `${pub.type} ${pub.getPublicSSH().toString('base64')}`;
  writeFileSync(knownHostsPath, ports.map((p) => `[127.0.0.1]:${p} ${line}\n`).join(''), { mode: 0o600 });

  const ask = (w: ChildProcess) =>
    new Promise<WorkerStats>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('an ssh2 fleet server did not answer within 30 s')), 30_000);
      const on = (m: { type: string; stats?: WorkerStats }) => {
        if (m.type !== 'stats') return;
        clearTimeout(t);
        w.off('message', on);
        resolve(m.stats!);
      };
      w.on('message', on);
      w.send({ type: 'stats' });
    });

  let stopped: Promise<void> | undefined;
  return {
    targets,
    clientKey,
    knownHostsPath,
    dir,
    async stats() {
      const all = await Promise.all(workers.map(ask));
      return {
        connections: all.reduce((s, x) => s + x.connections, 0),
        execs: all.reduce((s, x) => s + x.execs, 0),
        peakLiveProcesses: all.reduce((s, x) => s + x.peakLiveProcesses, 0),
        handshakeMs: all.flatMap((x) => x.handshakeMs),
        unauthenticated: all.reduce((s, x) => s + x.unauthenticated, 0),
      };
    },
    async resetStats() {
      for (const w of workers) w.send({ type: 'reset' });
      await Promise.all(workers.map(ask)); // ordered after the reset on each channel
    },
    stop() {
      stopped ??= (async () => {
        // each server kills its shells by PID and exits; a server that does not within 5 s,
        // and every marked process left (the detached samplers), is killed here
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((resolve) => {
                if (w.exitCode !== null || w.signalCode !== null) return resolve();
                const t = setTimeout(resolve, 5_000);
                w.once('exit', () => {
                  clearTimeout(t);
                  resolve();
                });
                try {
                  w.send({ type: 'stop' });
                } catch {
                  resolve();
                }
              }),
          ),
        );
        killAll();
        rmSync(dir, { recursive: true, force: true });
        unregister();
      })();
      return stopped;
    },
  };
}
