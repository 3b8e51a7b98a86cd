// The host's OS facts: /etc/os-release (ID, VERSION_ID, VERSION_CODENAME, PRETTY_NAME) and
// the machine's architecture. The one owner of that probe: the session's first round trip
// (shell/host-scripts.ts) and `check` both run this text and parse it here.

export interface OsFacts {
  /** os-release ID, e.g. "debian" ("unknown" when the file says nothing usable) */
  id: string;
  /** os-release VERSION_ID, e.g. "12", "13" ("" when absent: testing/sid) */
  versionId: string;
  /** os-release VERSION_CODENAME, e.g. "bookworm" */
  codename: string;
  /** uname -m, e.g. "x86_64" */
  arch: string;
  /** os-release PRETTY_NAME, for people ("Debian GNU/Linux 12 (bookworm)") */
  pretty: string;
}

export const UNKNOWN_OS: OsFacts = { id: 'unknown', versionId: '', codename: '', arch: '', pretty: '' };

/**
 * Shell printing one line: id|version_id|codename|arch|pretty (no newline of its own; the
 * caller puts it in a record or a key=value line with $( )). Sourced in a subshell, so
 * nothing of os-release leaks into the calling shell.
 */
export function osReleaseProbe(): string {
  // the machine's arch from /proc (Linux 6.1 and later) by a builtin; `uname -m` before that
  return `( . /etc/os-release 2>/dev/null; a=; { read -r a </proc/sys/kernel/arch; } 2>/dev/null || a=$(uname -m 2>/dev/null); printf '%s|%s|%s|%s|%s' "\${ID:-}" "\${VERSION_ID:-}" "\${VERSION_CODENAME:-}" "$a" "\${PRETTY_NAME:-}" )`;
}

/**
 * Shell text setting OSR to the same line as osReleaseProbe prints, by builtins in the
 * calling shell (no subshell, no process): /etc/os-release is read as key=value lines, not
 * sourced, a value's one pair of outer quotes taken off (os-release(5); the fields parsed
 * here never hold escapes). Sets k, v, a, o_* as well.
 */
export function osReleaseRead(): string {
  return (
    `o_i=; o_v=; o_c=; o_p=; { while IFS== read -r k v; do case $v in \\"*\\") v=\${v#\\"}; v=\${v%\\"};; \\'*\\') v=\${v#\\'}; v=\${v%\\'};; esac; ` +
    `case $k in ID) o_i=$v;; VERSION_ID) o_v=$v;; VERSION_CODENAME) o_c=$v;; PRETTY_NAME) o_p=$v;; esac; done </etc/os-release; } 2>/dev/null; ` +
    `a=; { read -r a </proc/sys/kernel/arch; } 2>/dev/null || a=$(uname -m 2>/dev/null); OSR="$o_i|$o_v|$o_c|$a|$o_p"`
  );
}

// what the host prints is data: each field is kept only in the shape os-release defines
const ID = /^[a-z0-9._-]{1,64}$/;
const VERSION_ID = /^[A-Za-z0-9._~-]{1,32}$/;
const ARCH = /^[A-Za-z0-9_-]{1,32}$/;

/** The probe's line, parsed; a field that is not in its expected shape is left empty. */
export function parseOsRelease(line: string): OsFacts {
  const [id = '', versionId = '', codename = '', arch = '', ...pretty] = line.replace(/\r?\n$/, '').split('|');
  return {
    id: ID.test(id) ? id : 'unknown',
    versionId: VERSION_ID.test(versionId) ? versionId : '',
    codename: ID.test(codename) ? codename : '',
    arch: ARCH.test(arch) ? arch : '',
    // shown to people only (through the terminal-line helper); control characters dropped here
    pretty: pretty
      .join('|')
      .replace(/[\x00-\x1f\x7f]/g, '')
      .slice(0, 200),
  };
}

/** "Debian GNU/Linux 12 (bookworm)", else "debian 12", else "unknown OS". */
export function osName(os: OsFacts): string {
  return os.pretty || [os.id === 'unknown' ? '' : os.id, os.versionId].filter(Boolean).join(' ') || 'unknown OS';
}
