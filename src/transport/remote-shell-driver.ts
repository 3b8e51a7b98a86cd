// The long-lived remote sh (DESIGN §2: ~0.3-0.9 ms per script instead of a channel per
// command). Protocol: the controller writes "<id> <nbytes>\n" then exactly nbytes of
// script; the driver runs it with stdin from /dev/null (so it can never swallow the
// next request) and answers "\x1eDONE <id> <exit code>". `dd iflag=fullblock` reads
// exactly nbytes from the pipe; `read` in dash reads byte by byte, so nothing is lost.

export const RECORD = '\x1e';

export const DRIVER = [
  'umask 077',
  'T=$(mktemp -d "${TMPDIR:-/tmp}/vpsp.XXXXXXXX") || exit 97',
  // the folder above is private; what the steps create gets the usual 022
  'umask 022',
  `trap 'rm -rf "$T"' EXIT`,
  // on these signals exit through the EXIT trap, so the temp folder goes too
  `trap 'exit 129' HUP`,
  `trap 'exit 141' PIPE`,
  `trap 'exit 143' TERM`,
  // scripts name the driver (the lock's owner process) through this variable
  'VPSP_DRIVER=$$; export VPSP_DRIVER',
  `printf '\\036READY %s %s\\n' "$$" "$(id -un)"`,
  'while IFS=" " read -r id n; do',
  '  [ -n "$n" ] || continue',
  '  dd bs="$n" count=1 iflag=fullblock of="$T/s" 2>/dev/null',
  // its own process group (setsid), so an interrupt can stop the script and all it started
  '  setsid -w sh "$T/s" </dev/null 2>&1',
  `  printf '\\036DONE %s %s\\n' "$id" "$?"`,
  'done',
].join('\n');
