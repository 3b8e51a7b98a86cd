// One host's connection, its long-lived shells, its lock; and getting them back after
// the connection drops (backoff, the lock re-taken under the same run id, the script
// that was running when it dropped waited for, so nothing runs twice at once).
import { randomBytes } from 'node:crypto';
import type { Connection, Connector, RemoteShell } from '../transport/connection.js';
import { pause, RECONNECT_DELAYS_MS } from '../transport/reconnect-backoff.js';
import { DEFAULT_STATE_DIR, type HostSpec } from '../config/inventory.js';
import type { Secret } from '../shell/secret.js';
import {
  catFileScript,
  openSessionScript,
  stateDirScript,
  closeSessionScript,
  waitForScriptScript,
  lockSince,
  type LockOwner,
  type RunFileName,
} from '../shell/host-scripts.js';
import { startMonitorCommand, readSamplesCommand, parseMonitorReply } from '../monitor/monitor-commands.js';
import { CommandError, ConnectError } from '../errors.js';
import { recordReader } from './records.js';
import { parseOsRelease, UNKNOWN_OS, type OsFacts } from '../facts/os-release.js';
import { parse } from 'csv-parse/sync';
import { timingFile } from '../shell/phase-scripts.js';
import { readCsvCell } from '../shell/csv-field.js';

export interface SessionFacts {
  os: OsFacts;
  /** the login user the session's shell runs as */
  user: string;
  checkpoints: Map<string, { hash: string; at: string; runId: string }>;
  lock?: { state: 'acquired' | 'held' | 'stale'; since: string; runId: string; holder: string };
}

/** One round trip: state folders, OS facts, checkpoints, and (apply) the lock. */
async function readSession(
  shell: RemoteShell,
  stateDir: string,
  owner: LockOwner | null,
  whenLocked: string,
  onStray: (line: string) => void,
): Promise<SessionFacts> {
  const n = randomBytes(6).toString('hex');
  const facts: SessionFacts = { os: UNKNOWN_OS, user: '', checkpoints: new Map() };
  let error: string | undefined;
  await shell.run(
    openSessionScript(n, stateDir, owner, whenLocked),
    recordReader(
      n,
      (r) => {
        if (r.tag === 'ERR') error = r.rest;
        if (r.tag === 'OS') {
          const bar = r.rest.indexOf('|');
          facts.user = bar < 0 ? '' : r.rest.slice(0, bar);
          facts.os = parseOsRelease(r.rest.slice(bar + 1));
        }
        if (r.tag === 'CK')
          facts.checkpoints.set(r.args[0]!, { hash: r.args[1] ?? '', at: r.args[2] ?? '', runId: r.args[3] ?? '' });
        if (r.tag === 'LOCK') {
          const [since = '', runId = '', holder = ''] = r.args.slice(1).join(' ').split('|');
          facts.lock = { state: r.args[0] as 'acquired' | 'held' | 'stale', since, runId, holder };
        }
      },
      onStray,
    ),
  );
  if (error)
    throw new CommandError(
      error,
      'the state dir must belong to the user the steps run as and be writable by it alone: fix its owner and mode, or set state_dir in the inventory (or use become: true)',
    );
  return facts;
}

/** Sets host.stateDir to the default of the shell's user when the inventory sets none. */
export async function resolveStateDir(shell: RemoteShell, host: HostSpec, loginUser: string): Promise<void> {
  if (host.stateDirDefault) host.stateDir = await defaultStateDir(shell, host, loginUser);
}

const STATE_DIR_PATH = /^\/[^\s'"`;$\\]*$/;

/**
 * The default state dir (SPEC §2) of the user a shell runs as: /var/lib/vps-provision for
 * root, else under the login user's $XDG_STATE_HOME or ~/.local/state (asked of the host,
 * one round trip, only for a login that is not root without become).
 */
async function defaultStateDir(shell: RemoteShell, host: HostSpec, loginUser: string): Promise<string> {
  if (host.become || loginUser === 'root') return DEFAULT_STATE_DIR;
  const n = randomBytes(6).toString('hex');
  let dir: string | undefined;
  await shell.run(
    stateDirScript(n),
    recordReader(
      n,
      (r) => {
        if (r.tag === 'SD') dir = r.rest;
      },
      () => undefined,
    ),
  );
  // a path from the host is data: only a plain absolute path is used in later scripts
  if (dir === undefined || !STATE_DIR_PATH.test(dir) || dir.split('/').includes('..')) {
    throw new CommandError(
      `${host.name}: the default state dir of ${loginUser} on the host is not usable (${JSON.stringify(dir ?? '')})`,
      'set state_dir in the inventory to an absolute path the login user owns',
    );
  }
  return dir;
}

export interface MonitorSettings {
  intervalS: number;
  maxLifetimeS: number;
}

/** A run's CSVs as read back from the host at the end. */
export interface FetchedCsvs {
  timingCsv?: string;
  resourcesCsv?: string;
}

export interface HostSessionOptions {
  /** apply runs sample the host's resources while they hold the lock */
  monitor?: MonitorSettings;
  mode: 'apply' | 'plan';
  runId: string;
  holder: string;
  sudoPassword?: Secret;
  signal?: AbortSignal;
  onWarning: (message: string) => void;
  /** runs kept in $STATE_DIR/runs at the end of an apply run (this one included) */
  keepRuns?: number;
}

/** The controller's record of a run, stored on the host beside its CSVs. */
export type RunRecordFiles = Partial<Record<RunFileName, string>>;

export class HostSession {
  roundTrips = 0;
  /** /var/run/reboot-required was there when the run ended (read in the closing round trip) */
  rebootRequired = false;
  /** the PIDs (and process groups) of the scripts running now, each with its privilege (become) */
  readonly scriptPids = new Map<number, boolean>();
  #reconnecting: Promise<void> | undefined;
  #conn!: Connection;
  #shells = new Map<boolean, RemoteShell>();
  #lockTaken = false;
  #monitoring = false;
  #samplesShell: RemoteShell | undefined;

  private constructor(
    private readonly connector: Connector,
    private readonly host: HostSpec,
    private readonly opts: HostSessionOptions,
  ) {}

  /** Connect, start the main shell, read facts and take the lock (one round trip after the shell). */
  static async open(
    connector: Connector,
    host: HostSpec,
    opts: HostSessionOptions,
  ): Promise<{ session: HostSession; facts: SessionFacts }> {
    const session = new HostSession(connector, host, opts);
    // a connection that drops while starting is tried again; refusals are final
    for (let attempt = 0; ; attempt++) {
      try {
        session.#conn = await connector.connect(host.name, opts.signal);
        const facts = await session.#start();
        if (facts.lock?.state === 'stale' && facts.lock.runId !== opts.runId) {
          opts.onWarning(`took over a stale lock of ${facts.lock.holder} (since ${facts.lock.since})`);
        }
        return { session, facts };
      } catch (err) {
        session.#conn?.close();
        session.#shells.clear();
        const retry =
          err instanceof ConnectError &&
          err.reason === 'dropped' &&
          attempt < RECONNECT_DELAYS_MS.length &&
          !opts.signal?.aborted;
        if (!retry) throw err;
        opts.onWarning(`connection dropped while connecting (${err.message}); trying again`);
        await pause(RECONNECT_DELAYS_MS[attempt]!, opts.signal);
      }
    }
  }

  async #start(): Promise<SessionFacts> {
    const main = await this.shell(this.host.become);
    // resolved before the first script that names it; the same on every reconnection
    await resolveStateDir(main, this.host, this.#conn.loginUser);
    const owner: LockOwner | null =
      this.opts.mode === 'apply' ? { runId: this.opts.runId, holder: this.opts.holder, since: lockSince() } : null;
    const target = { stateDir: this.host.stateDir, runId: this.opts.runId };
    // the sampler starts in the same round trip, only when the lock is ours
    const monitor =
      owner && this.opts.monitor ? startMonitorCommand({ ...target, ...this.opts.monitor, host: this.host.name }) : '';
    const stray: string[] = [];
    const facts = await readSession(main, this.host.stateDir, owner, monitor, (l) => stray.push(l));
    if (monitor && facts.lock?.state !== 'held') {
      const reply = stray.find((l) => l.startsWith('monitor: '));
      const state = reply ? parseMonitorReply(reply) : undefined;
      if (state?.state === 'started' || state?.state === 'already-running') this.#monitoring = true;
      else
        this.opts.onWarning(
          `resource monitor not started (${state?.detail ?? reply ?? 'no answer'}); the run goes on without samples`,
        );
    }
    if (facts.lock?.state === 'held') {
      const l = facts.lock;
      throw new CommandError(
        `${this.host.name}: another vps-provision run holds the lock: ${l.holder} since ${l.since} (run ${l.runId})`,
        'wait for it to finish; a lock whose controller has gone is taken over automatically',
      );
    }
    this.#lockTaken = this.opts.mode === 'apply';
    return facts;
  }

  async shell(become: boolean): Promise<RemoteShell> {
    let sh = this.#shells.get(become);
    if (!sh) {
      sh = await this.extraShell(become);
      this.#shells.set(become, sh);
    }
    return sh;
  }

  /** A shell of its own on the same connection (a phase running beside others); the caller closes it. */
  async extraShell(become: boolean): Promise<RemoteShell> {
    const real = await this.#conn.openShell({ become, sudoPassword: become ? this.opts.sudoPassword : undefined });
    this.roundTrips++;
    return {
      get pid() {
        return real.pid;
      },
      get user() {
        return real.user;
      },
      run: (script, onLine) => {
        this.roundTrips++;
        return real.run(script, onLine);
      },
      close: () => real.close(),
    };
  }

  /** After a drop: connect again with backoff, re-take the lock, wait for the orphaned script. */
  async reconnect(cause: ConnectError): Promise<void> {
    // phases running side by side lose the connection together: one reconnect serves them all
    if (!this.#reconnecting) {
      this.#reconnecting = this.#reconnect(cause).finally(() => {
        this.#reconnecting = undefined;
      });
    }
    return this.#reconnecting;
  }

  async #reconnect(cause: ConnectError): Promise<void> {
    this.#shells.clear();
    this.#samplesShell = undefined;
    this.#conn.close();
    let last: unknown = cause;
    for (const delay of RECONNECT_DELAYS_MS) {
      if (this.opts.signal?.aborted) break;
      await pause(delay, this.opts.signal);
      try {
        this.#conn = await this.connector.connect(this.host.name, this.opts.signal);
        await this.#start();
        // the scripts that were running when the connection dropped finish their step on their own
        for (const [pid, become] of this.scriptPids)
          await (await this.shell(become)).run(waitForScriptScript(pid, 600));
        this.scriptPids.clear();
        return;
      } catch (err) {
        last = err;
        // a half-made connection must not keep the process alive
        this.#conn?.close();
        this.#shells.clear();
        if (!(err instanceof ConnectError)) throw err;
        this.opts.onWarning(`reconnect failed (${err.message}); trying again`);
      }
    }
    throw last;
  }

  /** The rows of a phase in this run's timing.csv: step name ('' for the phase's own row) → status. */
  async recordedSteps(stateDir: string, runId: string, phase: string): Promise<Map<string, string>> {
    const lines: string[] = [];
    await (
      await this.shell(this.host.become)
    ).run(catFileScript(timingFile({ stateDir, runId, host: this.host.name, phase })), (l) => lines.push(l));
    const rows = parse(lines.join('\n'), { columns: true, skip_empty_lines: true, relax_column_count: true }) as Record<
      string,
      string
    >[];
    return new Map(
      rows
        .filter((r) => readCsvCell(r.run_id ?? '') === runId && readCsvCell(r.phase ?? '') === phase)
        .map((r) => [readCsvCell(r.step ?? ''), r.status ?? '']),
    );
  }

  /**
   * Stop the running scripts and everything they started (each its own process group),
   * through the privilege each runs with: a script under `become` runs as root, and a
   * kill from the login user would fail on it. The kill then goes through a sudo shell of
   * its own (sudo's password, when needed, sent as for any become shell).
   */
  stopRunningScript(): void {
    for (const [pid, become] of this.scriptPids) {
      // no "--": dash's kill (the driver's sh) takes none and would kill nothing
      const kill = `kill -TERM -${Math.trunc(pid)} 2>/dev/null; true`;
      if (!become) {
        void this.#conn.exec(kill).catch(() => undefined);
        continue;
      }
      void this.extraShell(true)
        .then(async (sh) => {
          try {
            await sh.run(kill);
          } finally {
            sh.close();
          }
        })
        .catch(() => undefined);
    }
  }

  /**
   * Send what is pending, store the controller's record of the run, stop the monitor,
   * read back the run's CSVs, prune old runs, release the lock and close everything:
   * one round trip.
   */
  async close(pending: string, record: () => RunRecordFiles = () => ({})): Promise<FetchedCsvs> {
    const main = this.#shells.get(this.host.become);
    const files: FetchedCsvs = {};
    if (main && (this.#lockTaken || pending)) {
      const n = randomBytes(6).toString('hex');
      const release = this.#lockTaken
        ? closeSessionScript({
            nonce: n,
            stateDir: this.host.stateDir,
            runId: this.opts.runId,
            files: record(),
            monitor: this.#monitoring,
            keepRuns: this.opts.keepRuns,
          })
        : '';
      const reader = recordReader(n, (r) => {
        if (r.tag === 'REBOOT') this.rebootRequired = true;
        if (r.tag !== 'B') return;
        const text = `${r.body?.replace(/\n+$/, '') ?? ''}\n`;
        if (r.args[0] === 'timing.csv') files.timingCsv = text;
        if (r.args[0] === 'resources.csv') files.resourcesCsv = text;
      });
      // bounded: a connection that died silently must not hold the run open
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        main.run(pending + release, reader).catch(() => undefined),
        new Promise((r) => {
          timer = setTimeout(r, 15_000);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const sh of this.#shells.values()) sh.close();
    this.#samplesShell?.close();
    this.#conn.close();
    return files;
  }

  /** The resource samples recorded after the first `seen` rows (for live alerts); off the main shell. */
  async readSamples(seen: number): Promise<string> {
    // a shell of its own, so reading never waits behind a long step on the main one
    this.#samplesShell ??= await this.extraShell(this.host.become);
    const lines: string[] = [];
    await this.#samplesShell.run(
      readSamplesCommand({ stateDir: this.host.stateDir, runId: this.opts.runId }, seen),
      (l) => lines.push(l),
    );
    return lines.join('\n');
  }

  get connection(): Connection {
    return this.#conn;
  }
}
