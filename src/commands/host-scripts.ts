// Pure builders of the per-host session scripts: open (state folders, lock, checkpoints,
// OS facts, in one round trip) and close (release the lock).
import { shQuote } from './shell-quote.js';
import { stopSamplerShell } from '../monitor/monitor-commands.js';

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
  const S = shQuote(stateDir);
  const lines = [
    `N=${nonce}; S=${S}; L="$S/lock"`,
    // created private (apply only: a plan writes nothing); one that exists must be the
    // steps' user's own and not writable by others
    `[ ! -L "$S" ] || { printf '\\036%s ERR state dir %s is a symbolic link\\n' "$N" "$S"; exit 0; }`,
    owner ? `[ -d "$S" ] || ( umask 077 && mkdir -p "$S" ) || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }` : ':',
    `if [ -d "$S" ]; then SO=$(stat -c %u -- "$S") && SM=$(stat -c %a -- "$S") || { printf '\\036%s ERR cannot inspect %s\\n' "$N" "$S"; exit 0; }`,
    `  [ "$SO" = "$(id -u)" ] || { printf '\\036%s ERR state dir %s is owned by uid %s, not by %s (uid %s)\\n' "$N" "$S" "$SO" "$(id -un)" "$(id -u)"; exit 0; }`,
    `  [ $(( 0$SM & 022 )) -eq 0 ] || { printf '\\036%s ERR state dir %s may be written by group or others (mode %s)\\n' "$N" "$S" "$SM"; exit 0; }; fi`,
    owner ? `( umask 077 && mkdir -p "$S/checkpoints" "$S/runs" ) || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }` : ':',
    `B=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)`,
    `( . /etc/os-release 2>/dev/null; printf '\\036%s OS %s|%s|%s|%s|%s\\n' "$N" "\${ID:-unknown}" "\${VERSION_ID:-}" "\${PRETTY_NAME:-}" "$(uname -m)" "$(id -un)" )`,
    // free space where the state dir is (or would be: its nearest existing parent)
    `d="$S"; i=0; while [ ! -d "$d" ] && [ $i -lt 64 ]; do case "$d" in */*) d=\${d%/*}; d=\${d:-/};; *) d=.;; esac; i=$((i+1)); done`,
    `df -Pk "$d" 2>/dev/null | awk -v n="$N" 'NR==2{printf "\\036%s DF %s\\n", n, $4}'`,
    `for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\\036%s CK %s %s\\n' "$N" "\${f##*/}" "$c"; done`,
  ];
  if (owner) {
    const R = shQuote(owner.runId);
    lines.push(`mkdir -p "$S/runs/"${R}`);
    lines.push(
      `R=${R}; H=${shQuote(holderLine(owner.holder))}`,
      // pid: the long-lived driver shell of this controller; when it is gone the lock is stale
      `info() { printf 'run=%s\\nholder=%s\\npid=%s\\nboot=%s\\nsince=%s\\n' "$R" "$H" "\${VPSP_DRIVER:-$PPID}" "$B" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"; }`,
      `own() { t=$(mktemp -d "$S/.lock.XXXXXXXX") || return 1; chmod 755 "$t"; if info > "$t/owner" && mv -T -- "$t" "$L" 2>/dev/null; then return 0; fi; rm -rf -- "$t"; return 1; }`,
      `rdo() { run=; holder=; pid=; boot=; since=; [ -f "$1/owner" ] || return 1; while IFS='=' read -r k v; do case "$k" in run) run=$v;; holder) holder=$v;; pid) pid=$v;; boot) boot=$v;; since) since=$v;; esac; done < "$1/owner"; [ -n "$run" ]; }`,
      `age() { a=$(stat -c %Y -- "$1" 2>/dev/null) || { echo 0; return; }; echo $(( $(date +%s) - a )); }`,
      `say() { printf '\\036%s LOCK %s %s|%s|%s\\n' "$N" "$1" "$since" "$run" "$holder"; }`,
      // the stale run's sampler (its PID file under its own run folder; the run id is from the host: checked first)
      `stopold() {\ncase $1 in ''|.*|*[!A-Za-z0-9._-]*) return 0;; esac\npf="$S/runs/$1/monitor.pid"\n${stopSamplerShell()}\n} >/dev/null 2>&1`,
      `OWN=; ST=`,
      `if [ ! -e "$L" ] && own; then ST=acquired; run=; holder=; since=`,
      `elif rdo "$L" && [ "$run" = "$R" ]; then`,
      // our own run's lock (re-taken after a dropped connection): the new driver is its pid now
      `  info > "$L/owner.new" && mv -f -- "$L/owner.new" "$L/owner" && ST=acquired`,
      `elif [ -n "$run" ]; then`,
      `  if [ -n "$pid" ] && [ "$boot" = "$B" ] && [ -d "/proc/$pid" ]; then ST=held; else ST=stale; fi`,
      `elif [ ! -e "$L" ] && own; then ST=acquired`,
      `elif [ "$(age "$L")" -lt ${LOCK_GRACE_S} ]; then ST=held; since=; run=; holder='(a lock without an owner, held for ${LOCK_GRACE_S} s)'`,
      `else ST=stale; fi`,
      `if [ "$ST" = stale ]; then`,
      `  X=$run; ST=held`,
      `  if mkdir "$L/.takeover" 2>/dev/null; then`,
      // under the mutex: still the lock judged stale? then nobody else can move it
      `    if { rdo "$L" || [ -z "$X" ]; } && [ "$run" = "$X" ] && mv -T -- "$L" "$S/.lock.stale.$N" 2>/dev/null; then`,
      `      own && rdo "$L" && [ "$run" = "$R" ] && ST=stale`,
      // the stale run's sampler goes with its lock (even when another controller got in first)
      `      rdo "$S/.lock.stale.$N"; stopold "$run"; [ "$ST" = stale ] || rdo "$L"`,
      `      rm -rf -- "$S/.lock.stale.$N"`,
      `    else rmdir -- "$L/.takeover" 2>/dev/null; rdo "$L"; fi`,
      // a take-over under way, or one whose controller died (its mutex goes after the grace period)
      `  elif [ "$(age "$L/.takeover")" -ge ${LOCK_GRACE_S} ]; then rmdir -- "$L/.takeover" 2>/dev/null; fi`,
      `fi`,
      `[ "$ST" = held ] || OWN=1`,
      `say "$ST"`,
    );
    if (whenLocked) lines.push(`if [ "$OWN" = 1 ]; then`, whenLocked, 'fi');
  }
  lines.push(`printf '\\036%s END\\n' "$N"`);
  return lines.join('\n') + '\n';
}

/** The default state dir of the user a shell runs as (SPEC §2), as an SD record. */
export function stateDirScript(nonce: string): string {
  return `if [ "$(id -u)" = 0 ]; then S=/var/lib/vps-provision; else X=\${XDG_STATE_HOME:-}; ` +
    // XDG: a relative $XDG_STATE_HOME is to be ignored
    `case "$X" in /*) ;; *) X="$HOME/.local/state";; esac; S="$X/vps-provision"; fi; printf '\\036%s SD %s\\n' ${nonce} "$S"\n`;
}

export function releaseLockScript(stateDir: string, runId: string): string {
  // always in quotes: a script cut short inside them is a syntax error, not a shorter path
  const L = `'${stateDir.replace(/'/g, `'\\''`)}/lock'`;
  // only our own lock: a lock taken over by someone else stays theirs
  return `grep -qx ${shQuote(`run=${runId}`)} ${L}/owner 2>/dev/null && rm -rf -- ${L}; true\n`;
}

/** Wait (bounded) until a process has exited: the script orphaned by a dropped connection. */
export function waitForScriptScript(pid: number, maxSeconds: number): string {
  return `i=0; while [ -d /proc/${Math.trunc(pid)} ] && [ $i -lt ${maxSeconds * 5} ]; do sleep 0.2; i=$((i+1)); done; true\n`;
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
 * runDir is a shell word, already quoted: a literal path, or one built from a variable.
 */
export function runFilesScript(nonce: string, runDir: string, names: readonly RunFileName[] = RUN_FILES): string {
  return `for f in ${names.join(' ')}; do p=${runDir}/"$f"; if [ -f "$p" ]; then ` +
    `printf '\\036%s B %s 0\\n' ${nonce} "$f"; cat "$p"; printf '\\n\\036%s E %s\\n' ${nonce} "$f"; fi; done\n`;
}

/** Writes files into a run folder on the host (each to a temp name, then renamed). */
export function writeRunFilesScript(runDir: string, files: Partial<Record<RunFileName, string>>): string {
  const D = shQuote(runDir);
  return Object.entries(files).map(([name, text]) => {
    if (!(RUN_FILES as readonly string[]).includes(name)) throw new Error(`not a run file: ${name}`);
    return `printf '%s' ${shQuote(text!)} > ${D}/${name}.tmp.$$ && mv -f ${D}/${name}.tmp.$$ ${D}/${name}\n`;
  }).join('');
}

/**
 * Keeps the newest `keep` runs in $STATE_DIR/runs (this one always among them; refused
 * and failed runs count like the others). Only names matching the run-id pattern are
 * touched; ids start with a UTC stamp, so their order is their age.
 */
export function pruneRunsScript(stateDir: string, runIdEre: string, keep: number, currentRunId: string): string {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number >= 1, got ${keep}`);
  return `( cd ${shQuote(`${stateDir}/runs`)} 2>/dev/null && ls -1 | grep -E ${shQuote(`^${runIdEre}$`)} | grep -vxF ${shQuote(currentRunId)} | sort -r | tail -n +${keep} | ` +
    `while IFS= read -r d; do rm -rf -- "./$d"; done ); true\n`;
}
