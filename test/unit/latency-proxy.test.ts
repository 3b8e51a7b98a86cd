// The bench's latency proxy against a real local echo server: added round-trip time,
// bulk data intact and in order, half-close forwarded, stop() closes everything.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startLatencyProxy, type LatencyProxy } from '../../bench/latency-proxy.js';

/** Echo server that also forwards the client's FIN after echoing everything. */
async function startEcho(): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s); // pipe() ends the writable side when the readable side ends
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, server, sockets };
}

async function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Smallest of several 1-byte echo round trips, in ms. */
async function measureRttMs(port: number, rounds = 5): Promise<number> {
  const s = await connectTo(port);
  try {
    let best = Infinity;
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const got = new Promise<void>((resolve) => s.once('data', () => resolve()));
      s.write('x');
      await withTimeout(got, 5000, 'echo round trip');
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  } finally {
    s.destroy();
  }
}

/** Sends payload, half-closes, collects the echo until the proxy forwards the server's FIN. */
async function echoAll(port: number, payload: Buffer): Promise<Buffer> {
  const s = await connectTo(port);
  const parts: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    s.on('data', (d: Buffer) => parts.push(d));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
  // Many writes of odd sizes, so ordering across chunks is exercised.
  for (let off = 0; off < payload.length; off += 65_537) s.write(payload.subarray(off, off + 65_537));
  s.end();
  try {
    return await withTimeout(done, 30_000, 'bulk echo');
  } finally {
    s.destroy();
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('latency proxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const proxies: LatencyProxy[] = [];

  beforeAll(async () => {
    echo = await startEcho();
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });
  afterAll(async () => {
    for (const s of echo.sockets) s.destroy();
    await new Promise<void>((r) => echo.server.close(() => r()));
  });

  it('with rttMs 0 is a plain pipe: bytes echo back', async () => {
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: echo.port, rttMs: 0 });
    proxies.push(proxy);
    // Measured, not bounded from above: this machine is shared and timing upper bounds flake.
    const rtt = await measureRttMs(proxy.port);
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('adds at least rttMs to a round trip', async () => {
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: echo.port, rttMs: 50 });
    proxies.push(proxy);
    const rtt = await measureRttMs(proxy.port);
    expect(rtt).toBeGreaterThanOrEqual(50);
  });

  it.each([0, 50])('carries 8 MB intact, in order, and forwards half-close (rttMs %i)', async (rttMs) => {
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: echo.port, rttMs });
    proxies.push(proxy);
    const payload = randomBytes(8 * 1024 * 1024);
    const back = await echoAll(proxy.port, payload);
    expect(back.length).toBe(payload.length);
    expect(sha(back)).toBe(sha(payload));
  });

  it('a burst of small writes arrives complete and in order, after at least the delay', async () => {
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: echo.port, rttMs: 50 });
    proxies.push(proxy);
    const s = await connectTo(proxy.port);
    try {
      let received = '';
      const sent = Array.from({ length: 200 }, (_, i) => `${i};`);
      const t0 = performance.now();
      const all = new Promise<void>((resolve) =>
        s.on('data', (d: Buffer) => {
          received += d.toString();
          if (received.length >= sent.join('').length) resolve();
        }),
      );
      for (const piece of sent) s.write(piece);
      await withTimeout(all, 10_000, 'burst echo');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
      expect(received).toBe(sent.join(''));
    } finally {
      s.destroy();
    }
  });

  it('closes the client side when the target refuses', async () => {
    // A port nothing listens on: take one and free it.
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const addr = tmp.address();
    const deadPort = typeof addr === 'object' && addr ? addr.port : 0;
    await new Promise<void>((r) => tmp.close(() => r()));
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: deadPort, rttMs: 20 });
    proxies.push(proxy);
    const s = await connectTo(proxy.port);
    s.on('error', () => undefined);
    // The test socket allows half-open, so the proxy's FIN shows as 'end' before any 'close'.
    await withTimeout(
      new Promise<void>((r) => {
        s.once('end', r);
        s.once('close', () => r());
      }),
      5000,
      'client EOF after refused upstream',
    );
    s.destroy();
  });

  it('stop() closes open connections and the listener', async () => {
    const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: echo.port, rttMs: 50 });
    const s = await connectTo(proxy.port);
    s.on('error', () => undefined);
    const closed = new Promise<void>((r) => {
      s.once('end', r);
      s.once('close', () => r());
    });
    s.write('pending'); // still queued in the proxy when it stops
    await withTimeout(proxy.stop(), 5000, 'proxy stop');
    await withTimeout(closed, 5000, 'client EOF after stop');
    // The echo server's side of the pair is gone too.
    await withTimeout(
      (async () => {
        while (echo.sockets.size > 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'upstream close',
    );
    s.destroy();
    await expect(connectTo(proxy.port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
