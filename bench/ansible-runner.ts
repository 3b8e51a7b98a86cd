// Runs the Ansible side of the speed comparison: installs Debian's ansible-core when missing,
// writes an ansible.cfg tuned the way an Ansible user would tune it for speed (pipelining,
// ControlMaster/ControlPersist, no fact gathering, forks = hosts), runs ansible-playbook and
// parses the PLAY RECAP. ansible-core ships no json stdout callback (that one lives in the
// ansible.posix collection), so the default callback's recap is what we parse.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onProcessEnd } from './process-cleanup.js';

/** Debian's own binaries first: root's PATH here starts with pyenv shims. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  wallMs: number;
}

/**
 * Runs a command with a hard time limit. It is started in its own process group so that on
 * timeout the group (ansible's forks and their ssh children) is killed by that group's id.
 */
export function runBounded(
  cmd: string,
  args: string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d) => {
      stderr += d.toString();
    });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    // The group is detached from our terminal, so a bench that ends early must kill it.
    const untrack = onProcessEnd(() => killGroup('SIGKILL'));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 3000).unref();
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      untrack();
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      untrack();
      resolve({ code, signal, stdout, stderr, timedOut, wallMs: performance.now() - t0 });
    });
  });
}

async function ansibleVersion(): Promise<string | undefined> {
  try {
    const r = await runBounded('ansible-playbook', ['--version'], {
      timeoutMs: 30_000,
      env: { ...process.env, PATH: SYSTEM_PATH },
    });
    if (r.code !== 0) return undefined;
    // "ansible-playbook [core 2.14.18]"
    const m = /core ([0-9][^\]\s]*)/.exec(r.stdout);
    return m?.[1] ?? r.stdout.split('\n')[0]?.trim();
  } catch {
    return undefined; // ENOENT: not installed
  }
}

/**
 * Makes sure `ansible-playbook` exists, installing Debian's `ansible-core` with apt-get when
 * it does not (apt-get update first only if the install cannot find the package). Bounded:
 * 10 minutes per apt-get call. Returns the ansible-core version.
 */
export async function ensureAnsible(opts: { timeoutMs?: number } = {}): Promise<string> {
  const have = await ansibleVersion();
  if (have) return have;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const env = { ...process.env, PATH: SYSTEM_PATH, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    runBounded('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'ansible-core'], { timeoutMs, env });
  let r = await install();
  if (r.code !== 0) {
    const upd = await runBounded('apt-get', ['update', '-q'], { timeoutMs, env });
    if (upd.code !== 0)
      throw new Error(
        `apt-get update failed (${upd.timedOut ? 'timed out' : `exit ${upd.code}`}): ${upd.stderr.trim().slice(-2000)}`,
      );
    r = await install();
  }
  if (r.code !== 0)
    throw new Error(
      `apt-get install ansible-core failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${r.stderr.trim().slice(-2000)}`,
    );
  const v = await ansibleVersion();
  if (!v) throw new Error('ansible-core installed but ansible-playbook does not run');
  return v;
}

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

/** Parses the PLAY RECAP of the default stdout callback (colour off). */
export function parseRecap(stdout: string): Record<string, HostRecap> {
  const hosts: Record<string, HostRecap> = {};
  const start = stdout.lastIndexOf('PLAY RECAP');
  if (start < 0) return hosts;
  for (const line of stdout.slice(start).split('\n').slice(1)) {
    const m = /^(\S+)\s*:\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const counts: Record<string, number> = {};
    for (const kv of m[2]!.matchAll(/(\w+)=(\d+)/g)) counts[kv[1]!] = Number(kv[2]);
    if (!('ok' in counts)) continue;
    hosts[m[1]!] = {
      ok: counts.ok ?? 0,
      changed: counts.changed ?? 0,
      unreachable: counts.unreachable ?? 0,
      failed: counts.failed ?? 0,
      skipped: counts.skipped ?? 0,
      rescued: counts.rescued ?? 0,
      ignored: counts.ignored ?? 0,
    };
  }
  return hosts;
}

export interface RunAnsibleOptions {
  /** Folder holding playbook.yml (as written by writeAnsiblePlaybook); ansible.cfg is written here. */
  playbookDir: string;
  inventoryPath: string;
  /** Parallel hosts; pass the number of hosts. */
  forks: number;
  knownHostsPath: string;
  env?: NodeJS.ProcessEnv;
  /** Playbook file name inside playbookDir (default playbook.yml). */
  playbook?: string;
  /** Hard limit for the ansible-playbook run (default 15 minutes). */
  timeoutMs?: number;
  /**
   * Keep ControlPersist masters alive after the run so the next run reuses them (Ansible's
   * own default behaviour within 60 s). Default false: each run pays its own connection
   * setup, like a fresh vps-provision run does. Call closeControlMasters() when done.
   */
  keepMasters?: boolean;
  /** With keepMasters: the ControlPath folder to (re)use; default a fresh short temp dir. */
  controlDir?: string;
}

export interface AnsibleRunResult {
  /** ansible-playbook process wall time, Python start-up included. */
  wallMs: number;
  /** Sums over hosts from the PLAY RECAP (failed includes unreachable). */
  changed: number;
  ok: number;
  failed: number;
  hosts: Record<string, HostRecap>;
  exitCode: number | null;
  timedOut: boolean;
  /** Full stdout + stderr, for diagnostics when counts look wrong. */
  output: string;
  controlDir: string;
}

/** The ansible.cfg we benchmark with; exported so the bench can print/record it. */
export function ansibleCfg(o: {
  inventoryPath: string;
  forks: number;
  knownHostsPath: string;
  controlDir: string;
  tmpRoot: string;
}): string {
  const sshArgs = [
    '-F /dev/null', // no ~/.ssh/config influence
    '-o ControlMaster=auto',
    '-o ControlPersist=60s',
    `-o UserKnownHostsFile=${o.knownHostsPath}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    '-o IdentitiesOnly=yes',
    '-o PreferredAuthentications=publickey',
    '-o BatchMode=yes',
  ].join(' ');
  return [
    '[defaults]',
    `inventory = ${o.inventoryPath}`,
    `forks = ${Math.max(1, o.forks)}`,
    'gathering = explicit',
    'host_key_checking = True',
    'retry_files_enabled = False',
    'stdout_callback = default',
    'nocolor = True',
    'interpreter_python = /usr/bin/python3',
    'deprecation_warnings = False',
    'timeout = 30',
    // Ansible's temp files: under our temp root, never in ~/.ansible.
    `local_tmp = ${join(o.tmpRoot, 'local-tmp')}`,
    `remote_tmp = ${join(o.tmpRoot, 'remote-tmp')}`,
    '',
    '[ssh_connection]',
    'pipelining = True',
    `ssh_args = ${sshArgs}`,
    `control_path_dir = ${o.controlDir}`,
    // %C is a hash of host/port/user: short enough for the 108-byte unix socket limit.
    'control_path = %(directory)s/%%C',
    '',
  ].join('\n');
}

/** Asks each ControlPersist master in controlDir to exit, then removes the folder. */
export async function closeControlMasters(controlDir: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(controlDir);
  } catch {
    return;
  }
  await Promise.all(
    names.map((n) =>
      runBounded('ssh', ['-F', '/dev/null', '-o', `ControlPath=${join(controlDir, n)}`, '-O', 'exit', 'unused'], {
        timeoutMs: 10_000,
        env: { ...process.env, PATH: SYSTEM_PATH },
      }).catch(() => undefined),
    ),
  );
  rmSync(controlDir, { recursive: true, force: true });
}

/** Runs ansible-playbook once; never throws for a failed play (counts say so), only for spawn errors. */
export async function runAnsible(opts: RunAnsibleOptions): Promise<AnsibleRunResult> {
  // Short path on purpose: ssh adds a random suffix while binding the control socket.
  const controlDir = opts.controlDir ?? mkdtempSync('/tmp/ac-');
  const tmpRoot = join(opts.playbookDir, '.ansible-tmp');
  mkdirSync(join(tmpRoot, 'local-tmp'), { recursive: true });
  const cfgPath = join(opts.playbookDir, 'ansible.cfg');
  writeFileSync(
    cfgPath,
    ansibleCfg({
      inventoryPath: opts.inventoryPath,
      forks: opts.forks,
      knownHostsPath: opts.knownHostsPath,
      controlDir,
      tmpRoot,
    }),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: SYSTEM_PATH,
    ANSIBLE_CONFIG: cfgPath,
    ANSIBLE_HOME: join(tmpRoot, 'home'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    PYTHONDONTWRITEBYTECODE: '1',
    ...opts.env,
  };
  try {
    const r = await runBounded('ansible-playbook', [join(opts.playbookDir, opts.playbook ?? 'playbook.yml')], {
      timeoutMs: opts.timeoutMs ?? 900_000,
      env,
      cwd: opts.playbookDir,
    });
    const hosts = parseRecap(r.stdout);
    const sum = (f: (h: HostRecap) => number) => Object.values(hosts).reduce((a, h) => a + f(h), 0);
    return {
      wallMs: r.wallMs,
      changed: sum((h) => h.changed),
      ok: sum((h) => h.ok),
      failed: sum((h) => h.failed + h.unreachable),
      hosts,
      exitCode: r.code,
      timedOut: r.timedOut,
      output: r.stdout + (r.stderr ? `\n--- stderr ---\n${r.stderr}` : ''),
      controlDir,
    };
  } finally {
    if (!opts.keepMasters) await closeControlMasters(controlDir);
  }
}
