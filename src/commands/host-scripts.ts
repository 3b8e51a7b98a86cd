// Pure builders of the per-host session scripts: open (state folders, lock, checkpoints,
// OS facts, in one round trip) and close (release the lock).
import { shQuote } from './shell-quote.js';

export interface LockOwner {
  runId: string;
  /** who holds it, e.g. "ana@laptop (pid 1234)" */
  holder: string;
}

/**
 * @param whenLocked shell text run only when this controller got the lock (the monitor start)
 */
export function openSessionScript(nonce: string, stateDir: string, owner: LockOwner | null, whenLocked = ''): string {
  const S = shQuote(stateDir);
  const lines = [
    `N=${nonce}; S=${S}; L="$S/lock"`,
    `mkdir -p "$S/checkpoints" "$S/runs" || { printf '\\036%s ERR cannot create %s\\n' "$N" "$S"; exit 0; }`,
    `B=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)`,
    `( . /etc/os-release 2>/dev/null; printf '\\036%s OS %s|%s|%s|%s|%s\\n' "$N" "\${ID:-unknown}" "\${VERSION_ID:-}" "\${PRETTY_NAME:-}" "$(uname -m)" "$(id -un)" )`,
    `df -Pk "$S" 2>/dev/null | awk -v n="$N" 'NR==2{printf "\\036%s DF %s\\n", n, $4}'`,
    `for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\\036%s CK %s %s\\n' "$N" "\${f##*/}" "$c"; done`,
  ];
  if (owner) {
    lines.push(`mkdir -p "$S/runs/"${shQuote(owner.runId)}`);
    // pid: the long-lived driver shell of this controller; when it is gone the lock is stale
    const info = `run=${owner.runId}\\nholder=${owner.holder}\\npid=%s\\nboot=%s\\nsince=%s\\n`;
    const write = `printf ${shQuote(info)} "\${VPSP_DRIVER:-$PPID}" "$B" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$L/owner"`;
    lines.push(
      `OWN=; if mkdir "$L" 2>/dev/null; then ${write}; OWN=1; printf '\\036%s LOCK acquired\\n' "$N"; else`,
      `  run=; holder=; pid=; boot=; since=`,
      `  while IFS='=' read -r k v; do case "$k" in run) run=$v;; holder) holder=$v;; pid) pid=$v;; boot) boot=$v;; since) since=$v;; esac; done < "$L/owner" 2>/dev/null`,
      `  if [ -n "$pid" ] && [ "$boot" = "$B" ] && [ -d "/proc/$pid" ] && [ "$run" != ${shQuote(owner.runId)} ]; then`,
      `    printf '\\036%s LOCK held %s|%s|%s\\n' "$N" "$since" "$run" "$holder"`,
      `  elif mv "$L" "$L.stale.$$" 2>/dev/null && mkdir "$L" 2>/dev/null; then ${write}; OWN=1; rm -rf "$L.stale.$$"; printf '\\036%s LOCK stale %s|%s|%s\\n' "$N" "$since" "$run" "$holder"`,
      `  else printf '\\036%s LOCK held %s|%s|%s\\n' "$N" "$since" "$run" "$holder"; fi`,
      `fi`,
    );
    if (whenLocked) lines.push(`if [ "$OWN" = 1 ]; then`, whenLocked, 'fi');
  }
  lines.push(`printf '\\036%s END\\n' "$N"`);
  return lines.join('\n') + '\n';
}

export function releaseLockScript(stateDir: string, runId: string): string {
  const L = shQuote(`${stateDir}/lock`);
  // only our own lock: a lock taken over by someone else stays theirs
  return `grep -qx ${shQuote(`run=${runId}`)} ${L}/owner 2>/dev/null && rm -rf ${L}; true\n`;
}

/** Wait (bounded) until a process has exited: the script orphaned by a dropped connection. */
export function waitForScriptScript(pid: number, maxSeconds: number): string {
  return `i=0; while [ -d /proc/${Math.trunc(pid)} ] && [ $i -lt ${maxSeconds * 5} ]; do sleep 0.2; i=$((i+1)); done; true\n`;
}

/**
 * Print a run's timing.csv and resources.csv between B/E records (tags timing, resources).
 * runDir is a shell word, already quoted: a literal path, or one built from a variable.
 */
export function runCsvsScript(nonce: string, runDir: string): string {
  return `for f in timing resources; do p=${runDir}/"$f.csv"; if [ -f "$p" ]; then ` +
    `printf '\\036%s B %s 0\\n' ${nonce} "$f"; cat "$p"; printf '\\n\\036%s E %s\\n' ${nonce} "$f"; fi; done\n`;
}
