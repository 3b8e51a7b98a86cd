// Pure builders of the per-host session scripts: open (state folders, lock, checkpoints,
// OS facts, in one round trip) and close (release the lock).
import { sh, raw, join, lines, quotedAlways, type ShellText } from './sh.js';
import { stopSamplerShell } from '../monitor/monitor-commands.js';
import { osReleaseProbe } from '../facts/os-release.js';

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

/**
 * Shell text setting U to the shell's effective uid, as `id -u` prints it, read from
 * /proc/self/status by builtins (no process); `id -u` where there is no /proc.
 */
const EUID_SH = `U=; { while read -r k r e _; do [ "$k" = Uid: ] && { U=$e; break; }; done </proc/self/status; } 2>/dev/null; [ -n "$U" ] || U=$(id -u)`;

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
    // this run's folder with them, in one mkdir (private, like the state dir)
    owner
      ? sh`( umask 077 && mkdir -p "$S/checkpoints" "$S/runs/"${owner.runId} ) || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }`
      : sh`:`,
    sh`B=; { read -r B </proc/sys/kernel/random/boot_id; } 2>/dev/null`,
    // the login user, then the OS facts (facts/os-release.ts: id|version_id|codename|arch|pretty)
    sh`printf '\\036%s OS %s|%s\\n' "$N" "${raw(USER_SH)}" "$( ${raw(osReleaseProbe())} )"`,
    // free space where the state dir is (or would be: its nearest existing parent)
    sh`d="$S"; i=0; while [ ! -d "$d" ] && [ $i -lt 64 ]; do case "$d" in */*) d=\${d%/*}; d=\${d:-/};; *) d=.;; esac; i=$((i+1)); done`,
    // df -P in the C locale: a header of 7 words, then the line whose 4th field is what is free
    sh`set -f; set -- $(LC_ALL=C df -Pk "$d" 2>/dev/null); set +f; [ $# -lt 11 ] || printf '\\036%s DF %s\\n' "$N" "\${11}"`,
    sh`for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\\036%s CK %s %s\\n' "$N" "\${f##*/}" "$c"; done`,
  ];
  if (owner) {
    out.push(
      sh`R=${owner.runId}; H=${holderLine(owner.holder)}; SI=${owner.since}`,
      // pid: the long-lived driver shell of this controller; when it is gone the lock is stale
      sh`info() { printf 'run=%s\\nholder=%s\\npid=%s\\nboot=%s\\nsince=%s\\n' "$R" "$H" "\${VPSP_DRIVER:-$PPID}" "$B" "$SI"; }`,
      // built under a name of this script's own (the nonce; mkdir never reuses what is there)
      sh`own() { t="$S/.lock.$N"; mkdir -m 755 -- "$t" 2>/dev/null || return 1; if info > "$t/owner" && mv -T -- "$t" "$L" 2>/dev/null; then return 0; fi; rm -rf -- "$t"; return 1; }`,
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

export function releaseLockScript(stateDir: string, runId: string): string {
  // always in quotes: a script cut short inside them is a syntax error, not a shorter path
  const L = quotedAlways(`${stateDir}/lock`);
  // only our own lock: a lock taken over by someone else stays theirs (its owner file read by builtins)
  return sh`f=; { while IFS= read -r x || [ -n "$x" ]; do [ "$x" != ${`run=${runId}`} ] || { f=1; break; }; done < ${L}/owner; } 2>/dev/null; [ -z "$f" ] || rm -rf -- ${L}; true\n`
    .text;
}

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
 * Print a run's files between B/E records tagged with the file name.
 * runDir is a shell word: a literal path (sh quotes it) or shell text built from a variable.
 */
export function runFilesScript(
  nonce: string,
  runDir: string | ShellText,
  names: readonly RunFileName[] = RUN_FILES,
): string {
  return join(
    [
      sh`for f in ${names}; do p=${runDir}/"$f"; if [ -f "$p" ]; then `,
      sh`printf '\\036%s B %s 0\\n' ${nonce} "$f"; cat "$p"; printf '\\n\\036%s E %s\\n' ${nonce} "$f"; fi; done\n`,
    ],
    '',
  ).text;
}

/** Writes files into a run folder on the host (each to a temp name, then renamed). */
export function writeRunFilesScript(runDir: string, files: Partial<Record<RunFileName, string>>): string {
  return Object.entries(files)
    .map(([name, text]) => {
      if (!(RUN_FILES as readonly string[]).includes(name)) throw new Error(`not a run file: ${name}`);
      return sh`printf '%s' ${text!} > ${runDir}/${name}.tmp.$$ && mv -f ${runDir}/${name}.tmp.$$ ${runDir}/${name}\n`
        .text;
    })
    .join('');
}

/**
 * Shell function `isrun NAME`: whether NAME has the shape of a run id (report-paths'
 * RUN_ID_ERE: 8 digits, T, 6 digits, Z, a dash, 4 to 32 lowercase hex), by builtins.
 */
export const IS_RUN_ID_SH =
  'isrun() { case $1 in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*) ;; *) return 1;; esac; h=${1#*Z-}; case $h in *[!0-9a-f]*) return 1;; esac; [ ${#h} -ge 4 ] && [ ${#h} -le 32 ]; }';

/**
 * Keeps the newest `keep` runs in $STATE_DIR/runs (this one always among them; refused
 * and failed runs count like the others). Only names of the run-id shape are touched; ids
 * start with a UTC stamp, so the glob's order is their age. Builtins but one rm, and that
 * only when there is something to remove.
 */
export function pruneRunsScript(stateDir: string, keep: number, currentRunId: string): string {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number >= 1, got ${keep}`);
  return lines([
    sh`( cd ${`${stateDir}/runs`} 2>/dev/null || exit 0`,
    raw(IS_RUN_ID_SH),
    sh`set --; for d in [0-9]*Z-*; do isrun "$d" && [ "$d" != ${currentRunId} ] && set -- "$@" "$d"; done`,
    // what is left in "$@": all but the newest keep-1, oldest first
    sh`c=$#; for d; do shift; [ $c -le ${keep - 1} ] || set -- "$@" "./$d"; c=$((c-1)); done`,
    sh`[ $# -eq 0 ] || rm -rf -- "$@" ); true`,
  ]).text;
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
