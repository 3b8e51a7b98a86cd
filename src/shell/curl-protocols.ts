// The protocols curl may use for a URL on the host: shared by the downloads of the steps
// (src/steps/download.ts) and the source preflight (src/facts/source-reach.ts), so the
// preflight follows exactly what the download will.

/**
 * curl's --proto/--proto-redir value for a URL: an https URL stays on https, redirects
 * included (no downgrade to http or another protocol); a plain http URL stays on http(s).
 */
export function curlProtocols(url: string): string {
  return url.startsWith('https://') ? '=https' : '=http,https';
}
