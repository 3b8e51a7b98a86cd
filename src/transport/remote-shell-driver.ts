// The long-lived remote sh (DESIGN §2: ~0.3-0.9 ms per script instead of a channel per
// command). Protocol: the controller writes "<id> <nbytes>\n" then exactly nbytes of
// script; the driver runs it with stdin from /dev/null (so it can never swallow the
// next request) and answers "\x1eDONE <id> <exit code>". `dd iflag=fullblock` reads
// exactly nbytes from the pipe; `read` in dash reads byte by byte, so nothing is lost.
//
// A script runs only when all its bytes were written to the host's temp file (dd's own
// count, "1+0 records out"); otherwise the driver answers "\x1eFAIL <id>" and runs
// nothing (a full /tmp cut a lock-release script short once, and it deleted its parent
// folder). Each script is also self-checking (frameScript): its code is one function
// called on the last line, so a script cut short anyhow defines nothing and runs nothing.

import { EUID_SH } from '../shell/effective-uid.js';

export const RECORD = '\x1e';

export const DRIVER = [
  'umask 077',
  'T=$(mktemp -d "${TMPDIR:-/tmp}/vpsp.XXXXXXXX") || exit 97',
  // the folder above is private; what the steps create gets the usual 022
  'umask 022',
  // the closing script removes the folder itself, in the one rm that releases the lock
  // (VPSP_TMP): a folder already gone costs no process here
  `trap '[ ! -e "$T" ] || rm -rf -- "$T"' EXIT`,
  // on these signals exit through the EXIT trap, so the temp folder goes too
  `trap 'exit 129' HUP`,
  `trap 'exit 141' PIPE`,
  `trap 'exit 143' TERM`,
  // scripts name the driver (the lock's owner process), its user and its temp folder
  // through these, so they need no `id -un` of their own. The user: the effective uid
  // (EUID_SH, from /proc) and its name from /etc/passwd, by builtins (the first entry with
  // that uid, as getpwuid reads the file); `id -un` for a user the file does not hold (LDAP, NSS).
  EUID_SH,
  'VPSP_USER=; { while IFS=: read -r k _ i _; do [ "$i" != "$U" ] || { VPSP_USER=$k; break; }; done </etc/passwd; } 2>/dev/null',
  '[ -n "$VPSP_USER" ] || VPSP_USER=$(id -un)',
  'VPSP_DRIVER=$$; VPSP_TMP=$T; export VPSP_DRIVER VPSP_USER VPSP_TMP',
  `printf '\\036READY %s %s\\n' "$$" "$VPSP_USER"`,
  'while IFS=" " read -r id n; do',
  // a header that is not two numbers is not ours: skipped
  '  case $id in ""|*[!0-9]*) continue;; esac',
  '  case $n in ""|*[!0-9]*) continue;; esac',
  '  e=$(LC_ALL=C dd bs="$n" count=1 iflag=fullblock of="$T/s" 2>&1)',
  '  case $e in',
  '    *"1+0 records out"*) ;;',
  // not written whole (a full disk): answer an error; when dd could not even start, the
  // script's bytes are still in the pipe and are read away so the next header is in step
  `    *) case $e in *"records in"*) ;; *) LC_ALL=C dd bs="$n" count=1 iflag=fullblock of=/dev/null 2>/dev/null;; esac`,
  `       printf '\\036FAIL %s\\n' "$id"; continue;;`,
  '  esac',
  // its own process group (setsid), so an interrupt can stop the script and all it started
  '  setsid -w sh "$T/s" </dev/null 2>&1',
  `  printf '\\036DONE %s %s\\n' "$id" "$?"`,
  'done',
].join('\n');

/**
 * The script as sent: all of it inside one function, called on the last line. A copy
 * cut short is a syntax error (an open brace) or lacks the call: either way nothing runs.
 */
export function frameScript(script: string): string {
  return `vpsp_main() {\n:\n${script.endsWith('\n') ? script : `${script}\n`}}\nvpsp_main\n`;
}
