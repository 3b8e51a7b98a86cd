// Shell text by construction. Every script sent to a host is built with the `sh` tag:
// each interpolated value is one quoted shell word (shQuote), unless it is shell text
// already (another `sh` result, or `raw()` for a trusted fragment such as a builder's
// output or a fixed snippet). So a value can only become code by an explicit raw().
import { createHash } from 'node:crypto';
import { shQuote } from './shell-quote.js';

/** Shell text: safe to splice into a script as it is. */
export class ShellText {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What `sh` takes: a string is one word (quoted), a number its decimal, a list words joined by spaces. */
export type ShellValue = string | number | ShellText | readonly (string | number | ShellText)[];

function word(v: string | number | ShellText): string {
  if (v instanceof ShellText) return v.text;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a number for a shell script: ${v}`);
    return String(v);
  }
  if (typeof v !== 'string') throw new Error(`not a shell value: ${typeof v}`);
  return shQuote(v);
}

function render(v: ShellValue): string {
  return Array.isArray(v)
    ? (v as readonly (string | number | ShellText)[]).map(word).join(' ')
    : word(v as string | number | ShellText);
}

/** The tag: literal parts as written (escapes as in any template), each value rendered by `render`. */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): ShellText {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new ShellText(out);
}

/** Trusted shell text (a fixed snippet, or what another builder returned). */
export function raw(text: string): ShellText {
  return new ShellText(text);
}

/** Parts joined by `sep` (itself shell text): words by ' ', commands by '\n' or '; '. */
export function join(parts: readonly ShellValue[], sep = ' '): ShellText {
  return new ShellText(parts.map(render).join(sep));
}

/** Commands, one a line, with a final newline (a script). */
export function lines(parts: readonly ShellValue[]): ShellText {
  return new ShellText(parts.map(render).join('\n') + '\n');
}

/**
 * The end marker of a quoted here-document holding `body`: derived from the body (so the
 * same input gives the same script) and never a line of it (so the data cannot end it).
 */
export function heredocMarker(prefix: string, body: string): string {
  const bodyLines = new Set(body.split('\n'));
  let marker = `${prefix}_${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
  while (bodyLines.has(marker)) marker += '_';
  return marker;
}

/** `<<'M'` + newline + body + newline + `M` + newline: the redirection and the document, to end a command line. */
export function heredoc(prefix: string, body: string): ShellText {
  const marker = heredocMarker(prefix, body);
  return new ShellText(`<<'${marker}'\n${body}\n${marker}\n`);
}

/**
 * One word always in single quotes, even a plain one (shQuote leaves those bare): a script
 * cut short inside the quotes is a syntax error rather than a shorter path.
 */
export function quotedAlways(value: string): ShellText {
  return new ShellText(`'${value.replace(/'/g, `'\\''`)}'`);
}
