// A local port forwarded over an SSH connection (ssh -L): each connection accepted on
// 127.0.0.1:<local port> gets its own direct-tcpip channel to the remote host's view of
// host:port. Used by `connect` for RDP through SSH. Listens on the loopback only.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Connection } from './connection.js';
import { ConfigError } from '../errors.js';

export interface LocalForward {
  /** the local port (the one asked for, or a free one) */
  port: number;
  /** connections accepted so far */
  readonly accepted: number;
  /** stops listening and closes every forwarded connection */
  close(): Promise<void>;
}

export async function forwardLocalPort(
  connection: Connection,
  remote: { host: string; port: number },
  localPort = 0,
  onError?: (message: string) => void,
): Promise<LocalForward> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((sock) => {
    accepted++;
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.pause();
    connection.forwardOut(remote.host, remote.port).then(
      (ch) => {
        ch.on('error', () => sock.destroy());
        sock.on('close', () => ch.destroy());
        ch.on('close', () => sock.destroy());
        sock.pipe(ch).pipe(sock);
        sock.resume();
      },
      (err: Error) => {
        onError?.(err.message);
        sock.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError(
              `local port ${localPort} is in use`,
              'choose another with --port, or leave --port out for a free one',
            )
          : err,
      ),
    );
    server.listen(localPort, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
