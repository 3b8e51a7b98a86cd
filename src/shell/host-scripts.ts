// Pure builders of the per-host session scripts: open (state folders, lock, checkpoints,
// OS facts, in one round trip) and close (release the lock).
import { sh, raw, join, lines, quotedAlways, type ShellText } from './sh.js';
import {
  stopSamplerShell,
  samplerStopSignal,
  samplerStopWait,
  SAMPLER_FILES_TO_REMOVE,
  remoteRunPaths,
} from '../monitor/monitor-commands.js';
import { osReleaseRead } from '../facts/os-release.js';
import { EUID_SH } from './effective-uid.js';

export interface LockOwner {
  runId: string;
  /** who holds it, e.g. "ana@laptop (pid 1234)" */
  holder: string;
  /** when the controller opened this session (UTC, ISO seconds): shown to whoever finds the lock held */
  since: string;
}

/** The lock's `since`: the controller's clock, so taking the lock forks no `date` on the host. */
export function lockSince(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Shell text: the login user's name, as the driver read it (VPSP_USER), else `id -un`. */
const USER_SH = '${VPSP_USER:-$(id -un)}';

/** A lock without its owner file (left by an older version, or damaged) is held this long. */
export const LOCK_GRACE_S = 60;

/** The holder text as recorded: one line, no control characters. */
export function holderLine(holder: string): string {
  return holder.replace(/[\x00-\x1f\x7f]/g, '?');
}

/**
 * @param whenLocked shell text run only when this controller got the lock (the monitor start)
 *
 * The lock is a folder `$S/lock` holding `owner` (run id, holder, driver pid, boot id, since).
 * It is built in a temp folder and renamed into place, so a lock never exists without its
 * owner (rename fails on an existing lock). A stale one (its driver gone, or another boot) is
 * taken over under a mutex inside it (`.takeover`, made by one controller only), moved aside,
 * and the new lock renamed in; then read back. The old run's sampler is stopped.
 */
export function openSessionScript(nonce: string, stateDir: string, owner: LockOwner | null, whenLocked = ''): string {
  const out: ShellText[] = [
    sh`N=${nonce}; S=${stateDir}; L="$S/lock"`,
    // created private (apply only: a plan writes nothing); one that exists must be the
    // steps' user's own and not writable by others
    sh`[ ! -L "$S" ] || { printf '\\036%s ERR state dir %s is a symbolic link\\n' "$N" "$S"; exit 0; }`,
    owner
      ? sh`[ -d "$S" ] || ( umask 077 && mkdir -p "$S" ) || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }`
      : sh`:`,
    // owner and mode in one stat; the uid of this shell from /proc (EUID_SH): no process
    sh`if [ -d "$S" ]; then SOM=$(stat -c '%u %a' -- "$S") || { printf '\\036%s ERR cannot inspect %s\\n' "$N" "$S"; exit 0; }; SO=\${SOM% *}; SM=\${SOM#* }; ${raw(EUID_SH)}`,
    sh`  [ "$SO" = "$U" ] || { printf '\\036%s ERR state dir %s is owned by uid %s, not by %s (uid %s)\\n' "$N" "$S" "$SO" "$(id -un)" "$U"; exit 0; }`,
    sh`  [ $(( 0$SM & 022 )) -eq 0 ] || { printf '\\036%s ERR state dir %s may be written by group or others (mode %s)\\n' "$N" "$S" "$SM"; exit 0; }; fi`,
    // this run's folder with them, in one mkdir (private, like the state dir); with it the
    // folder the run files are written in before they are renamed (RUN_FILES_STAGE) and the
    // lock's folder under this script's own name (own below)
    owner
      ? sh`( umask 077 && mkdir -p "$S/checkpoints" "$S/runs/"${owner.runId}/${RUN_FILES_STAGE} "$S/.lock.$N" ) || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }`
      : sh`:`,
    sh`B=; { read -r B </proc/sys/kernel/random/boot_id; } 2>/dev/null`,
    // the login user, then the OS facts (facts/os-release.ts: id|version_id|codename|arch|pretty),
    // read by builtins in this shell (no subshell)
    sh`${raw(osReleaseRead())}; printf '\\036%s OS %s|%s\\n' "$N" "${raw(USER_SH)}" "$OSR"`,
    sh`for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\\036%s CK %s %s\\n' "$N" "\${f##*/}" "$c"; done`,
  ];
  if (owner) {
    out.push(
      sh`R=${owner.runId}; H=${holderLine(owner.holder)}; SI=${owner.since}`,
      // pid: the long-lived driver shell of this controller; when it is gone the lock is stale
      sh`info() { printf 'run=%s\\nholder=%s\\npid=%s\\nboot=%s\\nsince=%s\\n' "$R" "$H" "\${VPSP_DRIVER:-$PPID}" "$B" "$SI"; }`,
      // built under a name of this script's own (the nonce; mkdir never reuses what is there)
      // (made by the mkdir above; again only after a failed try removed it)
      sh`own() { t="$S/.lock.$N"; [ -d "$t" ] || mkdir -- "$t" 2>/dev/null || return 1; if info > "$t/owner" && mv -T -- "$t" "$L" 2>/dev/null; then return 0; fi; rm -rf -- "$t"; return 1; }`,
      sh`rdo() { run=; holder=; pid=; boot=; since=; [ -f "$1/owner" ] || return 1; while IFS='=' read -r k v; do case "$k" in run) run=$v;; holder) holder=$v;; pid) pid=$v;; boot) boot=$v;; since) since=$v;; esac; done < "$1/owner"; [ -n "$run" ]; }`,
      sh`age() { a=$(stat -c %Y -- "$1" 2>/dev/null) || { echo 0; return; }; echo $(( $(date +%s) - a )); }`,
      sh`say() { printf '\\036%s LOCK %s %s|%s|%s\\n' "$N" "$1" "$since" "$run" "$holder"; }`,
      // the stale run's sampler (its PID file under its own run folder; the run id is from the host: checked first)
      sh`stopold() {\ncase $1 in ''|.*|*[!A-Za-z0-9._-]*) return 0;; esac\npf="$S/runs/$1/monitor.pid"\n${raw(stopSamplerShell())}\n} >/dev/null 2>&1`,
      sh`OWN=; ST=`,
      sh`if [ ! -e "$L" ] && own; then ST=acquired; run=; holder=; since=`,
      sh`elif rdo "$L" && [ "$run" = "$R" ]; then`,
      // our own run's lock (re-taken after a dropped connection): the new driver is its pid now
      sh`  info > "$L/owner.new" && mv -f -- "$L/owner.new" "$L/owner" && ST=acquired`,
      sh`elif [ -n "$run" ]; then`,
      sh`  if [ -n "$pid" ] && [ "$boot" = "$B" ] && [ -d "/proc/$pid" ]; then ST=held; else ST=stale; fi`,
      sh`elif [ ! -e "$L" ] && own; then ST=acquired`,
      sh`elif [ "$(age "$L")" -lt ${LOCK_GRACE_S} ]; then ST=held; since=; run=; holder='(a lock without an owner, held for ${LOCK_GRACE_S} s)'`,
      sh`else ST=stale; fi`,
      sh`if [ "$ST" = stale ]; then`,
      sh`  X=$run; ST=held`,
      sh`  if mkdir "$L/.takeover" 2>/dev/null; then`,
      // under the mutex: still the lock judged stale? then nobody else can move it
      sh`    if { rdo "$L" || [ -z "$X" ]; } && [ "$run" = "$X" ] && mv -T -- "$L" "$S/.lock.stale.$N" 2>/dev/null; then`,
      sh`      own && rdo "$L" && [ "$run" = "$R" ] && ST=stale`,
      // the stale run's sampler goes with its lock (even when another controller got in first)
      sh`      rdo "$S/.lock.stale.$N"; stopold "$run"; [ "$ST" = stale ] || rdo "$L"`,
      sh`      rm -rf -- "$S/.lock.stale.$N"`,
      sh`    else rmdir -- "$L/.takeover" 2>/dev/null; rdo "$L"; fi`,
      // a take-over under way, or one whose controller died (its mutex goes after the grace period)
      sh`  elif [ "$(age "$L/.takeover")" -ge ${LOCK_GRACE_S} ]; then rmdir -- "$L/.takeover" 2>/dev/null; fi`,
      sh`fi`,
      sh`[ "$ST" = held ] || OWN=1`,
      // the lock's folder made above and not used (the lock was held, or already ours)
      sh`[ ! -d "$S/.lock.$N" ] || rm -rf -- "$S/.lock.$N"`,
      sh`say "$ST"`,
    );
    if (whenLocked) out.push(sh`if [ "$OWN" = 1 ]; then`, raw(whenLocked), sh`fi`);
  }
  out.push(sh`printf '\\036%s END\\n' "$N"`);
  return lines(out).text;
}

/** The default state dir of the user a shell runs as (SPEC §2), as an SD record. */
export function stateDirScript(nonce: string): string {
  return join(
    [
      sh`if [ "$(id -u)" = 0 ]; then S=/var/lib/vps-provision; else X=\${XDG_STATE_HOME:-}; `,
      // XDG: a relative $XDG_STATE_HOME is to be ignored
      sh`case "$X" in /*) ;; *) X="$HOME/.local/state";; esac; S="$X/vps-provision"; fi; printf '\\036%s SD %s\\n' ${nonce} "$S"\n`,
    ],
    '',
  ).text;
}

/** Shell text appending the lock to "$@" (the closing rm) when it is this run's own (its owner file read by builtins). */
function ownLockToRemove(stateDir: string, runId: string): ShellText {
  // always in quotes: a script cut short inside them is a syntax error, not a shorter path
  const L = quotedAlways(`${stateDir}/lock`);
  // only our own lock: a lock taken over by someone else stays theirs
  return sh`f=; { while IFS= read -r x || [ -n "$x" ]; do [ "$x" != ${`run=${runId}`} ] || { f=1; break; }; done < ${L}/owner; } 2>/dev/null; [ -z "$f" ] || set -- "$@" ${L}`;
}

export function releaseLockScript(stateDir: string, runId: string): string {
  return sh`set --; ${ownLockToRemove(stateDir, runId)}; [ $# -eq 0 ] || rm -rf -- "$@"; true\n`.text;
}

/**
 * Shell text appending the driver's own temp folder (VPSP_TMP, remote-shell-driver.ts) to
 * "$@", for the closing rm: the driver's exit then has nothing to remove. Only a folder of
 * the shape mktemp made.
 */
const DRIVER_TMP_TO_REMOVE = sh`case \${VPSP_TMP:-} in /*/vpsp.????????) set -- "$@" "$VPSP_TMP";; esac`;

/** Wait (bounded) until a process has exited: the script orphaned by a dropped connection. */
export function waitForScriptScript(pid: number, maxSeconds: number): string {
  return sh`i=0; while [ -d /proc/${Math.trunc(pid)} ] && [ $i -lt ${maxSeconds * 5} ]; do sleep 0.2; i=$((i+1)); done; true\n`
    .text;
}

/**
 * The files of a run kept on the host, in $STATE_DIR/runs/<run-id>/: the host's own
 * timing and samples, and the controller's record of the run (run.json: status,
 * estimates, phases, alert inputs; controller-timing.csv: the laptop's clock), so
 * that `report fetch` from any laptop rebuilds the same report.
 */
export const RUN_FILES = ['timing.csv', 'resources.csv', 'run.json', 'controller-timing.csv'] as const;
export type RunFileName = (typeof RUN_FILES)[number];

/**
 * Lines of a file read by the shell's `read` before the rest goes to `cat`: a short file (a
 * short run's resources.csv) costs no process. Not more: dash reads a byte per system call,
 * and past a few KB one `cat` costs less.
 */
const BUILTIN_READ_LINES = 16;

/**
 * Print a run's files between B/E records tagged with the file name.
 * runDir is a shell word: a literal path (sh quotes it) or shell text built from a variable.
 * Files in `short` are read by builtins first (BUILTIN_READ_LINES), the rest by cat.
 */
export function runFilesScript(
  nonce: string,
  runDir: string | ShellText,
  names: readonly RunFileName[] = RUN_FILES,
  short: readonly RunFileName[] = [],
): string {
  const catAll = names.filter((n) => !short.includes(n));
  const readFirst = names.filter((n) => short.includes(n));
  const loop = (list: RunFileName[], print: ShellText) =>
    join(
      [
        sh`for f in ${list}; do p=${runDir}/"$f"; if [ -f "$p" ]; then `,
        sh`printf '\\036%s B %s 0\\n' ${nonce} "$f"; ${print}; printf '\\n\\036%s E %s\\n' ${nonce} "$f"; fi; done\n`,
      ],
      '',
    ).text;
  return (
    (catAll.length ? loop(catAll, sh`cat "$p"`) : '') +
    (readFirst.length
      ? loop(
          readFirst,
          // dash's read takes no byte past the newline: cat goes on where it stopped
          sh`{ i=0; l=; while [ $i -lt ${BUILTIN_READ_LINES} ] && IFS= read -r l; do printf '%s\\n' "$l"; l=; i=$((i+1)); done; if [ $i -lt ${BUILTIN_READ_LINES} ]; then printf '%s' "$l"; else cat; fi; } < "$p"`,
        )
      : '')
  );
}

/** The folder in a run folder where run files are written whole before they are renamed into place. */
const RUN_FILES_STAGE = '.new';

/**
 * Writes files into a run folder on the host: each written whole under its own name in the
 * run's stage folder (made with the run folder at session open), then all renamed into place
 * by one `mv -t` (a rename(2) per file: a reader sees the whole file or none). One that could
 * not be written whole (a full disk) is not renamed.
 */
export function writeRunFilesScript(runDir: string, files: Partial<Record<RunFileName, string>>): string {
  const entries = Object.entries(files);
  if (!entries.length) return '';
  return lines([
    sh`W=${runDir}/${RUN_FILES_STAGE}; [ -d "$W" ] || mkdir -p -- "$W"; set --`,
    ...entries.map(([name, text]) => {
      if (!(RUN_FILES as readonly string[]).includes(name)) throw new Error(`not a run file: ${name}`);
      return sh`printf '%s' ${text!} > "$W"/${name} && set -- "$@" "$W"/${name}`;
    }),
    sh`[ $# -eq 0 ] || mv -f -t ${runDir} -- "$@"`,
  ]).text;
}

/**
 * Shell function `isrun NAME`: whether NAME has the shape of a run id (report-paths'
 * RUN_ID_ERE: 8 digits, T, 6 digits, Z, a dash, 4 to 32 lowercase hex), by builtins.
 */
export const IS_RUN_ID_SH =
  'isrun() { case $1 in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*) ;; *) return 1;; esac; h=${1#*Z-}; case $h in *[!0-9a-f]*) return 1;; esac; [ ${#h} -ge 4 ] && [ ${#h} -le 32 ]; }';

/**
 * Shell text setting "$@" to the runs in $STATE_DIR/runs beyond the newest `keep` (this one
 * always kept; refused and failed runs count like the others). Only names of the run-id
 * shape; ids start with a UTC stamp, so the glob's order is their age. Builtins only.
 */
function oldRunsToRemove(stateDir: string, keep: number, currentRunId: string): ShellText {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number >= 1, got ${keep}`);
  return lines([
    raw(IS_RUN_ID_SH),
    sh`set --; for d in ${`${stateDir}/runs`}/[0-9]*Z-*; do b=\${d##*/}; isrun "$b" && [ "$b" != ${currentRunId} ] && set -- "$@" "$d"; done`,
    // what is left in "$@": all but the newest keep-1, oldest first
    sh`c=$#; for d; do shift; [ $c -le ${keep - 1} ] || set -- "$@" "$d"; c=$((c-1)); done`,
  ]);
}

/** Keeps the newest `keep` runs in $STATE_DIR/runs (oldRunsToRemove): one rm, only when there is something to remove. */
export function pruneRunsScript(stateDir: string, keep: number, currentRunId: string): string {
  return `${oldRunsToRemove(stateDir, keep, currentRunId).text}[ $# -eq 0 ] || rm -rf -- "$@"; true\n`;
}

export interface CloseSession {
  nonce: string;
  stateDir: string;
  runId: string;
  /** the controller's record of the run, written into the run folder */
  files: Partial<Record<RunFileName, string>>;
  /** the run's sampler was started: stopped here */
  monitor: boolean;
  /** runs kept in $STATE_DIR/runs (this one included); none: no pruning */
  keepRuns?: number;
}

/**
 * The closing script of a session that holds the lock, one round trip: the run files
 * written, the sampler stopped, the run's CSVs read back, the reboot-required flag, then
 * old runs, the lock, the sampler's files and the driver's temp folder gone in one rm.
 * The sampler is told to stop first and waited for after timing.csv is read, so it has
 * ended by then and the wait costs no sleep.
 */
export function closeSessionScript(o: CloseSession): string {
  const dir = remoteRunPaths(o.stateDir, o.runId).dir;
  const target = { stateDir: o.stateDir, runId: o.runId };
  return (
    writeRunFilesScript(dir, o.files) +
    (o.monitor ? `${samplerStopSignal(target)}\n` : '') +
    runFilesScript(o.nonce, dir, ['timing.csv']) +
    (o.monitor ? `${samplerStopWait()}\n` : '') +
    runFilesScript(o.nonce, dir, ['resources.csv'], ['resources.csv']) +
    rebootRequiredScript(o.nonce) +
    lines([
      o.keepRuns ? oldRunsToRemove(o.stateDir, o.keepRuns, o.runId) : sh`set --`,
      ownLockToRemove(o.stateDir, o.runId),
      ...(o.monitor ? [raw(SAMPLER_FILES_TO_REMOVE)] : []),
      sh`set -- "$@" ${`${dir}/${RUN_FILES_STAGE}`}`,
      DRIVER_TMP_TO_REMOVE,
      sh`rm -rf -- "$@"; true`,
    ]).text
  );
}

/** Prints a file of the host, or nothing when it is not there. */
export function catFileScript(path: string): string {
  return sh`cat ${path} 2>/dev/null; true`.text;
}

/**
 * For `report fetch`: which run (the one asked for, or the newest whose name matches the
 * run-id pattern) as a RUN record, then that run's files (runFilesScript).
 */
export function fetchRunScript(nonce: string, runsDir: string, wanted: string | undefined, runIdEre: string): string {
  const pick = wanted
    ? sh`R=${wanted}`
    : sh`R=$(ls -1 ${runsDir} 2>/dev/null | grep -E ${`^${runIdEre}$`} | sort | tail -n 1)`;
  return (
    sh`${pick}; [ -n "$R" ] && [ -d ${runsDir}/"$R" ] || R=; printf '\\036%s RUN %s\\n' ${nonce} "$R"; [ -n "$R" ] || exit 0\n`
      .text + runFilesScript(nonce, sh`${runsDir}/"$R"`)
  );
}

/** Where Debian says a reboot is needed (an upgraded kernel, libc, ...). */
export const REBOOT_REQUIRED_FILE = '/var/run/reboot-required';

/** A REBOOT record when the host says a reboot is needed. */
export function rebootRequiredScript(nonce: string): string {
  return sh`[ ! -e ${REBOOT_REQUIRED_FILE} ] || printf '\\036%s REBOOT\\n' ${nonce}\n`.text;
}

/** One round trip: boot id, whether a reboot is still required, systemd's state (waited for, bounded). */
export function bootStateScript(nonce: string, waitS: number): string {
  return lines([
    sh`read b </proc/sys/kernel/random/boot_id; printf '\\036%s BOOT %s\\n' ${nonce} "$b"`,
    sh`[ ! -e ${REBOOT_REQUIRED_FILE} ] || printf '\\036%s REQUIRED\\n' ${nonce}`,
    // `--wait` returns once start-up is over; a bound in case it never is
    sh`s=$(timeout ${Math.trunc(waitS)} systemctl is-system-running --wait 2>/dev/null); printf '\\036%s SYSTEMD %s\\n' ${nonce} "\${s:-unknown}"`,
  ]).text;
}
