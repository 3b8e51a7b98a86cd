// TCP listeners on 127.0.0.1 that behave like broken or hostile "SSH servers": the real
// thing for a misbehaving host is a socket that does exactly this.
import { createServer, type Server, type Socket } from 'node:net';

export type Misbehaviour =
  /** accepts the connection and never sends a byte */
  | 'silent'
  /** sends bytes that are no SSH identification line, and keeps the connection open */
  | 'garbage'
  /** sends greeting lines without end, never an SSH- line */
  | 'endless'
  /** accepts and closes at once */
  | 'close';

export interface BadServer {
  port: number;
  stop(): Promise<void>;
}

export async function startBadServer(kind: Misbehaviour): Promise<BadServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    if (kind === 'close') sock.destroy();
    if (kind === 'garbage') sock.write(Buffer.from('\x1b[2J\x00\x01\x02HTTP/1.1 400 Bad Request\x07\x1b]0;owned\x07'));
    if (kind === 'endless') {
      // one greeting line every 5 ms, never an identification line: bounded by the client
      let n = 0;
      const t = setInterval(() => {
        if (sock.destroyed || ++n > 100_000) {
          clearInterval(t);
          timers.delete(t);
          return;
        }
        sock.write(`welcome line ${n} \x1b[31mred\x1b[0m\r\n`);
      }, 5);
      timers.add(t);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
