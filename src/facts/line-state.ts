// Probe: where a line (and the first match of a regexp) stands in a file.
// The same awk program shape is used by the line step's action, so probe and act
// agree on what matches (POSIX ERE via awk).
import { sh, heredoc, type ShellText } from '../shell/sh.js';

export interface LineState {
  fileExists: boolean;
  /** 1-based line number of the first exact occurrence, 0 when absent */
  presentAt: number;
  /** 1-based line number of the first regexp match, 0 when none or no regexp */
  matchAt: number;
  /** the text of the first matching line */
  matchText?: string;
}

/**
 * The line and the regexp as awk's standard input: a quoted here-document whose end marker
 * is not a line of the data (the data are single lines), so any length and any byte but
 * NUL and newline passes unchanged; no environment variable or argument (a 200 KB value
 * there fails every exec). Read with getline from /dev/stdin; the file is awk's argument.
 */
export function lineInput(line: string, regexp: string | undefined): ShellText {
  return heredoc('VPSP_LINE', `${line}\n${regexp ?? ''}`);
}

/** awk BEGIN that sets l (the line) and r (the regexp) from lineInput. */
export const LINE_BEGIN =
  'BEGIN{if ((getline l < "/dev/stdin") <= 0) l = ""; if ((getline r < "/dev/stdin") <= 0) r = ""}';

export function lineStateProbe(path: string, line: string, regexp?: string): string {
  const prog =
    `${LINE_BEGIN} ` +
    '!p && $0==l {p=NR} r!="" && !m && $0 ~ r {m=NR; mt=$0} ' +
    'END{printf "present=%d match=%d\\n%s", p, m, mt}';
  return sh`if [ -f ${path} ]; then awk ${prog} ${path} ${lineInput(line, regexp)}else echo missing; fi`.text;
}

export function parseLineState(text: string): LineState {
  if (text.trim() === 'missing') return { fileExists: false, presentAt: 0, matchAt: 0 };
  const nl = text.indexOf('\n');
  const head = nl < 0 ? text : text.slice(0, nl);
  const m = /^present=(\d+) match=(\d+)$/.exec(head.trim());
  if (!m) throw new Error(`unexpected line probe output: ${JSON.stringify(head)}`);
  return {
    fileExists: true,
    presentAt: Number(m[1]),
    matchAt: Number(m[2]),
    matchText: nl < 0 ? undefined : text.slice(nl + 1),
  };
}
