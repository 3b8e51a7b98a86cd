// A light SSH fleet for the 10/100/1000-host curve: one in-process ssh2 server on one
// 127.0.0.1 port, every host a distinct name in the inventory (its own state_dir and
// bench_root). Each exec request runs a real `sh -c` (so the remote driver, the probes and
// the sampler run for real) without sshd's per-login fork, PAM and login shell: what is
// left to measure is the controller. Runs in the bench's process, never in the CLI's.
// Processes are bounded by the controller's --concurrency (one driver and one sampler per
// host being worked on); every process still alive at stop() is killed by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { makeClientKey, type ClientKey } from '../test/support/local-sshd.js';
import { onProcessEnd } from './process-cleanup.js';

export interface Ssh2Fleet {
  port: number;
  names: string[];
  clientKey: ClientKey;
  knownHostsPath: string;
  dir: string;
  /** connections and processes the server has seen (for the bench's bounds check) */
  stats: { connections: number; execs: number; peakLiveProcesses: number };
  stop(): Promise<void>;
}

/** Processes whose command line mentions `dir` (the samplers, detached from their session). */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(dir)) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export async function startSsh2Fleet(opts: { count: number; namePrefix?: string }): Promise<Ssh2Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'vps-bench-ssh2-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const clientKey = makeClientKey(dir);
  const allowed = ssh2.utils.parseKey(clientKey.publicKey);
  if (allowed instanceof Error || Array.isArray(allowed)) throw new Error(`client key: ${String(allowed)}`);
  // made by ssh-keygen: ssh2's own ed25519 generator makes about 1 key in 256 that its parser
  // then refuses (a leading zero byte stripped; mscdex/ssh2#1390), and the fleet failed to start
  const hostKey = makeClientKey(dir, 'host_ed25519');
  const live = new Set<ChildProcess>();
  const stats = { connections: 0, execs: 0, peakLiveProcesses: 0 };
  const env = {
    HOME: home,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/sh',
    LANG: 'C.UTF-8',
  };
  const clients = new Set<ssh2.Connection>();

  const server = new ssh2.Server({ hostKeys: [readFileSync(hostKey.privateKeyPath)] }, (client) => {
    stats.connections++;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH()))
        return ctx.reject(['publickey']);
      if (!ctx.signature) return ctx.accept(); // the key is acceptable; the client signs next
      return allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const ch = accept();
          stats.execs++;
          const child = spawn('/bin/sh', ['-c', info.command], { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'] });
          live.add(child);
          stats.peakLiveProcesses = Math.max(stats.peakLiveProcesses, live.size);
          child.stdout.pipe(ch, { end: false });
          child.stderr.pipe(ch.stderr, { end: false });
          ch.pipe(child.stdin).on('error', () => undefined);
          child.stdin.on('error', () => undefined);
          let exited = false;
          child.on('close', (code, signal) => {
            exited = true;
            live.delete(child);
            try {
              if (signal) ch.exit(signal.replace(/^SIG/, ''), false, '');
              else ch.exit(code ?? 0);
              ch.end();
            } catch {
              /* the client is gone */
            }
          });
          // the client closed the channel (or the connection): as sshd, the session's
          // command loses its pipes; a shell left waiting on them gets a hang-up
          ch.on('close', () => {
            if (!exited) child.kill('SIGHUP');
          });
        });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const width = Math.max(2, String(opts.count).length);
  const names = Array.from(
    { length: opts.count },
    (_, i) => `${opts.namePrefix ?? 'light'}-${String(i + 1).padStart(width, '0')}`,
  );
  const knownHostsPath = join(dir, 'known_hosts');
  const pub = ssh2.utils.parseKey(hostKey.publicKey);
  if (pub instanceof Error || Array.isArray(pub)) throw new Error('host key');
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${pub.type} ${pub.getPublicSSH().toString('base64')}\n`, {
    mode: 0o600,
  });

  const killAll = () => {
    for (const c of live) c.kill('SIGKILL');
    for (const pid of processesUnder(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  const unregister = onProcessEnd(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });
  let stopped: Promise<void> | undefined;
  return {
    port,
    names,
    clientKey,
    knownHostsPath,
    dir,
    stats,
    stop() {
      stopped ??= (async () => {
        // processes first: a client still connected (an interrupted CLI) must not hold stop()
        killAll();
        server.close();
        for (const c of clients) c.end();
        rmSync(dir, { recursive: true, force: true });
        unregister();
      })();
      return stopped;
    },
  };
}
