// The narrow connector the engine is handed (DESIGN §1.3). A non-zero exit is data;
// only transport failures throw (as ConnectError).
import type { Duplex } from 'node:stream';
import type { Secret } from '../shell/secret.js';

export interface ExecResult {
  /** null when the command was killed by a signal */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** One line of a remote script's stdout, as it arrives. */
export type LineHandler = (line: string) => void;

export interface ShellResult {
  exitCode: number;
  durationMs: number;
}

/** A long-lived remote sh reading scripts on stdin: one round trip per script. */
export interface RemoteShell {
  /** The remote driver's PID (used to mark the run's lock as alive). */
  readonly pid: number;
  readonly user: string;
  run(script: string, onLine?: LineHandler): Promise<ShellResult>;
  close(): void;
}

export interface Connection {
  readonly host: string;
  /** the address the connection went to (after ~/.ssh/config), for checks from the controller */
  readonly remoteHost: string;
  /** the user the connection logged in as (after ~/.ssh/config) */
  readonly loginUser: string;
  exec(command: string, opts?: { stdin?: string | Buffer; timeoutMs?: number }): Promise<ExecResult>;
  openShell(opts?: { become?: boolean; sudoPassword?: Secret }): Promise<RemoteShell>;
  /**
   * A TCP stream to host:port as the remote host sees it (an SSH direct-tcpip channel on
   * this connection): the RDP tunnel and verify's RDP handshake behind a loopback-bound xrdp.
   */
  forwardOut(host: string, port: number): Promise<Duplex>;
  close(): void;
  /** Resolves when the connection is gone (closed by us or dropped). */
  readonly closed: Promise<void>;
}

export interface Connector {
  /** Resolve every host's settings and keys (asking passphrases) before any connection. */
  prepare(hostNames: readonly string[]): Promise<void>;
  /** An abort (Ctrl-C) ends a connection attempt at once, rejecting with InterruptedError. */
  connect(hostName: string, signal?: AbortSignal): Promise<Connection>;
}
