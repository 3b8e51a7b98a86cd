// A user-space TCP proxy on 127.0.0.1 that delays each direction by rttMs/2, so a round
// trip through it costs about rttMs more. This kernel has no sch_netem (DESIGN §2), so this
// is how the bench emulates WAN latency on loopback.
//
// Data is delayed by time of arrival: every chunk is queued with due = arrival + delay and
// written, in order, once due. A sender that writes continuously therefore still gets the
// link's throughput (only latency is added), unlike sleeping before each write.
import { createServer, connect, type Socket, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LatencyProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Extra round-trip time in ms; half of it is added to each direction. 0 = plain pipe. */
  rttMs: number;
}

export interface LatencyProxy {
  host: '127.0.0.1';
  port: number;
  /** Close the listener and every open connection (both sockets of each pair). */
  stop(): Promise<void>;
}

type Item = { dueMs: number; chunk: Buffer | null }; // chunk null = the sender's FIN

/** One direction src -> dst with a fixed delay; keeps order, forwards half-close. */
function pipeDelayed(src: Socket, dst: Socket, delayMs: number, onFatal: (err?: Error) => void): void {
  const queue: Item[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  const deliver = (item: Item) => {
    if (dst.destroyed) return;
    if (item.chunk === null) {
      dst.end();
      return;
    }
    // Back-pressure: stop reading the sender until the receiver drains. This only slows a
    // bulk sender down to what the receiver takes; it never reorders.
    if (!dst.write(item.chunk) && !src.isPaused()) {
      src.pause();
      dst.once('drain', () => {
        if (!src.destroyed) src.resume();
      });
    }
  };

  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (head < queue.length && queue[head]!.dueMs <= now) deliver(queue[head++]!);
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else {
      arm();
    }
  };

  // setTimeout is relative to libuv's cached loop time and may fire up to ~1 ms early:
  // flush() re-checks against performance.now() and re-arms, so no chunk ever leaves early.
  const arm = () => {
    if (timer || head >= queue.length) return;
    const waitMs = Math.max(1, Math.ceil(queue[head]!.dueMs - performance.now()));
    timer = setTimeout(flush, waitMs);
  };

  const enqueue = (chunk: Buffer | null) => {
    if (delayMs <= 0) {
      deliver({ dueMs: 0, chunk });
      return;
    }
    queue.push({ dueMs: performance.now() + delayMs, chunk });
    arm();
  };

  src.on('data', (chunk: Buffer) => enqueue(chunk));
  src.on('end', () => enqueue(null));
  src.on('error', (err) => onFatal(err));
  src.on('close', () => {
    // A close without a prior 'end' is an abort (RST, destroy): nothing more will come,
    // and what is still queued can no longer be answered, so drop the pair.
    if (!src.readableEnded) onFatal();
  });
  dst.on('close', () => {
    if (timer) clearTimeout(timer);
  });
}

export async function startLatencyProxy(opts: LatencyProxyOptions): Promise<LatencyProxy> {
  if (!(opts.rttMs >= 0) || !Number.isFinite(opts.rttMs))
    throw new Error(`rttMs must be a finite number >= 0, got ${opts.rttMs}`);
  const oneWayMs = opts.rttMs / 2;
  const sockets = new Set<Socket>();

  // allowHalfOpen: a FIN from one side must only close that direction, after its delay.
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = connect({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true, noDelay: true });
    // Belt and braces for Node versions where the noDelay option is not applied.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let closed = false;
    const destroyBoth = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    pipeDelayed(client, upstream, oneWayMs, destroyBoth);
    pipeDelayed(upstream, client, oneWayMs, destroyBoth);
    // Once both directions have ended (FIN each way, delivered), release both sockets.
    const maybeDone = () => {
      if (client.readableEnded && upstream.readableEnded && client.writableFinished && upstream.writableFinished)
        destroyBoth();
    };
    for (const s of [client, upstream]) {
      s.on('end', maybeDone);
      s.on('finish', maybeDone);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return stopping;
    },
  };
}
