// An apt-cacher-ng of our own on the host side of the droplets' bridge, so repeated
// provisioning runs do not download the same packages again. This machine has no
// systemd as PID 1, so it is started as a plain process (not a service), with a config
// dir of its own; its cache is Debian's usual /var/cache/apt-cacher-ng, kept across runs.
// It runs as the package's apt-cacher-ng user so the cache keeps the package's ownership.
import { spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { identify, isAlive, signalIfAlive, sleepSync, type ProcessId } from './host-exec.js';

const ACNG_BINARY = '/usr/sbin/apt-cacher-ng';
const ACNG_USER = 'apt-cacher-ng';
const CACHE_DIR = '/var/cache/apt-cacher-ng';
const RUN_DIR = '/var/cache/vps-provision/apt-cacher-ng';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export interface AptCacheProcess {
  proc: ProcessId;
  address: string;
  port: number;
}

/** True when the apt-cacher-ng package is installed on this machine. */
export function aptCacheAvailable(): boolean {
  return existsSync(ACNG_BINARY) && lookupUser(ACNG_USER) !== null;
}

/**
 * Starts apt-cacher-ng listening on address:port only, and waits (bounded) until it
 * listens. Synchronous because it runs inside the cross-process lock of host-state.
 */
export function startAptCacheSync(address: string, port: number): AptCacheProcess {
  const user = lookupUser(ACNG_USER);
  if (!user) throw new Error(`apt-cacher-ng: no user ${ACNG_USER} (is the package installed?)`);
  const confDir = writeConfig(address, port, user);
  const logFd = openSync(join(RUN_DIR, 'log', 'stdout.log'), 'a');
  try {
    const child = spawn(ACNG_BINARY, ['-c', confDir], {
      // detached: a Ctrl-C in the terminal must not hit it; we stop it ourselves by PID.
      detached: true,
      stdio: ['ignore', logFd, logFd],
      uid: user.uid,
      gid: user.gid,
    });
    child.unref(); // other test processes may still use it after this one ends
    const proc = child.pid !== undefined ? identify(child.pid) : null;
    if (!proc) throw new Error('apt-cacher-ng exited at once; see ' + join(RUN_DIR, 'log'));
    if (!waitListeningSync(address, port, proc, START_TIMEOUT_MS)) {
      stopAptCacheSync({ proc, address, port });
      throw new Error(`apt-cacher-ng did not listen on ${address}:${port} within ${START_TIMEOUT_MS} ms`);
    }
    return { proc, address, port };
  } finally {
    closeSync(logFd);
  }
}

/** SIGTERM, bounded wait, then SIGKILL. */
export function stopAptCacheSync(acng: AptCacheProcess): void {
  if (!signalIfAlive(acng.proc, 'SIGTERM')) return;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(acng.proc) && Date.now() < deadline) sleepSync(50);
  signalIfAlive(acng.proc, 'SIGKILL');
}

/** The apt.conf.d snippet that sends a droplet's Debian downloads through the cache. */
export function aptProxyConfig(acng: { address: string; port: number }): string {
  return [
    '// Written by the vps-provision fake-droplet harness: Debian downloads go through the',
    "// test machine's apt-cacher-ng; other hosts on the bridge (stand-in repos) directly.",
    `Acquire::http::Proxy "http://${acng.address}:${acng.port}/";`,
    `Acquire::http::Proxy::${acng.address} "DIRECT";`,
    '',
  ].join('\n');
}

function writeConfig(address: string, port: number, user: { uid: number; gid: number }): string {
  const confDir = join(RUN_DIR, 'conf');
  for (const dir of [confDir, join(RUN_DIR, 'log'), join(RUN_DIR, 'run')]) mkdirSync(dir, { recursive: true });
  chownSafe(join(RUN_DIR, 'log'), user);
  chownSafe(join(RUN_DIR, 'run'), user);
  if (!existsSync(CACHE_DIR)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    chownSafe(CACHE_DIR, user);
  }
  writeFileSync(join(confDir, 'backends_debian'), 'http://deb.debian.org/debian/\n');
  writeFileSync(
    join(confDir, 'acng.conf'),
    [
      `CacheDir: ${CACHE_DIR}`,
      `LogDir: ${join(RUN_DIR, 'log')}`,
      'SupportDir: /usr/lib/apt-cacher-ng',
      `Port: ${port}`,
      `BindAddress: ${address}`,
      `SocketPath: ${join(RUN_DIR, 'run', 'socket')}`,
      `PidFile: ${join(RUN_DIR, 'run', 'pid')}`,
      'ForeGround: 1',
      // Every Debian mirror name maps to one backend, so all droplets share one cache.
      'Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian # Debian Archives',
      'Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security cdn-fastly.deb.debian.org/debian-security ; deb.debian.org/debian-security security.debian.org',
      'ExThreshold: 4',
      'FollowIndexFileRemoval: 1',
      '',
    ].join('\n'),
  );
  return confDir;
}

function chownSafe(path: string, user: { uid: number; gid: number }): void {
  try {
    chownSync(path, user.uid, user.gid);
  } catch {
    // not fatal: apt-cacher-ng reports what it cannot write
  }
}

function lookupUser(name: string): { uid: number; gid: number } | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(name + ':'));
    if (!line) return null;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

/** Polls /proc/net/tcp (no extra process) until address:port is in LISTEN state. */
function waitListeningSync(address: string, port: number, proc: ProcessId, timeoutMs: number): boolean {
  const want = `${hexAddress(address)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(proc)) return false;
    const listening = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .some((line) => {
        const f = line.trim().split(/\s+/);
        return f[1] === want && f[3] === '0A';
      });
    if (listening) return true;
    sleepSync(100);
  }
  return false;
}

/** /proc/net/tcp writes IPv4 addresses as a little-endian 32-bit hex number. */
function hexAddress(address: string): string {
  return address
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .join('');
}
