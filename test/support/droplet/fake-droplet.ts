// Fake DigitalOcean droplets for integration tests: a Debian 13 rootfs booted with
// systemd-nspawn (systemd as PID 1) in a network namespace of its own, with its own
// address on the bridge 10.201.0.0/24 and sshd on port 22. See README.md beside this
// file and DESIGN §3. Host-side plumbing (bridge, NAT, leases, cleanup) is in host-state.ts.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptCacheAvailable, aptProxyConfig, type AptCacheProcess } from './apt-cache.js';
import {
  childrenOf,
  identify,
  isAlive,
  pidNamespaceOf,
  runOk,
  signalIfAlive,
  sleep,
  waitGone,
  type ProcessId,
} from './host-exec.js';
import {
  acquireDroplet,
  acquireAptCache,
  discardTree,
  killDropletProcesses,
  plugDroplet,
  purgeTrash,
  recordDropletProcess,
  releaseLease,
  removeNspawnLocks,
  unplugDroplet,
  waitForRemovals,
  type DropletLease,
} from './host-state.js';

export { HOST_ADDRESS, hostNetworkState } from './host-state.js';

const DEFAULT_BASE_DIR = '/var/tmp/vps-provision-droplets';
const BUILD_TIMEOUT_MS = 30 * 60_000;
const UNTAR_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_BOOT_TIMEOUT_MS = 60_000;
const POWEROFF_TIMEOUT_MS = 30_000;
const REMOVAL_WAIT_MS = 120_000;

/** The Debian releases a fake droplet can run: trixie (13, the default) and bookworm (12). */
export type DebianRelease = 'trixie' | 'bookworm';

export interface StartOptions {
  /** SSH public key (one authorized_keys line) allowed to log in as root. */
  authorizedKey: string;
  /** Debian release of the droplet's image; default trixie (Debian 13). */
  release?: DebianRelease;
  /** Droplets are named `<prefix>-<n>`; default "vpsprov". Lowercase letters, digits, '-'. */
  namePrefix?: string;
  /** NAT to Debian's mirror (tcp 80/443) and the host's resolvers (53); default true. */
  nat?: boolean;
  /** Send apt's http downloads through the shared apt-cacher-ng; default: when it is installed
   *  (and VPSPROV_APT_CACHE is not "0"). Without it, apt goes straight through the NAT. */
  aptCache?: boolean;
  /** Where rootfs folders go (`<baseDir>/<name>`); default /var/tmp/vps-provision-droplets. */
  baseDir?: string;
  /** How long to wait for sshd's banner after booting; default 60 s. */
  bootTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Told each droplet's address as soon as it is leased, before it boots (the API stand-in
   *  reports a droplet active with its address then, before its sshd answers, as DigitalOcean does). */
  onAddress?: (address: string) => void;
  /**
   * Come back after a reboot from inside (`systemctl reboot`), as a droplet does. systemd in
   * these containers does not always finish its shutdown here (it can stall once the user
   * sessions are gone), so besides nspawn's exit 133, sshd gone for 10 s while the droplet
   * is not being stopped counts as a reboot: the container is reset (its processes killed)
   * and booted again on the same rootfs. Default false.
   */
  rebootable?: boolean;
}

export interface FakeDroplet {
  name: string;
  address: string;
  sshPort: 22;
  /** "ssh-ed25519 AAAA..." (no comment): the droplet's own host key. */
  hostPublicKey: string;
  /** A known_hosts line for this droplet: "<address> <hostPublicKey>". */
  knownHostsLine: string;
  rootDir: string;
  /** PID of the systemd-nspawn process (a new one after each reboot). */
  readonly pid: number;
  /** reboots from inside the droplet (each boots the container again) */
  readonly reboots: number;
  /** The container's PID namespace ("pid:[...]"); no process in it is left after stop(). */
  pidNamespace: string | null;
  /** The apt proxy the droplet uses ("http://10.201.0.1:3149/"), or null when none. */
  aptProxy: string | null;
  /** The container's console output (boot messages). */
  consoleLog: string;
  timings: { untarMs: number; bootMs: number };
  /** Powers the droplet off and removes its namespace, processes and rootfs. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<FakeDroplet>();

/**
 * Builds the release's rootfs tarball if needed (see build-rootfs.sh) and returns its path.
 * A build downloads through the droplets' apt-cacher-ng when there is one (the network is
 * held up for it meanwhile), so a second image or a rebuild costs little.
 */
const rootfsPromises = new Map<DebianRelease, Promise<string>>();
function ensureRootfs(release: DebianRelease = 'trixie', log: (line: string) => void = () => {}): Promise<string> {
  let promise = rootfsPromises.get(release);
  if (!promise) {
    promise = (async () => {
      const script = buildScriptPath();
      const started = Date.now();
      // already built: no network needed (the script's fast path)
      let out = await runOk('bash', [script, release], {
        timeoutMs: BUILD_TIMEOUT_MS,
        env: { ...process.env, VPSPROV_ONLY_CACHED: '1' },
      }).catch(() => '');
      if (!out.trim()) {
        const cache = process.env.VPSPROV_APT_CACHE !== '0' && aptCacheAvailable() ? await acquireAptCache() : null;
        try {
          const proxy = cache?.aptCache ? `http://${cache.aptCache.address}:${cache.aptCache.port}` : '';
          out = await runOk('bash', [script, release], {
            timeoutMs: BUILD_TIMEOUT_MS,
            env: { ...process.env, VPSPROV_APT_PROXY: proxy },
          });
        } finally {
          if (cache) await releaseLease(cache.lease);
        }
      }
      const tarball = out.trim().split('\n').pop() ?? '';
      if (!tarball.endsWith('.tar.zst') || !existsSync(tarball))
        throw new Error(`build-rootfs.sh printed no tarball: ${out}`);
      log(`rootfs ${tarball} ready in ${Date.now() - started} ms`);
      return tarball;
    })();
    promise.catch(() => rootfsPromises.delete(release)); // a later call may retry
    rootfsPromises.set(release, promise);
  }
  return promise;
}

/** Boots `count` fake droplets in parallel; all of them or none (the started ones are stopped). */
export async function startDroplets(count: number, opts: StartOptions): Promise<FakeDroplet[]> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad droplet count: ${count}`);
  if (!/^(ssh|ecdsa)-\S+ \S+/.test(opts.authorizedKey.trim()))
    throw new Error('authorizedKey must be an SSH public key line');
  const log = opts.log ?? (() => {});
  const tarball = await ensureRootfs(opts.release ?? 'trixie', log);
  const baseDir = opts.baseDir ?? DEFAULT_BASE_DIR;
  purgeTrash(join(baseDir, '.trash')); // leftovers of earlier runs, in the background
  const results = await Promise.allSettled(Array.from({ length: count }, () => startOne(tarball, baseDir, opts, log)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((d) => d.stop()));
    throw failed.reason;
  }
  return started;
}

/** Stops every droplet this process started and waits (bounded) for their folders to go. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((d) => d.stop()));
  await waitForRemovals(REMOVAL_WAIT_MS);
}

// ---------------------------------------------------------------- one droplet

async function startOne(
  tarball: string,
  baseDir: string,
  opts: StartOptions,
  log: (l: string) => void,
): Promise<FakeDroplet> {
  const { lease, aptCache } = await acquireDroplet({
    prefix: opts.namePrefix ?? 'vpsprov',
    baseDir,
    nat: opts.nat ?? true,
    aptCache: opts.aptCache ?? (process.env.VPSPROV_APT_CACHE !== '0' && aptCacheAvailable()),
  });
  let nspawn: ProcessId | null = null;
  try {
    opts.onAddress?.(lease.address);
    const untarMs = await unpackRootfs(tarball, lease.rootDir);
    const hostPublicKey = await writeIdentity(lease, opts.authorizedKey, aptCache);
    plugDroplet(lease);
    const consoleLog = join(baseDir, `${lease.name}.console.log`);
    writeFileSync(consoleLog, ''); // each boot (a reboot too) appends to it
    const bootStart = Date.now();
    // a reboot inside the container ends systemd-nspawn with 133 (as systemd-nspawn@.service's
    // RestartForceExitStatus=133 knows): boot it again, as a droplet comes back after a reboot
    const bootAgain = () => {
      box.reboots++;
      box.seen = false;
      box.nspawn = bootContainer(lease, consoleLog, onExit);
      recordDropletProcess(lease, box.nspawn);
    };
    const onExit = (code: number | null) => {
      if (code !== 133 || box.stopping || !opts.rebootable) return;
      bootAgain();
    };
    nspawn = bootContainer(lease, consoleLog, onExit);
    const box: RebootBox = {
      nspawn,
      stopping: false,
      reboots: 0,
      seen: true,
      missingSince: 0,
      watcher: undefined,
      busy: false,
    };
    recordDropletProcess(lease, nspawn);
    if (opts.rebootable) {
      // bounded per tick (a 1.5 s banner read); stopped by stop()
      box.watcher = setInterval(() => {
        if (box.stopping || box.busy) return;
        box.busy = true;
        void readsSshBanner(lease.address, 22, 1_500)
          .then((up) => {
            if (box.stopping) return;
            if (up) {
              box.seen = true;
              box.missingSince = 0;
              return;
            }
            if (!box.seen) return; // booting: not up yet
            box.missingSince ||= Date.now();
            if (Date.now() - box.missingSince < 10_000) return;
            box.missingSince = 0;
            killDropletProcesses(lease); // a reset: everything in the container goes
            removeNspawnLocks(lease.rootDir);
            if (!box.stopping) bootAgain();
          })
          .finally(() => {
            box.busy = false;
          });
      }, 2_000);
      box.watcher.unref();
    }
    await waitForSshBanner(lease.address, nspawn, opts.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS, consoleLog);
    const bootMs = Date.now() - bootStart;
    const pidNamespace = containerPidNamespace(nspawn);
    recordDropletProcess(lease, nspawn, pidNamespace ?? undefined);
    log(`${lease.name} (${lease.address}) up: untar ${untarMs} ms, boot ${bootMs} ms`);
    const droplet = makeDroplet(lease, {
      hostPublicKey,
      box,
      pidNamespace,
      consoleLog,
      aptProxy: aptCache ? `http://${aptCache.address}:${aptCache.port}/` : null,
      timings: { untarMs, bootMs },
    });
    live.add(droplet);
    return droplet;
  } catch (err) {
    await teardown(lease, nspawn);
    throw err;
  }
}

interface RebootBox {
  nspawn: ProcessId;
  stopping: boolean;
  reboots: number;
  /** sshd answered since the last boot */
  seen: boolean;
  missingSince: number;
  watcher: NodeJS.Timeout | undefined;
  busy: boolean;
}

function makeDroplet(
  lease: DropletLease,
  d: Pick<FakeDroplet, 'hostPublicKey' | 'pidNamespace' | 'consoleLog' | 'aptProxy' | 'timings'> & { box: RebootBox },
): FakeDroplet {
  let stopping: Promise<void> | null = null;
  const droplet: FakeDroplet = {
    name: lease.name,
    address: lease.address,
    sshPort: 22,
    hostPublicKey: d.hostPublicKey,
    knownHostsLine: `${lease.address} ${d.hostPublicKey}`,
    rootDir: lease.rootDir,
    get pid() {
      return d.box.nspawn.pid;
    },
    get reboots() {
      return d.box.reboots;
    },
    pidNamespace: d.pidNamespace,
    aptProxy: d.aptProxy,
    consoleLog: d.consoleLog,
    timings: d.timings,
    stop: () => {
      d.box.stopping = true;
      clearInterval(d.box.watcher);
      stopping ??= teardown(lease, d.box.nspawn)
        .then(
          () => rmSync(d.consoleLog, { force: true }), // kept only when something went wrong
        )
        .finally(() => live.delete(droplet));
      return stopping;
    },
  };
  return droplet;
}

/** Untars the cached image into a fresh folder (an old one of that name goes to the trash). */
async function unpackRootfs(tarball: string, rootDir: string): Promise<number> {
  const started = Date.now();
  discardTree(rootDir);
  mkdirSync(rootDir, { recursive: true });
  await runOk(
    'tar',
    ['-I', 'zstd', '-xpf', tarball, '-C', rootDir, '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'],
    { timeoutMs: UNTAR_TIMEOUT_MS },
  );
  return Date.now() - started;
}

/**
 * What makes this droplet itself: its own host keys, hostname, root's authorized key,
 * the host's resolvers, and (optionally) the apt proxy. Returns the ed25519 host key.
 */
async function writeIdentity(
  lease: DropletLease,
  authorizedKey: string,
  aptCache: AptCacheProcess | null,
): Promise<string> {
  const root = lease.rootDir;
  await runOk('ssh-keygen', ['-A', '-f', root], { timeoutMs: 60_000 });
  const hostPublicKey = readFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  writeFileSync(join(root, 'etc/hostname'), `${lease.name}\n`);
  writeFileSync(
    join(root, 'etc/hosts'),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${lease.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  const sshDir = join(root, 'root/.ssh');
  mkdirSync(sshDir, { recursive: true });
  chmodSync(sshDir, 0o700);
  writeFileSync(join(sshDir, 'authorized_keys'), authorizedKey.trim() + '\n', { mode: 0o600 });
  copyFileSync('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
  if (aptCache) writeFileSync(join(root, 'etc/apt/apt.conf.d/00vpsprov-proxy'), aptProxyConfig(aptCache));
  return hostPublicKey;
}

/** Starts systemd-nspawn booting the container inside the droplet's network namespace. */
function bootContainer(lease: DropletLease, consoleLog: string, onExit: (code: number | null) => void): ProcessId {
  const logFd = openSync(consoleLog, 'a');
  try {
    const child = spawn(
      'systemd-nspawn',
      [
        '-q',
        '-D',
        lease.rootDir,
        '-M',
        lease.name,
        '-b',
        `--network-namespace-path=/run/netns/${lease.name}`,
        // the droplet's own firewall (ufw: iptables/nftables) needs it; it acts on the droplet's netns only
        '--capability=CAP_NET_ADMIN',
        '--register=no', // no systemd-machined on this host
        '--keep-unit', // no systemd as PID 1 on this host to make a scope unit
        '--console=passive',
      ],
      // detached: a Ctrl-C in the terminal must not reach it; stop() powers it off instead.
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
    child.on('error', () => {}); // reported through the banner wait (process gone)
    child.on('exit', (code) => onExit(code));
    child.unref(); // a droplet never keeps the test process alive; exit handlers clean up
    const proc = child.pid !== undefined ? identify(child.pid) : null;
    if (!proc) throw new Error(`systemd-nspawn did not start; see ${consoleLog}`);
    return proc;
  } finally {
    closeSync(logFd);
  }
}

/** Waits (bounded) until sshd on address:22 sends its "SSH-2.0-..." banner. */
async function waitForSshBanner(
  address: string,
  nspawn: ProcessId,
  timeoutMs: number,
  consoleLog: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(nspawn)) throw new Error(`${address}: systemd-nspawn exited during boot:\n${tail(consoleLog)}`);
    if (await readsSshBanner(address, 22, 2_000)) return;
    await sleep(200);
  }
  throw new Error(`${address}: no SSH banner within ${timeoutMs} ms:\n${tail(consoleLog)}`);
}

function readsSshBanner(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) done(data.startsWith('SSH-'));
    });
    socket.on('close', () => done(false));
  });
}

/** The container's PID 1 is nspawn's child; its PID namespace identifies all its processes. */
function containerPidNamespace(nspawn: ProcessId): string | null {
  const mine = pidNamespaceOf(process.pid);
  for (const child of childrenOf(nspawn.pid)) {
    const ns = pidNamespaceOf(child);
    if (ns && ns !== mine) return ns;
  }
  return null;
}

/** Power off (SIGTERM to nspawn, bounded), then remove whatever is left, then release. */
async function teardown(lease: DropletLease, nspawn: ProcessId | null): Promise<void> {
  if (nspawn && signalIfAlive(nspawn, 'SIGTERM')) await waitGone(nspawn, POWEROFF_TIMEOUT_MS);
  killDropletProcesses(lease);
  unplugDroplet(lease);
  try {
    discardTree(lease.rootDir);
  } finally {
    await releaseLease(lease);
  }
}

// ---------------------------------------------------------------- helpers

/** build-rootfs.sh lives in the source tree; this module may run from dist/. */
function buildScriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'test/support/droplet/build-rootfs.sh');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find test/support/droplet/build-rootfs.sh above ' + fileURLToPath(import.meta.url));
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}
