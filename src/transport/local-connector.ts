// A Connector whose "hosts" are this machine: the remote driver runs in a local `sh`
// and speaks to the same client as over SSH (remote-shell-client.ts), so the engine's
// hard parts (re-checks, resume after a drop, parallel groups, checkpoints) can be
// tested without sshd. A drop is simulated by killing the driver processes.
// Used by the engine's unit tests; a state dir under a temp folder keeps them off /.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { CommandError, ConnectError, InterruptedError } from '../errors.js';
import type { Connection, Connector, ExecResult, RemoteShell } from './connection.js';
import { RemoteShellClient, type ShellChannel } from './remote-shell-client.js';
import { DRIVER } from './remote-shell-driver.js';

/** A child process seen as the channel the shell client expects (an ssh2 exec channel). */
class ProcessChannel extends EventEmitter implements ShellChannel {
  readonly stderr: EventEmitter;

  constructor(private readonly child: ChildProcess) {
    super();
    this.stderr = child.stderr!;
    child.stdout!.on('data', (d: Buffer) => this.emit('data', d));
    child.stdin!.on('error', () => undefined); // a write after the driver died: 'close' reports it
    child.on('error', (err) => this.emit('error', err));
    child.on('exit', (code, signal) => this.emit('exit', code, signal ?? undefined));
    child.on('close', () => this.emit('close'));
  }

  write(data: string | Buffer): boolean {
    return this.child.stdin!.write(data);
  }

  end(): void {
    this.child.stdin!.end();
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}

export interface LocalConnectorOptions {
  /** environment of every local sh (TMPDIR under the test's temp folder, say) */
  env?: NodeJS.ProcessEnv;
}

class LocalConnection implements Connection {
  readonly remoteHost = '127.0.0.1';
  readonly loginUser = userInfo().username;
  readonly closed: Promise<void>;
  #children = new Set<ChildProcess>();
  #dropped = false;
  #gone = false;
  #markClosed!: () => void;

  constructor(
    readonly host: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
  }

  #spawn(args: string[]): ChildProcess {
    if (this.#gone)
      throw new ConnectError(
        this.host,
        'dropped',
        `${this.host}: connection lost`,
        're-run to continue where it stopped',
      );
    const child = spawn(args[0]!, args.slice(1), { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.on('close', () => this.#children.delete(child));
    return child;
  }

  exec(command: string, opts: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = this.#spawn(['sh', '-c', command]);
      } catch (err) {
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new CommandError(
                `${this.host}: command timed out after ${opts.timeoutMs} ms`,
                'the host is slow or the command hangs',
              ),
            );
          }, opts.timeoutMs)
        : undefined;
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.stdin!.on('error', () => undefined);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === null && this.#dropped)
          return reject(
            new ConnectError(
              this.host,
              'dropped',
              `${this.host}: connection lost (a command)`,
              're-run to continue where it stopped',
            ),
          );
        resolve({ exitCode: code, signal, stdout, stderr, durationMs: performance.now() - started });
      });
      child.stdin!.end(opts.stdin ?? undefined);
    });
  }

  async openShell(opts: { become?: boolean } = {}): Promise<RemoteShell> {
    // become: through sudo unless this process is root already (as the tests are)
    const args =
      opts.become && process.getuid?.() !== 0 ? ['sudo', '-n', '--', 'sh', '-c', DRIVER] : ['sh', '-c', DRIVER];
    const child = this.#spawn(args);
    return RemoteShellClient.start(this.host, new ProcessChannel(child), () => this.#dropped);
  }

  forwardOut(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port }, () => resolve(socket));
      socket.once('error', (err) =>
        reject(
          new ConnectError(
            this.host,
            'refused',
            `${this.host}: cannot reach ${host}:${port} (${err.message})`,
            'is something listening there?',
            { cause: err },
          ),
        ),
      );
    });
  }

  /** The connection drops: every driver and command of it is killed at once. */
  drop(): void {
    this.#dropped = true;
    this.#end();
  }

  close(): void {
    this.#end();
  }

  #end(): void {
    this.#gone = true;
    for (const child of this.#children) child.kill('SIGKILL');
    this.#markClosed();
  }
}

export class LocalConnector implements Connector {
  /** every connection made, in order (the tests drop them) */
  readonly connections: LocalConnection[] = [];
  connects = 0;

  constructor(private readonly opts: LocalConnectorOptions = {}) {}

  async prepare(): Promise<void> {}

  async connect(hostName: string, signal?: AbortSignal): Promise<Connection> {
    if (signal?.aborted) throw new InterruptedError(`${hostName}: interrupted while connecting`);
    this.connects++;
    const conn = new LocalConnection(hostName, { ...process.env, ...this.opts.env });
    this.connections.push(conn);
    return conn;
  }

  /** Drops the newest connection to a host (as a network failure would). */
  drop(hostName: string): boolean {
    const conn = [...this.connections].reverse().find((c) => c.host === hostName);
    if (!conn) return false;
    conn.drop();
    return true;
  }
}
