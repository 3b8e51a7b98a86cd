// The one curl command line of the steps that download on the host (deb, apt_repo).
import { shQuote } from '../commands/shell-quote.js';

/**
 * curl for a URL into `outWord` (a shell word, already quoted). An https URL is fetched
 * over https only, redirects included (no downgrade to http or another protocol); a plain
 * http URL stays on http(s).
 */
export function curlDownload(url: string, outWord: string, maxTimeS: number): string {
  const proto = url.startsWith('https://') ? '=https' : '=http,https';
  return `curl -fsSL --proto ${proto} --proto-redir ${proto} --retry 3 --retry-delay 2 --connect-timeout 30 --max-time ${maxTimeS} -o ${outWord} ${shQuote(url)}`;
}
