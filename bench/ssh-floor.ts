// The raw floor both tools stand on: connection setup and one trivial `exec` round trip over
// ssh2 (TCP_NODELAY on). Every exec starts the login user's shell, so root's ~/.bashrc on
// this image (pyenv init, ~150 ms) is inside this floor, as it is inside every Ansible task.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from 'ssh2';

export interface ExecFloor {
  /** TCP + key exchange + auth. */
  connectMs: number;
  /** Median wall time of `exec(command)` until its channel closed, one at a time. */
  execMedianMs: number;
  execMinMs: number;
  samples: number;
}

export async function measureExecFloor(o: {
  host: string;
  port: number;
  privateKeyPath: string;
  username?: string;
  command?: string;
  samples?: number;
  timeoutMs?: number;
}): Promise<ExecFloor> {
  const client = new Client();
  const samples = o.samples ?? 10;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const bounded = <T>(p: Promise<T>, what: string) => {
    let timer: NodeJS.Timeout;
    return Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`${what} timed out`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  try {
    const t0 = performance.now();
    await bounded(
      new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', reject);
        client.connect({
          host: o.host,
          port: o.port,
          username: o.username ?? 'root',
          privateKey: readFileSync(o.privateKeyPath),
        });
        client.setNoDelay(true); // ssh2 leaves Nagle on (DESIGN §2)
      }),
      'ssh connect',
    );
    const connectMs = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await bounded(
        new Promise<void>((resolve, reject) => {
          client.exec(o.command ?? 'true', (err, ch) => {
            if (err) return reject(err);
            ch.on('data', () => undefined);
            ch.stderr.on('data', () => undefined);
            ch.once('close', () => resolve());
          });
        }),
        'ssh exec',
      );
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { connectMs, execMedianMs: times[Math.floor(times.length / 2)]!, execMinMs: times[0]!, samples };
  } finally {
    client.end();
  }
}
