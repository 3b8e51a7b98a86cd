// Real OpenSSH sshd processes on 127.0.0.1 for tests, the demo and the benchmark:
// throwaway host keys, client keys and config in a temp dir, random ports.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// OpenSSH's server; VPS_PROVISION_SSHD points elsewhere (a test proves the demo's message without one)
const SSHD = process.env.VPS_PROVISION_SSHD || '/usr/sbin/sshd';

/** Why sshd targets cannot be started here (OpenSSH server or client missing), with the fix; undefined when they can. */
export function opensshMissing(): string | undefined {
  if (!existsSync(SSHD))
    return `OpenSSH's server is not installed (${SSHD} not found): install it with "sudo apt-get install openssh-server" (Debian/Ubuntu), then try again`;
  const inPath = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'ssh-keygen')));
  if (!inPath)
    return 'ssh-keygen is not installed: install it with "sudo apt-get install openssh-client" (Debian/Ubuntu), then try again';
  return undefined;
}

export interface ClientKey {
  privateKeyPath: string;
  publicKey: string;
}

/** An ed25519 key pair made now, without passphrase (or with one when asked). */
export function makeClientKey(dir: string, name = 'id_ed25519', passphrase = ''): ClientKey {
  const privateKeyPath = join(dir, name);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    passphrase,
    '-C',
    'vps-provision-test',
    '-f',
    privateKeyPath,
  ]);
  return { privateKeyPath, publicKey: readFileSync(`${privateKeyPath}.pub`, 'utf8').trim() };
}

export interface LocalSshd {
  host: '127.0.0.1';
  port: number;
  dir: string;
  pid: number;
  /** "ssh-ed25519 AAAA..." of this sshd's (first) host key */
  hostPublicKey: string;
  /** A known_hosts line for this sshd's (first) host key ([127.0.0.1]:port form). */
  knownHostsLine: string;
  /** The known_hosts line of its host key of one type. */
  knownHostsLineFor(type: HostKeyType): string;
  /** Replace the host key (a "reinstalled droplet"); takes effect on restart(). */
  rotateHostKey(): void;
  /** Stop and start again on the same port (a dropped connection / reboot). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export type HostKeyType = 'ed25519' | 'rsa' | 'ecdsa';

export interface SshdOptions {
  /** Host key types, in sshd's HostKey order (default: ed25519 only). */
  hostKeyTypes?: HostKeyType[];
  /** Public keys allowed to log in (as the user running the tests). */
  authorizedKeys: string[];
  /** Extra sshd_config lines (e.g. "MaxSessions 20"). */
  extraConfig?: string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when the port answers with an SSH banner; bounded. */
async function waitForBanner(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        resolve(false);
      }, 1000);
      sock.once('data', (d) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      sock.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on ${host}:${port} did not answer within ${timeoutMs} ms`);
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startSshd(opts: SshdOptions): Promise<LocalSshd> {
  // sshd refuses to start without its privilege separation directory
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'vps-sshd-'));
  const types = opts.hostKeyTypes ?? ['ed25519'];
  const keyPath = (type: HostKeyType) => join(dir, `ssh_host_${type}_key`);
  const makeHostKey = () => {
    for (const type of types) {
      rmSync(keyPath(type), { force: true });
      rmSync(`${keyPath(type)}.pub`, { force: true });
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        type,
        ...(type === 'rsa' ? ['-b', '2048'] : []),
        '-N',
        '',
        '-f',
        keyPath(type),
      ]);
    }
  };
  makeHostKey();
  writeFileSync(join(dir, 'authorized_keys'), opts.authorizedKeys.join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    ...types.map((type) => `HostKey ${keyPath(type)}`),
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    ...(opts.extraConfig ?? []),
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');

  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${stderr.trim()}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForBanner('127.0.0.1', port), exited]);
  };
  const stopChild = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      c.once('exit', () => {
        clearTimeout(timer);
        live.delete(c);
        resolve();
      });
      c.kill('SIGTERM');
    });
  };
  await start();
  const hostPub = (type = types[0]!) =>
    readFileSync(`${keyPath(type)}.pub`, 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
  const sshd: LocalSshd = {
    host: '127.0.0.1',
    port,
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    get hostPublicKey() {
      return hostPub();
    },
    get knownHostsLine() {
      return `[127.0.0.1]:${port} ${hostPub()}`;
    },
    knownHostsLineFor: (type) => `[127.0.0.1]:${port} ${hostPub(type)}`,
    rotateHostKey: makeHostKey,
    async restart() {
      await stopChild();
      await start();
    },
    async stop() {
      await stopChild();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

/** Several sshds standing for a fleet, all trusting the same client key. */
export async function startFleet(count: number, opts: SshdOptions): Promise<LocalSshd[]> {
  const fleet: LocalSshd[] = [];
  try {
    for (let i = 0; i < count; i++) fleet.push(await startSshd(opts));
  } catch (err) {
    await Promise.all(fleet.map((s) => s.stop()));
    throw err;
  }
  return fleet;
}
