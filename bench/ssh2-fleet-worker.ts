// One server process of the light ssh2 fleet (bench/ssh2-fleet.ts forks several, one port
// each): with the key exchanges of 50 hosts at once and the pipes of their shells in one
// event loop, the last handshakes waited more than 20 s and the curve measured the server,
// not the controller. Each exec request runs a real `sh -c` with the fleet's environment
// (its marker variable included, so the parent finds every descendant, the detached
// samplers too). Every child is killed by PID when the parent says stop, goes away (IPC
// channel closed) or a signal ends this process.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import ssh2 from 'ssh2';

export interface WorkerConfig {
  hostKeyPath: string;
  /** the one client key accepted, in OpenSSH public key format */
  clientPublicKey: string;
  home: string;
  env: Record<string, string>;
  /** nice value of every shell (0: as the controller) */
  niceness: number;
}

/** What a worker reports when asked (message 'stats'). */
export interface WorkerStats {
  connections: number;
  execs: number;
  peakLiveProcesses: number;
  /** TCP accept to authenticated, per connection */
  handshakeMs: number[];
  /** connections closed before they were authenticated */
  unauthenticated: number;
}

type FromParent = { type: 'stats' } | { type: 'reset' } | { type: 'stop' };

const config = JSON.parse(process.env['VPS_BENCH_WORKER_CONFIG'] ?? 'null') as WorkerConfig | null;
if (!config || !process.send) {
  console.error('ssh2-fleet-worker: started without its config or IPC channel (it is forked by ssh2-fleet.ts)');
  process.exit(2);
}
const allowed = ssh2.utils.parseKey(config.clientPublicKey);
if (allowed instanceof Error || Array.isArray(allowed)) throw new Error(`client key: ${String(allowed)}`);

const live = new Set<ChildProcess>();
const stats: WorkerStats = { connections: 0, execs: 0, peakLiveProcesses: 0, handshakeMs: [], unauthenticated: 0 };
const clients = new Set<ssh2.Connection>();

const server = new ssh2.Server({ hostKeys: [readFileSync(config.hostKeyPath)] }, (client) => {
  const accepted = performance.now();
  let authenticated = false;
  stats.connections++;
  clients.add(client);
  client.on('close', () => {
    clients.delete(client);
    if (!authenticated) stats.unauthenticated++;
  });
  client.on('error', () => undefined);
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH()))
      return ctx.reject(['publickey']);
    if (!ctx.signature) return ctx.accept(); // the key is acceptable; the client signs next
    return allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject(['publickey']);
  });
  client.on('ready', () => {
    authenticated = true;
    stats.handshakeMs.push(performance.now() - accepted);
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (accept, _reject, info) => {
        const ch = accept();
        stats.execs++;
        const child = spawn('/bin/sh', ['-c', info.command], {
          cwd: config.home,
          env: config.env,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        // the hosts' shells (and all they fork: inherited) yield the CPU to the servers and the
        // controller: on a real fleet they run on other machines, here they share two cores
        if (child.pid)
          try {
            setPriority(child.pid, config.niceness);
          } catch {
            /* exited already */
          }
        live.add(child);
        stats.peakLiveProcesses = Math.max(stats.peakLiveProcesses, live.size);
        child.stdout.pipe(ch, { end: false });
        child.stderr.pipe(ch.stderr, { end: false });
        ch.pipe(child.stdin).on('error', () => undefined);
        child.stdin.on('error', () => undefined);
        child.on('error', () => undefined);
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

function killChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

let stopping = false;
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  killChildren();
  server.close();
  for (const c of clients) c.end();
  process.exit(code);
}

process.on('message', (m: FromParent) => {
  if (m.type === 'stats') process.send!({ type: 'stats', stats });
  else if (m.type === 'reset') {
    stats.handshakeMs = [];
    stats.unauthenticated = 0;
    stats.peakLiveProcesses = live.size;
  } else if (m.type === 'stop') stop(0);
});
// the parent died or dropped us: nothing may outlive it
process.on('disconnect', () => stop(1));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => stop(130));
process.on('exit', killChildren);

server.on('error', (err: Error) => {
  console.error(`ssh2-fleet-worker: ${err.message}`);
  stop(1);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send!({ type: 'listening', port: typeof addr === 'object' && addr ? addr.port : 0 });
});
