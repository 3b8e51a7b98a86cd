// The one curl command line of the steps that download on the host (deb, apt_repo), and
// the protocols a URL may use (shared with the source preflight, src/facts/source-reach.ts).
import { shQuote } from '../commands/shell-quote.js';

/**
 * curl's --proto/--proto-redir value for a URL: an https URL stays on https, redirects
 * included (no downgrade to http or another protocol); a plain http URL stays on http(s).
 */
export function curlProtocols(url: string): string {
  return url.startsWith('https://') ? '=https' : '=http,https';
}

/** curl for a URL into `outWord` (a shell word, already quoted), protocols as curlProtocols says. */
export function curlDownload(url: string, outWord: string, maxTimeS: number): string {
  const proto = curlProtocols(url);
  return `curl -fsSL --proto ${proto} --proto-redir ${proto} --retry 3 --retry-delay 2 --connect-timeout 30 --max-time ${maxTimeS} -o ${outWord} ${shQuote(url)}`;
}
