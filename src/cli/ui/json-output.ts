// --json output on a terminal: JSON.stringify escapes C0 controls but leaves C1 controls
// (U+0080-U+009F, which some terminals act on as CSI/OSC), DEL and the bidirectional
// overrides raw. Outside strings JSON text is ASCII, so escaping them as \uXXXX keeps the
// same JSON value, byte-safe on a terminal.
const UNSAFE = /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
