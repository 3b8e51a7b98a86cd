// The one helper for text that came from a host (or a file) on its way to a terminal:
// escape sequences and control characters are removed, newline and tab kept, so a host
// cannot clear the screen, retitle the window, hide text or move the cursor.
import { stripVTControlCharacters } from 'node:util';

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides
// that can make a line read differently from what it is
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalText(text: string): string {
  return stripVTControlCharacters(String(text)).replace(CONTROL, '');
}

// every control character, newline and tab included, and the bidirectional controls
const LINE_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/**
 * A name, reason or message as one terminal line: every control character (newline, ESC,
 * C1, bidi controls) shown as a visible escape (\n, \x1b, \u202e), so what follows an ESC
 * is harmless text and a name never spans lines or moves the cursor.
 */
export function terminalLine(text: string): string {
  return String(text).replace(LINE_CONTROL, (c) => NAMED[c] ?? (c < '\u0100' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
