// Everything the fake-droplet harness changes on the test machine, in one place:
// the bridge 10.201.0.1/24, one network namespace + veth per droplet, IP forwarding,
// the nft table `vpsprov_test`, the apt-cacher-ng process and the rootfs trash.
//
// Several test processes (jest workers, scripts) may use fake droplets at the same time,
// so the shared pieces are reference-counted through lease files under
// /run/vps-provision-droplets/leases, guarded by a lock directory. A lease records its
// owner process (PID + start time); a lease whose owner has died is "stale" and is
// cleaned up by the next process that takes the lock. The shared pieces are removed when
// the last lease is released. Everything here is synchronous: the work is a handful of
// short `ip`/`nft` calls, and the same code must run from a process 'exit' handler.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { aptCacheAvailable, startAptCacheSync, stopAptCacheSync, type AptCacheProcess } from './apt-cache.js';
import {
  identify,
  isAlive,
  pidsInPidNamespace,
  runSyncOk,
  runSyncQuiet,
  signalIfAlive,
  sleep,
  sleepSync,
  type ProcessId,
} from './host-exec.js';

const BRIDGE = 'vpsprov0';
const SUBNET_PREFIX = '10.201.0';
export const HOST_ADDRESS = `${SUBNET_PREFIX}.1`;
const SUBNET_CIDR = `${SUBNET_PREFIX}.0/24`;
const NFT_TABLE = 'vpsprov_test';
const ACNG_PORT = Number(process.env.VPSPROV_ACNG_PORT ?? 3149);

const STATE_DIR = process.env.VPSPROV_STATE_DIR ?? '/run/vps-provision-droplets';
const LEASE_DIR = join(STATE_DIR, 'leases');
const LOCK_DIR = join(STATE_DIR, 'lock');
const NETWORK_FILE = join(STATE_DIR, 'network.json');
const LOCK_TIMEOUT_MS = 60_000;
const FIRST_HOST_OCTET = 10;
const LAST_HOST_OCTET = 250;
/** Names apt inside a droplet may reach through the NAT (tcp 80/443). */
const MIRROR_HOSTS = ['deb.debian.org', 'security.debian.org'];

const self: ProcessId = identify(process.pid)!;

export interface DropletLease {
  kind: 'droplet';
  id: string;
  owner: ProcessId;
  name: string;
  address: string;
  hostVeth: string;
  rootDir: string;
  nat: boolean;
  nspawn?: ProcessId;
  pidNamespace?: string;
}

export interface ServiceLease {
  kind: 'service';
  id: string;
  owner: ProcessId;
  tcpPort: number;
}

type Lease = DropletLease | ServiceLease;

interface NetworkState {
  ipForwardBefore: string;
  aptCache: AptCacheProcess | null;
}

/** Leases held by this process, released by the exit handler if the caller did not. */
const held = new Map<string, Lease>();

// ---------------------------------------------------------------- public API

/**
 * Reserves a name and an address for a new droplet, bringing up the shared network
 * (bridge, forwarding, firewall, apt cache) if it is not up yet.
 */
export async function acquireDroplet(req: {
  prefix: string;
  baseDir: string;
  nat: boolean;
  aptCache: boolean;
}): Promise<{ lease: DropletLease; aptCache: AptCacheProcess | null }> {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(req.prefix)) throw new Error(`bad droplet name prefix: ${req.prefix}`);
  return withLock(() => {
    reapStaleLeases();
    const net = ensureNetwork(req.aptCache);
    const leases = readLeases();
    const octet = freeOctet(leases);
    const name = freeName(req.prefix, leases);
    const lease: DropletLease = {
      kind: 'droplet',
      id: name,
      owner: self,
      name,
      address: `${SUBNET_PREFIX}.${octet}`,
      hostVeth: `vpsd${octet}`,
      rootDir: join(req.baseDir, name),
      nat: req.nat,
    };
    writeLease(lease);
    syncFirewall([...leases, lease], net);
    return { lease, aptCache: net.aptCache };
  });
}

/**
 * Holds the network up for a server on the host side of the bridge (without a port yet,
 * so the server can bind 10.201.0.1 first); see setServicePort.
 */
export async function acquireService(): Promise<ServiceLease> {
  return withLock(() => {
    reapStaleLeases();
    const net = ensureNetwork(false);
    const lease: ServiceLease = { kind: 'service', id: `service-${self.pid}-${Date.now()}`, owner: self, tcpPort: 0 };
    writeLease(lease);
    syncFirewall(readLeases(), net);
    return lease;
  });
}

/**
 * Holds the network and the apt cache up while a rootfs is built on this machine (its
 * downloads go through the cache too); released like any lease.
 */
export async function acquireAptCache(): Promise<{ lease: ServiceLease; aptCache: AptCacheProcess | null }> {
  return withLock(() => {
    reapStaleLeases();
    const net = ensureNetwork(true);
    const lease: ServiceLease = { kind: 'service', id: `service-${self.pid}-${Date.now()}`, owner: self, tcpPort: 0 };
    writeLease(lease);
    syncFirewall(readLeases(), net);
    return { lease, aptCache: net.aptCache };
  });
}

/** Lets the droplets connect to a host TCP port (our firewall drops everything else). */
export async function setServicePort(lease: ServiceLease, tcpPort: number): Promise<void> {
  await withLock(() => {
    lease.tcpPort = tcpPort;
    writeLease(lease);
    const net = readNetworkState();
    if (net) syncFirewall(readLeases(), net);
  });
}

/** Records the booted container's processes in its lease (for cleanup by anyone). */
export function recordDropletProcess(lease: DropletLease, nspawn: ProcessId, pidNamespace?: string): void {
  lease.nspawn = nspawn;
  if (pidNamespace) lease.pidNamespace = pidNamespace;
  writeLease(lease);
}

/** Releases a lease; the last release tears down the shared network. */
export async function releaseLease(lease: Lease): Promise<void> {
  await withLock(() => releaseLocked(lease));
}

/** Creates the droplet's network namespace, plugged into the bridge with its address. */
export function plugDroplet(lease: DropletLease): void {
  const { name, hostVeth, address } = lease;
  if (existsSync(`/sys/class/net/${hostVeth}`)) runSyncQuiet('ip', ['link', 'del', hostVeth]);
  if (existsSync(`/run/netns/${name}`)) runSyncQuiet('ip', ['netns', 'del', name]);
  runSyncOk('ip', ['netns', 'add', name]);
  runSyncOk('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
  runSyncOk('ip', ['link', 'set', hostVeth, 'master', BRIDGE, 'up']);
  runSyncOk('ip', ['-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  runSyncOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  runSyncOk('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
  runSyncOk('ip', ['-n', name, 'route', 'add', 'default', 'via', HOST_ADDRESS]);
}

/** SIGKILLs whatever is left of a droplet's processes (after a polite stop, or for a stale one). */
export function killDropletProcesses(lease: DropletLease): void {
  signalIfAlive(lease.nspawn, 'SIGKILL');
  const pids = new Set<number>();
  if (lease.pidNamespace) for (const pid of pidsInPidNamespace(lease.pidNamespace)) pids.add(pid);
  if (existsSync(`/run/netns/${lease.name}`)) {
    const out = tryRun('ip', ['netns', 'pids', lease.name]);
    for (const pid of out.split(/\s+/).filter(Boolean)) pids.add(Number(pid));
  }
  for (const pid of pids) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5_000;
  while (isAlive(lease.nspawn) && Date.now() < deadline) sleepSync(50);
}

/**
 * Removes the droplet's namespace and veth, and what a killed systemd-nspawn could not
 * remove itself: its lock files and its propagation folder. Call once nspawn is gone.
 */
export function unplugDroplet(lease: DropletLease): void {
  if (existsSync(`/run/netns/${lease.name}`)) runSyncQuiet('ip', ['netns', 'del', lease.name]);
  if (existsSync(`/sys/class/net/${lease.hostVeth}`)) runSyncQuiet('ip', ['link', 'del', lease.hostVeth]);
  removeNspawnLocks(lease.rootDir);
  // /run is not a tmpfs on this machine, so nspawn refuses to delete this (empty) folder.
  const propagate = `/run/systemd/nspawn/propagate/${lease.name}`;
  if (existsSync(propagate) && mountsUnder(propagate).length === 0) {
    try {
      rmdirSync(propagate);
    } catch {
      // not empty: leave it rather than delete anything we did not make
    }
  }
}

/** nspawn locks a rootfs with "<parent>/.#<name>.lck" and /run/systemd/nspawn/locks/inode-<dev>:<ino>. */
export function removeNspawnLocks(rootDir: string): void {
  rmSync(join(dirname(rootDir), `.#${basename(rootDir)}.lck`), { force: true });
  try {
    const st = statSync(rootDir);
    rmSync(`/run/systemd/nspawn/locks/inode-${st.dev}:${st.ino}`, { force: true });
  } catch {
    // no rootfs: nothing was locked
  }
}

/** What the network looks like now (for tests asserting a clean machine). */
export function hostNetworkState(): { bridge: boolean; nftTable: boolean; leases: number } {
  return {
    bridge: existsSync(`/sys/class/net/${BRIDGE}`),
    nftTable: runSyncQuiet('nft', ['list', 'table', 'ip', NFT_TABLE]),
    leases: existsSync(LEASE_DIR) ? readdirSync(LEASE_DIR).filter((f) => f.endsWith('.json')).length : 0,
  };
}

// ---------------------------------------------------------------- rootfs trash

const removals = new Map<string, { proc: ProcessId | null; done: Promise<void> }>();

/**
 * Moves a folder out of the way at once (a rename), so a new droplet can reuse the name,
 * and starts deleting it in the background: a provisioned rootfs (3-5 GB) takes a while.
 */
export function discardTree(dir: string): void {
  if (!existsSync(dir)) return;
  if (mountsUnder(dir).length > 0) throw new Error(`refusing to discard ${dir}: something is mounted inside`);
  const trash = join(dirname(dir), '.trash');
  mkdirSync(trash, { recursive: true });
  renameSync(dir, join(trash, `${basename(dir)}-${Date.now()}-${process.pid}`));
  purgeTrash(trash);
}

/** Deletes everything in a trash folder with one tracked `rm` process. */
export function purgeTrash(trash: string): void {
  if (!existsSync(trash) || removals.has(trash)) return;
  const entries = readdirSync(trash)
    .map((e) => join(trash, e))
    .filter((p) => mountsUnder(p).length === 0);
  if (entries.length === 0) return;
  // --one-file-system: never follow into anything mounted below (checked above, too).
  const child = spawn('rm', ['-rf', '--one-file-system', '--', ...entries], { stdio: 'ignore' });
  const proc = child.pid !== undefined ? identify(child.pid) : null;
  const done = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  }).finally(() => {
    removals.delete(trash);
    purgeTrash(trash); // anything trashed meanwhile
  });
  removals.set(trash, { proc, done });
}

/** Waits (bounded) for background deletions; returns whether they all finished. */
export async function waitForRemovals(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (removals.size > 0 && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([...[...removals.values()].map((r) => r.done), timeout]);
    clearTimeout(timer); // a pending timer would keep the process (and jest) alive
  }
  return removals.size === 0;
}

// ---------------------------------------------------------------- network setup / teardown

function ensureNetwork(wantAptCache: boolean): NetworkState {
  let net = readNetworkState();
  if (!net) {
    assertSubnetFree();
    net = { ipForwardBefore: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), aptCache: null };
    writeNetworkState(net); // before changing anything, so a crash can still be undone
  }
  if (!existsSync(`/sys/class/net/${BRIDGE}`)) {
    runSyncOk('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    runSyncOk('ip', ['addr', 'add', `${HOST_ADDRESS}/24`, 'dev', BRIDGE]);
    runSyncOk('ip', ['link', 'set', BRIDGE, 'up']);
  }
  // The droplets reach Debian's mirror through this host (NAT); the forward chain of our
  // table drops everything else, so turning forwarding on opens nothing more.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  if (net.aptCache && !isAlive(net.aptCache.proc)) net.aptCache = null;
  if (wantAptCache && !net.aptCache && aptCacheAvailable()) {
    try {
      net.aptCache = startAptCacheSync(HOST_ADDRESS, ACNG_PORT);
    } catch (err) {
      // The cache only saves downloads: droplets still reach the mirror through the NAT.
      process.stderr.write(`fake-droplet: running without apt-cacher-ng: ${(err as Error).message}\n`);
    }
  }
  writeNetworkState(net);
  return net;
}

function teardownNetwork(): void {
  const net = readNetworkState();
  if (net?.aptCache) stopAptCacheSync(net.aptCache);
  runSyncQuiet('nft', ['delete', 'table', 'ip', NFT_TABLE]);
  if (existsSync(`/sys/class/net/${BRIDGE}`)) runSyncQuiet('ip', ['link', 'del', BRIDGE]);
  if (net) writeFileSync('/proc/sys/net/ipv4/ip_forward', net.ipForwardBefore || '0');
  rmSync(NETWORK_FILE, { force: true });
}

/** Refuses to create our bridge if the subnet is already in use on this machine. */
function assertSubnetFree(): void {
  const out = tryRun('ip', ['-o', '-4', 'addr', 'show']);
  const clash = out.split('\n').find((l) => l.includes(` ${SUBNET_PREFIX}.`) && !l.includes(` ${BRIDGE} `));
  if (clash) throw new Error(`subnet ${SUBNET_CIDR} is already used on this machine: ${clash.trim()}`);
}

/**
 * (Re)writes our nft table from the current leases, atomically (one `nft -f` transaction):
 * droplets with NAT may reach Debian's mirror on tcp 80/443 and the host's resolvers on
 * port 53, nothing else; droplets may reach only the host ports leased for them.
 */
function syncFirewall(leases: Lease[], net: NetworkState): void {
  const droplets = leases.filter((l): l is DropletLease => l.kind === 'droplet');
  const natClients = droplets.filter((d) => d.nat).map((d) => d.address);
  const ports = leases
    .filter((l): l is ServiceLease => l.kind === 'service' && l.tcpPort > 0)
    .map((l) => String(l.tcpPort));
  if (net.aptCache) ports.push(String(net.aptCache.port));
  const mirrors = natClients.length > 0 ? resolveIpv4(MIRROR_HOSTS) : [];
  if (natClients.length > 0 && mirrors.length === 0) throw new Error(`cannot resolve ${MIRROR_HOSTS.join(', ')}`);
  const forwardingWasOff = net.ipForwardBefore === '0';
  const set = (name: string, type: string, elements: string[]) =>
    `  set ${name} { type ${type};${elements.length ? ` elements = { ${[...new Set(elements)].join(', ')} };` : ''} }`;
  const ruleset = [
    `add table ip ${NFT_TABLE}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    set('mirror', 'ipv4_addr', mirrors),
    set('dns', 'ipv4_addr', natClients.length > 0 ? hostResolvers() : []),
    set('nat_clients', 'ipv4_addr', natClients),
    set('host_tcp_ports', 'inet_service', ports),
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    oifname "${BRIDGE}" ct state established,related accept`,
    `    iifname "${BRIDGE}" ip saddr @nat_clients ip daddr @mirror tcp dport { 80, 443 } accept`,
    `    iifname "${BRIDGE}" ip saddr @nat_clients ip daddr @dns meta l4proto { tcp, udp } th dport 53 accept`,
    `    iifname "${BRIDGE}" drop`,
    `    oifname "${BRIDGE}" drop`,
    // Forwarding was off before we turned it on: keep it off for everything else.
    ...(forwardingWasOff ? ['    drop'] : []),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname "${BRIDGE}" ct state established,related accept`,
    `    iifname "${BRIDGE}" icmp type echo-request accept`,
    `    iifname "${BRIDGE}" tcp dport @host_tcp_ports accept`,
    `    iifname "${BRIDGE}" drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname != "${BRIDGE}" ip saddr ${SUBNET_CIDR} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
  runSyncOk('nft', ['-f', '-'], { input: ruleset });
}

function resolveIpv4(hosts: string[]): string[] {
  const addrs = new Set<string>();
  for (const host of hosts) {
    for (const line of tryRun('getent', ['ahostsv4', host], 10_000).split('\n')) {
      const addr = line.split(/\s+/)[0];
      if (addr && /^\d+\.\d+\.\d+\.\d+$/.test(addr)) addrs.add(addr);
    }
  }
  return [...addrs];
}

/** The IPv4 resolvers of /etc/resolv.conf (copied into the droplets); loopback ones are useless there. */
function hostResolvers(): string[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[0] === 'nameserver' && /^\d+\.\d+\.\d+\.\d+$/.test(f[1] ?? '') && !f[1]!.startsWith('127.'))
      .map((f) => f[1]!);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------- leases

function releaseLocked(lease: Lease): void {
  rmSync(leasePath(lease.id), { force: true });
  held.delete(lease.id);
  reapStaleLeases();
  const rest = readLeases();
  const net = readNetworkState();
  if (rest.length === 0) teardownNetwork();
  else if (net) syncFirewall(rest, net);
}

/** Cleans up after processes that died holding leases (crash, SIGKILL, jest timeout). */
function reapStaleLeases(): void {
  for (const lease of readLeases()) {
    if (isAlive(lease.owner)) continue;
    if (lease.kind === 'droplet') {
      killDropletProcesses(lease);
      unplugDroplet(lease);
      try {
        discardTree(lease.rootDir);
      } catch {
        // left for a human: something is mounted inside
      }
    }
    rmSync(leasePath(lease.id), { force: true });
  }
}

function readLeases(): Lease[] {
  if (!existsSync(LEASE_DIR)) return [];
  const leases: Lease[] = [];
  for (const file of readdirSync(LEASE_DIR).filter((f) => f.endsWith('.json'))) {
    try {
      leases.push(JSON.parse(readFileSync(join(LEASE_DIR, file), 'utf8')) as Lease);
    } catch {
      rmSync(join(LEASE_DIR, file), { force: true }); // half-written by a crashed process
    }
  }
  return leases;
}

function writeLease(lease: Lease): void {
  mkdirSync(LEASE_DIR, { recursive: true });
  const path = leasePath(lease.id);
  writeFileSync(path + '.tmp', JSON.stringify(lease));
  renameSync(path + '.tmp', path);
  held.set(lease.id, lease);
  installExitHandlers();
}

function leasePath(id: string): string {
  return join(LEASE_DIR, `${id}.json`);
}

function freeOctet(leases: Lease[]): number {
  const used = new Set(leases.filter((l): l is DropletLease => l.kind === 'droplet').map((l) => l.address));
  for (let o = FIRST_HOST_OCTET; o <= LAST_HOST_OCTET; o++) {
    if (!used.has(`${SUBNET_PREFIX}.${o}`)) return o;
  }
  throw new Error(`no free address left in ${SUBNET_CIDR}`);
}

function freeName(prefix: string, leases: Lease[]): string {
  const used = new Set(leases.filter((l): l is DropletLease => l.kind === 'droplet').map((l) => l.name));
  for (let i = 1; i <= LAST_HOST_OCTET; i++) {
    const name = `${prefix}-${i}`;
    if (!used.has(name) && !existsSync(`/run/netns/${name}`)) return name;
  }
  throw new Error(`no free droplet name with prefix ${prefix}`);
}

function readNetworkState(): NetworkState | null {
  try {
    return JSON.parse(readFileSync(NETWORK_FILE, 'utf8')) as NetworkState;
  } catch {
    return null;
  }
}

function writeNetworkState(net: NetworkState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(NETWORK_FILE + '.tmp', JSON.stringify(net));
  renameSync(NETWORK_FILE + '.tmp', NETWORK_FILE);
}

// ---------------------------------------------------------------- the lock

/** Runs fn holding the cross-process lock; waits for it (bounded) without blocking the event loop. */
async function withLock<T>(fn: () => T): Promise<T> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}`);
    await sleep(50);
  }
  try {
    return fn();
  } finally {
    unlock();
  }
}

function withLockSync<T>(fn: () => T): T {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}`);
    sleepSync(50);
  }
  try {
    return fn();
  } finally {
    unlock();
  }
}

function tryLock(): boolean {
  mkdirSync(STATE_DIR, { recursive: true });
  try {
    mkdirSync(LOCK_DIR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    breakStaleLock();
    return false;
  }
  writeFileSync(join(LOCK_DIR, 'owner'), JSON.stringify(self));
  return true;
}

function unlock(): void {
  rmSync(LOCK_DIR, { recursive: true, force: true });
}

/** A lock whose owner died (or that never got an owner written within 10 s) is broken. */
function breakStaleLock(): void {
  let owner: ProcessId | null = null;
  try {
    owner = JSON.parse(readFileSync(join(LOCK_DIR, 'owner'), 'utf8')) as ProcessId;
  } catch {
    try {
      if (Date.now() - statSync(LOCK_DIR).mtimeMs < 10_000) return;
    } catch {
      return; // released meanwhile
    }
  }
  if (owner && isAlive(owner)) return;
  rmSync(LOCK_DIR, { recursive: true, force: true });
}

// ---------------------------------------------------------------- exit handling

let exitHandlersInstalled = false;

/** On exit or a fatal signal, undo what this process still holds (synchronously). */
function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  process.once('exit', cleanupOnExit);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      cleanupOnExit();
      // Re-raise with the default action unless someone else also handles the signal.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** Synchronous last-resort cleanup: kill, unplug, discard and release everything held. */
function cleanupOnExit(): void {
  for (const { proc } of removals.values()) signalIfAlive(proc, 'SIGKILL'); // trash is purged next time
  removals.clear();
  if (held.size === 0) return;
  try {
    withLockSync(() => {
      for (const lease of [...held.values()]) {
        if (lease.kind === 'droplet') {
          killDropletProcesses(lease);
          unplugDroplet(lease);
          try {
            renameIntoTrash(lease.rootDir);
          } catch {
            // left in place; the next run discards it
          }
        }
        rmSync(leasePath(lease.id), { force: true });
        held.delete(lease.id);
      }
      if (readLeases().every((l) => !isAlive(l.owner))) {
        reapStaleLeases();
        teardownNetwork();
      }
    });
  } catch {
    // the lock timed out: the next process that takes it reaps our leases
  }
}

/** Like discardTree, but without starting a deletion (the process is exiting). */
function renameIntoTrash(dir: string): void {
  if (!existsSync(dir) || mountsUnder(dir).length > 0) return;
  const trash = join(dirname(dir), '.trash');
  mkdirSync(trash, { recursive: true });
  renameSync(dir, join(trash, `${basename(dir)}-${Date.now()}-${process.pid}`));
}

// ---------------------------------------------------------------- small helpers

function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((mp) => mp === dir || mp.startsWith(dir + '/'));
  } catch {
    return [];
  }
}

function tryRun(cmd: string, args: string[], timeoutMs = 10_000): string {
  try {
    return runSyncOk(cmd, args, { timeoutMs });
  } catch {
    return '';
  }
}
