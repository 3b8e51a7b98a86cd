// ssh2 implementation of the connector: one connection per host, TCP_NODELAY on,
// channels multiplexed on it; ProxyJump through bastions.
import { randomBytes } from 'node:crypto';
import type { Client, ConnectConfig, ClientChannel, AnyAuthMethod, ParsedKey } from 'ssh2';
import { ssh2 } from './ssh2-library.js';
import { createConnection } from 'node:net';
import { ConnectError, CommandError, InterruptedError, type ProvisionError, type ConnectFailure } from '../errors.js';
import { sh } from '../shell/sh.js';
import type { Secret } from '../shell/secret.js';
import type { Connection, ExecResult, RemoteShell } from './connection.js';
import { DRIVER } from './remote-shell-driver.js';
import { RemoteShellClient } from './remote-shell-client.js';

interface HostKeyCheck {
  (keyBlob: Buffer): { ok: true } | { ok: false; message: string; hint: string };
}

export interface SshTarget {
  /** Inventory name, for messages. */
  name: string;
  hostName: string;
  port: number;
  user: string;
  /** a key parsed once for the fleet (ParsedKey), or its file's bytes */
  privateKeys: { path: string; key: Buffer | string | ParsedKey; passphrase?: string }[];
  agent?: string;
  verifyHostKey: HostKeyCheck;
  /** the only host key algorithms to offer (those of the keys recorded for the host) */
  hostKeyAlgorithms?: string[];
  /** Bastions to go through first, outermost first (ProxyJump). */
  jumps?: SshTarget[];
  readyTimeoutMs?: number;
}

export async function openSsh2Connection(target: SshTarget, signal?: AbortSignal): Promise<Connection> {
  let sock: NodeJS.ReadableStream | undefined;
  const bastions: Client[] = [];
  try {
    // a fresh way in to the next hop: direct for the first, a tunnel through the last bastion after
    let reopen: () => Promise<NodeJS.ReadableStream | undefined> = async () => undefined;
    for (const jump of target.jumps ?? []) {
      const client = await handshake(jump, sock, signal, reopen);
      bastions.push(client);
      reopen = () =>
        new Promise<ClientChannel>((resolve, reject) =>
          client.forwardOut(
            '127.0.0.1',
            0,
            nextHop(target, jump).hostName,
            nextHop(target, jump).port,
            (err, stream) =>
              err
                ? reject(
                    new ConnectError(
                      target.name,
                      'unreachable',
                      `${jump.name}: cannot open a tunnel to ${target.hostName}:${target.port}: ${err.message}`,
                      'check the ProxyJump host can reach the target',
                    ),
                  )
                : resolve(stream),
          ),
        );
      sock = await reopen();
    }
    const client = await handshake(target, sock, signal, reopen);
    return new Ssh2Connection(target, client, bastions);
  } catch (err) {
    bastions.forEach((b) => b.end());
    throw err;
  }
}

function nextHop(target: SshTarget, jump: SshTarget): SshTarget {
  const jumps = target.jumps ?? [];
  const i = jumps.indexOf(jump);
  return jumps[i + 1] ?? target;
}

/** What arrived on the socket before the SSH handshake, for "no SSH banner" reasons. */
interface BannerWatch {
  bytes: number;
  ident: boolean;
}

function watchBanner(sock: NodeJS.ReadableStream): BannerWatch {
  const w: BannerWatch = { bytes: 0, ident: false };
  let head = '';
  const onData = (d: Buffer) => {
    w.bytes += d.length;
    if (head.length < 8192) head += d.toString('latin1', 0, Math.min(d.length, 8192));
    if (/(^|\n)SSH-/.test(head)) {
      w.ident = true;
      sock.off('data', onData);
    }
  };
  // attached before ssh2 pauses the socket (Client.connect does so synchronously):
  // both listeners see every chunk once ssh2 resumes it
  sock.on('data', onData);
  return w;
}

function handshake(
  t: SshTarget,
  via: NodeJS.ReadableStream | undefined,
  signal: AbortSignal | undefined,
  reopen: () => Promise<NodeJS.ReadableStream | undefined>,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError());
    const client = new (ssh2().Client)();
    let hostKeyRefusal: { message: string; hint: string } | undefined;
    const keys = [...t.privateKeys];
    let agentTried = !t.agent;
    const timeoutMs = t.readyTimeoutMs ?? 20_000;
    // our own socket when going direct, so the bytes before the handshake can be watched
    const sock = via ?? createConnection({ host: t.hostName, port: t.port });
    const banner = watchBanner(sock);
    const cfg: ConnectConfig = {
      host: t.hostName,
      port: t.port,
      username: t.user,
      sock: sock as ConnectConfig['sock'],
      readyTimeout: timeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      ...(t.hostKeyAlgorithms
        ? {
            algorithms: {
              serverHostKey: t.hostKeyAlgorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'],
            },
          }
        : {}),
      hostVerifier: (key: Buffer) => {
        const v = t.verifyHostKey(key);
        if (!v.ok) hostKeyRefusal = v;
        return v.ok;
      },
      // offer the agent first, then each key file, like OpenSSH
      authHandler: (_methods, _partial, next) => {
        if (!agentTried) {
          agentTried = true;
          return next({ type: 'agent', username: t.user, agent: t.agent! } as AnyAuthMethod);
        }
        const k = keys.shift();
        if (!k) return next(false as unknown as AnyAuthMethod);
        return next({ type: 'publickey', username: t.user, key: k.key, passphrase: k.passphrase } as AnyAuthMethod);
      },
    };
    let settled = false;
    const onAbort = () => fail(new InterruptedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (err: ProvisionError) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.end();
      (sock as { destroy?: () => void }).destroy?.();
      reject(err);
    };
    // ssh2 may emit several 'error' events for one failure (a timeout, then "Connection
    // lost before handshake" when it destroys the socket): every one is handled, the first counts
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (hostKeyRefusal)
        return fail(new ConnectError(t.name, 'host-key', hostKeyRefusal.message, hostKeyRefusal.hint, { cause: err }));
      if (!settled && t.hostKeyAlgorithms && /no matching host key/i.test(err.message)) {
        // the host has none of the recorded key types: learn which key it has, to refuse it by name
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        client.end();
        (sock as { destroy?: () => void }).destroy?.();
        refuseOtherHostKey(t, reopen, err).then(reject, reject);
        return;
      }
      const [reason, message, hint] = classify(t, err, banner, timeoutMs);
      fail(new ConnectError(t.name, reason, message, hint, { cause: err }));
    });
    // a connection cut during the handshake may close without an error
    client.on('close', () =>
      fail(
        new ConnectError(
          t.name,
          'dropped',
          `${where(t)}: connection closed during the SSH handshake`,
          'the host or the network dropped it; it is retried',
        ),
      ),
    );
    client.once('ready', () => {
      if (settled) return void client.end();
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(client);
    });
    client.connect(cfg);
    // ssh2 leaves Nagle on: every exchange would wait ~40 ms for a delayed ACK
    client.setNoDelay(true);
  });
}

/**
 * A host that has none of the recorded key types: connect once more offering every type,
 * only to read the key it presents (refused before any authentication), so the refusal
 * names both keys as for any changed key.
 */
async function refuseOtherHostKey(
  t: SshTarget,
  reopen: () => Promise<NodeJS.ReadableStream | undefined>,
  cause: Error,
): Promise<ConnectError> {
  const offered = await probeHostKey(t, reopen).catch(() => undefined);
  const verdict = offered ? t.verifyHostKey(offered) : undefined;
  if (verdict && !verdict.ok) return new ConnectError(t.name, 'host-key', verdict.message, verdict.hint, { cause });
  return new ConnectError(
    t.name,
    'host-key',
    `${t.name} (${t.hostName}:${t.port}): REMOTE HOST IDENTIFICATION HAS CHANGED: the host offers none of the recorded host key types (${t.hostKeyAlgorithms!.join(', ')})`,
    "the droplet was rebuilt or someone is in between; check its host key on the provider's console, then remove the old entry with ssh-keygen -R",
    { cause },
  );
}

function probeHostKey(
  t: SshTarget,
  reopen: () => Promise<NodeJS.ReadableStream | undefined>,
): Promise<Buffer | undefined> {
  return reopen().then(
    (sock) =>
      new Promise((resolve) => {
        const client = new (ssh2().Client)();
        let key: Buffer | undefined;
        const done = () => {
          client.end();
          resolve(key);
        };
        client.on('error', done);
        client.once('close', done);
        client.once('ready', done); // not reached: the key is always refused below
        client.connect({
          host: t.hostName,
          port: t.port,
          username: t.user,
          sock: sock as ConnectConfig['sock'],
          readyTimeout: t.readyTimeoutMs ?? 20_000,
          hostVerifier: (k: Buffer) => {
            key = k;
            return false;
          },
        });
      }),
  );
}

const where = (t: SshTarget) => `${t.name} (${t.user}@${t.hostName}:${t.port})`;

// ssh2's messages for an identification line it cannot read
const NOT_SSH = /identification string|greeting lines|header line too long|invalid header/i;

function classify(
  t: SshTarget,
  err: Error & { level?: string; code?: string },
  banner: BannerWatch,
  timeoutMs: number,
): [ConnectFailure, string, string] {
  const where = `${t.name} (${t.user}@${t.hostName}:${t.port})`;
  const s = Math.round(timeoutMs / 1000);
  if (err.level === 'client-authentication') {
    const tried =
      [t.agent ? 'ssh-agent' : '', ...t.privateKeys.map((k) => k.path)].filter(Boolean).join(', ') || 'no key';
    return [
      'auth',
      `${where}: authentication refused (tried ${tried})`,
      'check the user and that your public key is in its ~/.ssh/authorized_keys',
    ];
  }
  if (err.level === 'client-timeout' && !banner.ident && banner.bytes === 0 && err.message.includes('handshake')) {
    return [
      'timeout',
      `${where}: no SSH banner within ${s} s (the port accepts connections but sends nothing)`,
      'is this the SSH port? check the port in the inventory or ~/.ssh/config',
    ];
  }
  if (err.level === 'client-timeout' && !banner.ident && err.message.includes('handshake')) {
    return [
      'timeout',
      `${where}: no SSH banner within ${s} s (received ${banner.bytes} bytes that are not an SSH banner)`,
      'is this the SSH port? check the port in the inventory or ~/.ssh/config',
    ];
  }
  if (NOT_SSH.test(err.message))
    return [
      'other',
      `${where}: not an SSH server (${err.message})`,
      'is this the SSH port? check the port in the inventory or ~/.ssh/config',
    ];
  if (/lost before handshake/i.test(err.message))
    return [
      'other',
      `${where}: closed the connection before sending an SSH banner`,
      'is sshd healthy there? (MaxStartups, tcp wrappers or a firewall can cut connections)',
    ];
  if (err.level === 'client-timeout' && banner.ident)
    return [
      'timeout',
      `${where}: the SSH handshake did not finish within ${s} s`,
      'the host or the network is very slow; raise ConnectTimeout in ~/.ssh/config',
    ];
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT')
    return ['timeout', `${where}: timed out connecting`, 'check the address and that port is open (firewall)'];
  // a connection reset or cut mid-handshake is a drop like any other: tried again
  // a reset before any banner byte is a host closing on us (our own banner still unread), not a handshake cut short
  if ((err.code === 'ECONNRESET' || err.code === 'EPIPE') && !banner.ident && banner.bytes === 0) {
    return [
      'dropped',
      `${where}: closed the connection before sending an SSH banner (connection reset)`,
      'is sshd healthy there? (MaxStartups, tcp wrappers or a firewall can cut connections); it is retried',
    ];
  }
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE')
    return [
      'dropped',
      `${where}: connection reset during the SSH handshake`,
      'the host or the network dropped it; it is retried',
    ];
  if (err.code === 'ECONNREFUSED')
    return ['refused', `${where}: connection refused`, 'is sshd running and listening on that port?'];
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
    return ['unreachable', `${where}: host name not found`, 'check the address in the inventory or ~/.ssh/config'];
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH')
    return ['unreachable', `${where}: host unreachable`, 'check the address and your network'];
  return ['other', `${where}: ${err.message}`, 'run again with --verbose for details'];
}

class Ssh2Connection implements Connection {
  readonly closed: Promise<void>;
  #dropped = false;
  constructor(
    private readonly target: SshTarget,
    private readonly client: Client,
    bastions: Client[],
  ) {
    this.closed = new Promise((resolve) =>
      client.once('close', () => {
        this.#dropped = true;
        bastions.forEach((b) => b.end());
        resolve();
      }),
    );
  }

  get host(): string {
    return this.target.name;
  }

  get remoteHost(): string {
    return this.target.hostName;
  }

  get loginUser(): string {
    return this.target.user;
  }

  #dropError(what: string, cause?: unknown): ConnectError {
    return new ConnectError(
      this.target.name,
      'dropped',
      `${this.target.name}: connection lost during ${what}`,
      'the host may have rebooted or the network dropped; re-run to continue',
      { cause },
    );
  }

  #channel(command: string): Promise<ClientChannel> {
    if (this.#dropped) return Promise.reject(this.#dropError(command.slice(0, 40)));
    return new Promise((resolve, reject) =>
      this.client.exec(command, (err, ch) => (err ? reject(this.#dropError('opening a channel', err)) : resolve(ch))),
    );
  }

  async exec(command: string, opts: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
    const started = performance.now();
    const ch = await this.#channel(command);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let exitCode: number | null = null;
      let signal: string | null = null;
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            ch.close();
            reject(
              new CommandError(
                `${this.target.name}: command timed out after ${opts.timeoutMs} ms`,
                'the host is slow or the command hangs',
              ),
            );
          }, opts.timeoutMs)
        : undefined;
      // a channel torn down by the host may emit 'error'; 'close' still follows and settles
      ch.on('error', () => undefined);
      ch.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      ch.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      ch.on('exit', (code: number | null, sig?: string) => {
        exitCode = code ?? null;
        signal = sig ?? null;
      });
      ch.on('close', () => {
        clearTimeout(timer);
        if (exitCode === null && signal === null && this.#dropped) return reject(this.#dropError('a command'));
        resolve({ exitCode, signal, stdout, stderr, durationMs: performance.now() - started });
      });
      ch.end(opts.stdin ?? undefined);
    });
  }

  async openShell(opts: { become?: boolean; sudoPassword?: Secret } = {}): Promise<RemoteShell> {
    const driver = sh`sh -c ${DRIVER}`;
    // The password goes to sudo only when sudo asks for it, recognised by a prompt made for
    // this shell alone: with NOPASSWD, a cached timestamp or a root login sudo asks nothing,
    // and a password sent anyway would be read by the driver as the start of a script.
    const sudo =
      opts.become && opts.sudoPassword
        ? { prompt: `[vps-provision sudo ${randomBytes(12).toString('hex')}]`, password: opts.sudoPassword }
        : undefined;
    const command = !opts.become
      ? sh`exec ${driver}`
      : sudo
        ? sh`exec sudo -S -p ${sudo.prompt} -- ${driver}`
        : sh`exec sudo -n -- ${driver}`;
    const ch = await this.#channel(command.text);
    return RemoteShellClient.start(this.target.name, ch, () => this.#dropped, sudo);
  }

  forwardOut(host: string, port: number): Promise<ClientChannel> {
    if (this.#dropped) return Promise.reject(this.#dropError(`a tunnel to ${host}:${port}`));
    return new Promise((resolve, reject) =>
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) =>
        err
          ? reject(
              new ConnectError(
                this.target.name,
                'refused',
                `${this.target.name}: the SSH server would not open a tunnel to ${host}:${port} (${err.message})`,
                'is something listening there, and does sshd allow TCP forwarding (AllowTcpForwarding)?',
                { cause: err },
              ),
            )
          : resolve(stream),
      ),
    );
  }

  close(): void {
    this.client.end();
  }
}
