// --json output on a terminal: JSON.stringify escapes C0 controls but leaves C1 controls
// (U+0080-U+009F, which some terminals act on as CSI/OSC), DEL and the bidirectional
// overrides raw. Outside strings JSON text is ASCII, so escaping them as \uXXXX keeps the
// same JSON value, byte-safe on a terminal.
import { unsafeChars, unicodeEscape } from '../../unsafe-chars.js';

const UNSAFE = unsafeChars('\\u2028\\u2029');

export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE, unicodeEscape);
}
