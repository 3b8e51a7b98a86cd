// The one list of characters that must not reach a terminal or a page raw, and the one
// way to show them instead. Each place adds what is unsafe there too (C0 controls on a
// terminal, `<` in a script), so the list itself cannot drift apart between them.

/** DEL and the C1 controls (some terminals act on U+009B as CSI, U+009D as OSC), and the
 * bidirectional controls that make text read differently from what it is. */
const C1_AND_BIDI = '\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';

/** A global RegExp matching C1, DEL and bidi controls plus `extra` (a character-class body). */
export function unsafeChars(extra: string, { runs = false } = {}): RegExp {
  return new RegExp(`[${extra}${C1_AND_BIDI}]${runs ? '+' : ''}`, 'g');
}

/** `\uXXXX`: the same character again in JSON or JavaScript text. */
export function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** A character shown as a visible escape: `\x1b` below U+0100, else `\u202e`. */
export function visibleEscape(c: string): string {
  return c < '\u0100' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : unicodeEscape(c);
}
