// Probe: where a line (and the first match of a regexp) stands in a file.
// The same awk program shape is used by the line step's action, so probe and act
// agree on what matches (POSIX ERE via awk).
import { shQuote } from '../commands/shell-quote.js';

export interface LineState {
  fileExists: boolean;
  /** 1-based line number of the first exact occurrence, 0 when absent */
  presentAt: number;
  /** 1-based line number of the first regexp match, 0 when none or no regexp */
  matchAt: number;
  /** the text of the first matching line */
  matchText?: string;
}

export function lineEnv(line: string, regexp: string | undefined): string {
  return `VPSP_LINE=${shQuote(line)} VPSP_RE=${shQuote(regexp ?? '')}`;
}

export function lineStateProbe(path: string, line: string, regexp?: string): string {
  const p = shQuote(path);
  const prog = 'BEGIN{l=ENVIRON["VPSP_LINE"];r=ENVIRON["VPSP_RE"]} ' +
    '!p && $0==l {p=NR} r!="" && !m && $0 ~ r {m=NR; mt=$0} ' +
    'END{printf "present=%d match=%d\\n%s", p, m, mt}';
  return `if [ -f ${p} ]; then ${lineEnv(line, regexp)} awk ${shQuote(prog)} ${p}; else echo missing; fi`;
}

export function parseLineState(text: string): LineState {
  if (text.trim() === 'missing') return { fileExists: false, presentAt: 0, matchAt: 0 };
  const nl = text.indexOf('\n');
  const head = nl < 0 ? text : text.slice(0, nl);
  const m = /^present=(\d+) match=(\d+)$/.exec(head.trim());
  if (!m) throw new Error(`unexpected line probe output: ${JSON.stringify(head)}`);
  return { fileExists: true, presentAt: Number(m[1]), matchAt: Number(m[2]), matchText: nl < 0 ? undefined : text.slice(nl + 1) };
}
