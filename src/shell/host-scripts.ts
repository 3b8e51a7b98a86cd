// Pure builders of the per-host session scripts: open (state folders, lock, checkpoints,
// OS facts, in one round trip) and close (release the lock).
import { sh, raw, join, lines, quotedAlways, type ShellText } from './sh.js';
import { stopSamplerShell } from '../monitor/monitor-commands.js';
import { osReleaseProbe } from '../facts/os-release.js';

export interface LockOwner {
  runId: string;
  /** who holds it, e.g. "ana@laptop (pid 1234)" */
  holder: string;
}

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
    sh`if [ -d "$S" ]; then SO=$(stat -c %u -- "$S") && SM=$(stat -c %a -- "$S") || { printf '\\036%s ERR cannot inspect %s\\n' "$N" "$S"; exit 0; }`,
    sh`  [ "$SO" = "$(id -u)" ] || { printf '\\036%s ERR state dir %s is owned by uid %s, not by %s (uid %s)\\n' "$N" "$S" "$SO" "$(id -un)" "$(id -u)"; exit 0; }`,
    sh`  [ $(( 0$SM & 022 )) -eq 0 ] || { printf '\\036%s ERR state dir %s may be written by group or others (mode %s)\\n' "$N" "$S" "$SM"; exit 0; }; fi`,
    owner
      ? sh`( umask 077 && mkdir -p "$S/checkpoints" "$S/runs" ) || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }`
      : sh`:`,
    sh`B=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)`,
    // the login user, then the OS facts (facts/os-release.ts: id|version_id|codename|arch|pretty)
    sh`printf '\\036%s OS %s|%s\\n' "$N" "$(id -un)" "$( ${raw(osReleaseProbe())} )"`,
    // free space where the state dir is (or would be: its nearest existing parent)
    sh`d="$S"; i=0; while [ ! -d "$d" ] && [ $i -lt 64 ]; do case "$d" in */*) d=\${d%/*}; d=\${d:-/};; *) d=.;; esac; i=$((i+1)); done`,
    sh`df -Pk "$d" 2>/dev/null | awk -v n="$N" 'NR==2{printf "\\036%s DF %s\\n", n, $4}'`,
    sh`for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\\036%s CK %s %s\\n' "$N" "\${f##*/}" "$c"; done`,
  ];
  if (owner) {
    out.push(sh`mkdir -p "$S/runs/"${owner.runId}`);
    out.push(
      sh`R=${owner.runId}; H=${holderLine(owner.holder)}`,
      // pid: the long-lived driver shell of this controller; when it is gone the lock is stale
      sh`info() { printf 'run=%s\\nholder=%s\\npid=%s\\nboot=%s\\nsince=%s\\n' "$R" "$H" "\${VPSP_DRIVER:-$PPID}" "$B" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"; }`,
      sh`own() { t=$(mktemp -d "$S/.lock.XXXXXXXX") || return 1; chmod 755 "$t"; if info > "$t/owner" && mv -T -- "$t" "$L" 2>/dev/null; then return 0; fi; rm -rf -- "$t"; return 1; }`,
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
  // only our own lock: a lock taken over by someone else stays theirs
  return sh`grep -qx ${`run=${runId}`} ${L}/owner 2>/dev/null && rm -rf -- ${L}; true\n`.text;
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
 * Keeps the newest `keep` runs in $STATE_DIR/runs (this one always among them; refused
 * and failed runs count like the others). Only names matching the run-id pattern are
 * touched; ids start with a UTC stamp, so their order is their age.
 */
export function pruneRunsScript(stateDir: string, runIdEre: string, keep: number, currentRunId: string): string {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number >= 1, got ${keep}`);
  return join(
    [
      sh`( cd ${`${stateDir}/runs`} 2>/dev/null && ls -1 | grep -E ${`^${runIdEre}$`} | grep -vxF ${currentRunId} | sort -r | tail -n +${keep} | `,
      sh`while IFS= read -r d; do rm -rf -- "./$d"; done ); true\n`,
    ],
    '',
  ).text;
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
