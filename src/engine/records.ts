// Parses the records remote scripts print: lines "\x1e<nonce> TAG args...",
// with free text (probe output, failure output, batched probe output) between B/E, F/FE and G/GE records.
import { RECORD } from '../transport/remote-shell-driver.js';

export interface ScriptRecord {
  tag: string;
  args: string[];
  /** raw text after the tag */
  rest: string;
  /** lines collected between an opening (B, F, G) and its closing record (E, FE, GE) */
  body?: string;
  /** the first argument of the closing record line (E carries none; B carries exit code) */
}

/** A line handler that turns a script's stdout into records, in order. */
export function recordReader(nonce: string, onRecord: (r: ScriptRecord) => void, onStray?: (line: string) => void) {
  const prefix = `${RECORD}${nonce} `;
  let open: { rec: ScriptRecord; lines: string[]; closeTag: string } | undefined;
  return (line: string) => {
    if (line.startsWith(prefix)) {
      const rest = line.slice(prefix.length);
      const [tag = '', ...args] = rest.split(' ');
      if (open && tag === open.closeTag) {
        open.rec.body = open.lines.join('\n');
        const done = open.rec;
        open = undefined;
        onRecord(done);
        return;
      }
      const rec: ScriptRecord = { tag, args, rest: rest.slice(tag.length + 1) };
      if (tag === 'B') open = { rec, lines: [], closeTag: 'E' };
      else if (tag === 'F') open = { rec, lines: [], closeTag: 'FE' };
      else if (tag === 'G') open = { rec, lines: [], closeTag: 'GE' };
      else onRecord(rec);
      return;
    }
    if (open) open.lines.push(line);
    else onStray?.(line);
  };
}

/** What sh's $( ) keeps of an output: trailing newlines removed. */
export function trimTrailingNewlines(text: string): string {
  return text.replace(/\n+$/, '');
}
