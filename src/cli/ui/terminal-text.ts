// The one helper for text that came from a host (or a file) on its way to a terminal:
// escape sequences and control characters are removed, newline and tab kept, so a host
// cannot clear the screen, retitle the window, hide text or move the cursor.
import { stripVTControlCharacters } from 'node:util';
import { unsafeChars, visibleEscape } from '../../unsafe-chars.js';

// C0 controls but tab and newline, DEL, C1 and the bidirectional controls
const CONTROL = unsafeChars('\\u0000-\\u0008\\u000b-\\u001f');

export function terminalText(text: string): string {
  return stripVTControlCharacters(String(text)).replace(CONTROL, '');
}

// every control character, newline and tab included, and the bidirectional controls
const LINE_CONTROL = unsafeChars('\\u0000-\\u001f');
const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/**
 * A name, reason or message as one terminal line: every control character (newline, ESC,
 * C1, bidi controls) shown as a visible escape (\n, \x1b, \u202e), so what follows an ESC
 * is harmless text and a name never spans lines or moves the cursor.
 */
export function terminalLine(text: string): string {
  return String(text).replace(LINE_CONTROL, (c) => NAMED[c] ?? visibleEscape(c));
}
