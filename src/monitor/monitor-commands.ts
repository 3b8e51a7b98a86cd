// Pure builders of the remote shell text that installs, starts, checks and stops
// the resource sampler, plus parsers of what that text prints. Each command prints
// exactly one line `monitor: <state> [pid]` so the engine can tell what happened.
// Every value from outside is quoted once here, by the `sh` builder. Each
// text is one ( subshell ), so its `exit` never ends a long-lived remote shell that
// runs it, and its variables do not leak into that shell.
import { createHash } from 'node:crypto';
import { sh, raw, type ShellText } from '../shell/sh.js';
import { monitorScript } from './script-files.js';

/** Run ids look like 20261128T022100Z-a1b2; anything path-safe is accepted. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface RemoteRunPaths {
  /** $STATE_DIR/runs/<run-id> */
  dir: string;
  timingCsv: string;
  resourcesCsv: string;
  pidFile: string;
  /** the sampler's stderr (empty when all is well) */
  logFile: string;
  /** where the sampler script is installed: $STATE_DIR/bin/sampler.sh */
  samplerScript: string;
}

export interface MonitorTarget {
  /** absolute remote state folder, e.g. /var/lib/vps-provision */
  stateDir: string;
  runId: string;
}

export interface MonitorStartOptions extends MonitorTarget {
  /** seconds between samples (SPEC default 10) */
  intervalS: number;
  /** the sampler exits by itself after this many seconds, whatever happens */
  maxLifetimeS: number;
  /** inventory host name, written in every row */
  host: string;
}

function checkTarget(t: MonitorTarget): void {
  if (!RUN_ID.test(t.runId)) throw new Error(`invalid run id ${JSON.stringify(t.runId)}`);
  if (t.stateDir === '' || t.stateDir.includes('\n'))
    throw new Error(`invalid state dir ${JSON.stringify(t.stateDir)}`);
}

const subshell = (body: ShellText) => `(\n${body.text.trimEnd()}\n)\n`;

function posInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number of seconds, got ${v}`);
  return v;
}

/** Where a run's files are on the droplet (unquoted paths). */
export function remoteRunPaths(stateDir: string, runId: string): RemoteRunPaths {
  checkTarget({ stateDir, runId });
  const base = stateDir.replace(/\/+$/, '') || '/';
  const dir = `${base}/runs/${runId}`;
  return {
    dir,
    timingCsv: `${dir}/timing.csv`,
    resourcesCsv: `${dir}/resources.csv`,
    pidFile: `${dir}/monitor.pid`,
    logFile: `${dir}/monitor.log`,
    samplerScript: `${base}/bin/sampler.sh`,
  };
}

/** The sampler script text (src/monitor/sampler.sh). */
export function samplerScript(): string {
  return monitorScript('sampler.sh');
}

// alive PID: a live, non-zombie process whose command line names sampler.sh, so a
// recycled PID is never mistaken for (or killed as) the sampler. Builtins only: dash's
// `read` drops the NUL bytes between the arguments, which leaves the name whole.
const ALIVE_FN = sh`alive() {
  case $1 in ''|*[!0-9]*) return 1 ;; esac
  st=
  { read -r st < "/proc/$1/stat"; } 2>/dev/null || return 1
  st=\${st##*) }
  [ "\${st%% *}" != Z ] || return 1
  cl=
  { read -r cl < "/proc/$1/cmdline"; } 2>/dev/null
  case $cl in *sampler.sh*) return 0 ;; esac
  return 1
}
readpid() { p=; { read -r p < "$pf"; } 2>/dev/null; }`;

/**
 * Installs the sampler (atomically: temp file + rename; only when the copy there is not this
 * version, told by its SHA-256 in a file beside it) and starts it detached with setsid and
 * every fd redirected, so the SSH channel closes at once and a dropped connection does not
 * stop it. Its PID file is written here, with noclobber, from `$!` (setsid runs the sampler
 * in the process it was started as), so nothing waits for the sampler to start. Idempotent:
 * a sampler already running for this run is left alone. A brace group with a function
 * (returns, no exit): it runs inside the session's opening script without a subshell, and
 * its variables (d pf s p h t r st cl) are left set.
 */
export function startMonitorCommand(o: MonitorStartOptions): string {
  const p = remoteRunPaths(o.stateDir, o.runId);
  const interval = posInt('intervalS', o.intervalS);
  const life = posInt('maxLifetimeS', o.maxLifetimeS);
  if (o.host === '' || /[\0\n\r]/.test(o.host)) throw new Error(`invalid host name ${JSON.stringify(o.host)}`);
  const script = samplerScript();
  const bin = p.samplerScript.slice(0, p.samplerScript.lastIndexOf('/'));
  const args = [p.resourcesCsv, String(interval), String(life), o.host, p.pidFile];
  const version = createHash('sha256').update(script).digest('hex');
  return `{\n${
    sh`vpsp_monitor_start() {
umask 022
d=${p.dir}; pf=${p.pidFile}; s=${p.samplerScript}
${ALIVE_FN}
{ [ -d "$d" ] && [ -d ${bin} ]; } || mkdir -p "$d" ${bin} || { echo "monitor: failed cannot create $d"; return 1; }
readpid
if alive "$p"; then echo "monitor: already-running $p"; return 0; fi
[ ! -e "$pf" ] || rm -f "$pf"
set -- "$pf".fifo.*
[ ! -e "$1" ] || rm -f "$@"
h=
{ read -r h < "$s.sha256"; } 2>/dev/null
if [ "$h" != ${version} ] || [ ! -f "$s" ]; then
  t=$(mktemp ${bin}/.sampler.XXXXXX) && printf '%s' ${script} > "$t" && mv -f "$t" "$s" && printf '%s\\n' ${version} > "$s.sha256" || { rm -f "$t"; echo "monitor: failed cannot write $s"; return 1; }
fi
# the sampler leaves its PID file to this (VPSP_SAMPLER_PIDFILE)
if command -v setsid >/dev/null 2>&1; then
  VPSP_SAMPLER_PIDFILE=given setsid sh "$s" ${args} </dev/null >/dev/null 2>>"$d/monitor.log" &
else
  VPSP_SAMPLER_PIDFILE=given sh "$s" ${args} </dev/null >/dev/null 2>>"$d/monitor.log" &
fi
p=$!
set -C
{ echo "$p" > "$pf"; } 2>/dev/null
r=$?
set +C
if [ $r -eq 0 ]; then echo "monitor: started $p"; return 0; fi
kill "$p" 2>/dev/null
echo "monitor: failed cannot write $pf"; return 1
}
vpsp_monitor_start`.text
  }\n}\n`;
}

/**
 * Stops the sampler: removes the PID file (which alone stops it at its next tick),
 * sends TERM, waits at most waitS (default 5 s), then KILL. Always exits 0 unless
 * the shell itself fails; prints stopped/killed/not-running.
 */
export function stopMonitorCommand(t: MonitorTarget, opts: { waitS?: number } = {}): string {
  const p = remoteRunPaths(t.stateDir, t.runId);
  return subshell(sh`pf=${p.pidFile}
${raw(stopSamplerShell(opts.waitS))}
`);
}

/**
 * Shell text stopping the sampler whose PID file is in $pf (for stopMonitorCommand, and for
 * the lock take-over, which stops a stale run's sampler): prints the monitor: line.
 */
export function stopSamplerShell(waitS = 5): string {
  return sh`${ALIVE_FN}
readpid; SP=
rm -f "$pf"
if alive "$p"; then kill -TERM "$p" 2>/dev/null; SP=$p; fi
${raw(samplerStopWait(waitS))}`.text;
}

/**
 * Shell text telling a run's sampler to stop, for the closing script (host-scripts.ts): USR1,
 * on which it ends without removing its files (the closing rm takes them, with the lock:
 * SAMPLER_FILES_TO_REMOVE). Sets pf, SQ to the PID its file holds, and SP to its PID when it runs.
 */
export function samplerStopSignal(t: MonitorTarget): string {
  const p = remoteRunPaths(t.stateDir, t.runId);
  return sh`pf=${p.pidFile}
${ALIVE_FN}
readpid; SP=; SQ=$p
if alive "$p"; then kill -USR1 "$p" 2>/dev/null; SP=$p; fi`.text;
}

/** Shell text waiting (at most waitS) for the sampler in $SP (told to stop: samplerStopSignal, stopSamplerShell) to end, then KILL; prints the monitor: line. */
export function samplerStopWait(waitS = 5): string {
  const tenths = posInt('waitS', waitS) * 10;
  return sh`if [ -n "$SP" ]; then
  i=0
  while alive "$SP" && [ $i -lt ${tenths} ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$SP"; then kill -KILL "$SP" 2>/dev/null; echo "monitor: killed $SP"; else echo "monitor: stopped $SP"; fi
else
  echo "monitor: not-running"
fi`.text;
}

/** Shell text appending the stopped sampler's PID file and FIFO to "$@" (the closing rm). */
export const SAMPLER_FILES_TO_REMOVE =
  'set -- "$@" "$pf"; case $SQ in \'\'|*[!0-9]*) ;; *) set -- "$@" "$pf.fifo.$SQ";; esac';

/** Prints running <pid>, stale <pid> (PID file left by a dead sampler) or stopped. */
export function monitorStatusCommand(t: MonitorTarget): string {
  const p = remoteRunPaths(t.stateDir, t.runId);
  return subshell(sh`pf=${p.pidFile}
${ALIVE_FN}
readpid
if alive "$p"; then echo "monitor: running $p"
elif [ -n "$p" ]; then echo "monitor: stale $p"
else echo "monitor: stopped"; fi
`);
}

/**
 * Prints the resources.csv rows after the first `skipRows` data rows (header never
 * included), for live alerts during a run: feed the output to parseResourcesText.
 */
export function readSamplesCommand(t: MonitorTarget, skipRows: number): string {
  const p = remoteRunPaths(t.stateDir, t.runId);
  if (!Number.isInteger(skipRows) || skipRows < 0)
    throw new Error(`skipRows must be a whole number >= 0, got ${skipRows}`);
  return subshell(sh`f=${p.resourcesCsv}; [ -f "$f" ] && tail -n +${skipRows + 2} "$f"; exit 0`);
}

type MonitorState =
  'started' | 'already-running' | 'running' | 'stopped' | 'killed' | 'not-running' | 'stale' | 'failed';

export interface MonitorReply {
  state: MonitorState;
  pid?: number;
  /** the rest of the line for `failed` */
  detail?: string;
}

const STATES = new Set<MonitorState>([
  'started',
  'already-running',
  'running',
  'stopped',
  'killed',
  'not-running',
  'stale',
  'failed',
]);

/** Parses the `monitor: ...` line printed by any command above. */
export function parseMonitorReply(stdout: string): MonitorReply {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('monitor: '));
  if (!line) throw new Error(`no "monitor:" line in the remote output: ${JSON.stringify(stdout.slice(0, 200))}`);
  const [state, ...rest] = line.slice('monitor: '.length).trim().split(' ');
  if (!STATES.has(state as MonitorState)) throw new Error(`unknown monitor state in ${JSON.stringify(line)}`);
  const reply: MonitorReply = { state: state as MonitorState };
  if (state === 'failed') reply.detail = rest.join(' ');
  else if (rest[0] && /^\d+$/.test(rest[0])) reply.pid = Number(rest[0]);
  return reply;
}
