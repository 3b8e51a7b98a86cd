// The effective uid of the shell that runs this text, by builtins: one owner for the remote
// driver (which names its user from it) and the session scripts (which check the state dir's owner).

/**
 * Shell text setting U to the shell's effective uid, as `id -u` prints it, read from
 * /proc/self/status by builtins (no process); `id -u` where there is no /proc.
 */
export const EUID_SH = `U=; { while read -r k r e _; do [ "$k" = Uid: ] && { U=$e; break; }; done </proc/self/status; } 2>/dev/null; [ -n "$U" ] || U=$(id -u)`;
