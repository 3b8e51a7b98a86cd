// The one curl command line of the steps that download on the host (deb, apt_repo).
import { sh, type ShellText } from '../shell/sh.js';
import { curlProtocols } from '../shell/curl-protocols.js';

/** curl for a URL into `out` (a path, or shell text such as "$d/package.deb"), protocols as curlProtocols says. */
export function curlDownload(url: string, out: string | ShellText, maxTimeS: number): ShellText {
  const proto = curlProtocols(url);
  return sh`curl -fsSL --proto ${proto} --proto-redir ${proto} --retry 3 --retry-delay 2 --connect-timeout 30 --max-time ${maxTimeS} -o ${out} ${url}`;
}
