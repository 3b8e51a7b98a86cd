// The one curl command line of the steps that download on the host (deb, apt_repo).
import { shQuote } from '../commands/shell-quote.js';
import { curlProtocols } from '../commands/curl-protocols.js';

/** curl for a URL into `outWord` (a shell word, already quoted), protocols as curlProtocols says. */
export function curlDownload(url: string, outWord: string, maxTimeS: number): string {
  const proto = curlProtocols(url);
  return `curl -fsSL --proto ${proto} --proto-redir ${proto} --retry 3 --retry-delay 2 --connect-timeout 30 --max-time ${maxTimeS} -o ${outWord} ${shQuote(url)}`;
}
