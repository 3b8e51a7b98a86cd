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
