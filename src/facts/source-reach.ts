// Probe: does each external source resolve from the host itself? One curl per URL (a
// HEAD request; a ranged GET when the HEAD is refused), redirects followed, https kept
// for https URLs (a redirect to plain http fails), bounded by timeouts; up to 8 at once.
// An apt repository's alternatives (InRelease, Release) are tried in turn.
// Prints one record per source: "\x1e<nonce> SRC <index> <alternative tried last> <curl exit> <http code> <last Location|-> <curl message>".
import { sh, raw, join } from '../shell/sh.js';
import { curlProtocols } from '../shell/curl-protocols.js';

/** The record mark of the remote shell's protocol (src/transport/remote-shell-driver.ts). */
const RECORD = '\x1e';

const SOURCE_CONNECT_TIMEOUT_S = 10;
const SOURCE_MAX_TIME_S = 20;
const AT_ONCE = 8;

/** What the host answered for one source. */
export interface SourceReply {
  /** which of the source's URLs was tried last (0-based) */
  tried: number;
  exit: number;
  code: string;
  redirect: string;
  message: string;
}

// curl exit codes after which asking again (GET, or the next alternative on the same host)
// cannot help: unsupported protocol (a refused redirect), name, connection, timeout, TLS
const FINAL_ERRORS = '1|6|7|28|35|60';

/**
 * Shell text (POSIX sh) checking every source; each source's URLs are alternatives.
 * The URLs are data: each is one quoted word.
 */
export function sourceProbeScript(nonce: string, sources: readonly { urls: readonly string[] }[]): string {
  if (!sources.length) return ':';
  // -D -: the response headers (every hop's) on stdout, for the Location a refused redirect named
  const curl = sh`curl -sS -L --max-redirs 10 --connect-timeout ${SOURCE_CONNECT_TIMEOUT_S} --max-time ${SOURCE_MAX_TIME_S} -o /dev/null -D - -w '\\nvpsp-w %{http_code}\\n'`;
  const out = [
    sh`N=${nonce}`,
    sh`if ! command -v curl >/dev/null 2>&1; then printf '\\036%s NOCURL\\n' "$N"`,
    sh`elif ! D=$(mktemp -d); then printf '\\036%s SRCERR cannot make a temp dir\\n' "$N"`,
    sh`else`,
    // one request: sets e (curl's exit), c (last HTTP code), r (the last Location seen), m (curl's message)
    sh`vpsp_try() {
  p=$1; u=$2; shift 2
  o=$(${curl} --proto "$p" --proto-redir "$p" "$@" -- "$u" 2>&1 </dev/null); e=$?
  w=$(printf '%s\\n' "$o" | sed -n 's/^vpsp-w //p' | tail -n 1)
  m=$(printf '%s\\n' "$o" | grep '^curl: ' | head -n 1 | tr -d '\\r')
  r=$(printf '%s\\n' "$o" | sed -n 's/^[Ll][Oo][Cc][Aa][Tt][Ii][Oo][Nn]:[[:space:]]*//p' | tail -n 1 | tr -d ' \\t\\r')
  c=$w
  [ "$e" = 0 ] && case $c in 2??) true;; *) false;; esac
}`,
    sh`vpsp_reach() {
  i=$1; p=$2; shift 2; k=-1
  for u in "$@"; do
    k=$((k + 1))
    vpsp_try "$p" "$u" -I && break
    case $e in ${raw(FINAL_ERRORS)}) break;; esac`,
    // HEAD refused or answered oddly (405, 403, an empty reply): a one-byte GET decides
    sh`    vpsp_try "$p" "$u" -r 0-0 && break
    case $e in ${raw(FINAL_ERRORS)}) break;; esac
  done
  printf '\\036%s SRC %s %s %s %s %s %s\\n' "$N" "$i" "$k" "$e" "\${c:-000}" "\${r:--}" "$m"
}`,
  ];
  sources.forEach((s, i) => {
    out.push(sh`vpsp_reach ${i} ${curlProtocols(s.urls[0] ?? '')} ${s.urls} > "$D/${i}" &`);
    if ((i + 1) % AT_ONCE === 0) out.push(sh`wait`);
  });
  out.push(
    sh`wait`,
    sh`for f in ${sources.map((_, i) => i)}; do cat "$D/$f" 2>/dev/null; done`,
    sh`rm -rf -- "$D"`,
    sh`fi`,
  );
  return join(out, '\n').text;
}

/** Reads the probe's records from a script's output lines. */
export function sourceReplyReader(nonce: string): {
  onLine: (line: string) => boolean;
  replies: Map<number, SourceReply>;
  noCurl: () => boolean;
  error: () => string | undefined;
} {
  const prefix = `${RECORD}${nonce} `;
  const replies = new Map<number, SourceReply>();
  let noCurl = false;
  let error: string | undefined;
  return {
    replies,
    noCurl: () => noCurl,
    error: () => error,
    /** true when the line was one of the probe's */
    onLine(line) {
      if (!line.startsWith(prefix)) return false;
      const rest = line.slice(prefix.length);
      if (rest === 'NOCURL') noCurl = true;
      else if (rest.startsWith('SRCERR ')) error = rest.slice(7);
      else if (rest.startsWith('SRC ')) {
        const [index = '', tried = '', exit = '', code = '', redirect = '', ...message] = rest.slice(4).split(' ');
        if (/^\d+$/.test(index) && /^\d+$/.test(tried)) {
          replies.set(Number(index), {
            tried: Number(tried),
            exit: Number(exit),
            code,
            redirect: redirect === '-' ? '' : redirect,
            message: message.join(' '),
          });
        }
      } else return false;
      return true;
    },
  };
}

/** Why a source did not resolve (undefined: it did). */
export function sourceFailure(url: string, reply: SourceReply | undefined): string | undefined {
  if (!reply) return 'no answer from the host (the check did not finish)';
  const http = /^\d{3}$/.test(reply.code) && reply.code !== '000' ? reply.code : undefined;
  if (reply.exit === 0) return http?.startsWith('2') ? undefined : `HTTP ${reply.code}`;
  if (url.startsWith('https://') && reply.redirect.startsWith('http://')) {
    return `redirected to plain http (${reply.redirect}); only https is followed for an https URL`;
  }
  const message = reply.message.replace(/^curl: \(\d+\)\s*/, '');
  return `curl error ${reply.exit}${http ? ` after HTTP ${http}` : ''}${message ? `: ${message}` : ''}`;
}
