// Markup is built in one way only: the `html` tagged template, which escapes every
// interpolated value as HTML text unless it is markup built the same way. Host and
// YAML text (names, messages, step output) can so only ever land as text.

import { unsafeChars, unicodeEscape, visibleEscape } from '../unsafe-chars.js';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// control characters (C0 but tab, newline and CR; DEL; C1) and the bidirectional controls
// that make text read differently from what it is: a page shows them as visible escapes
const CONTROLS = unsafeChars('\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f');

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
    .replace(CONTROLS, visibleEscape);
}

/** Markup that is already safe (built by `html` or escaped): passed through as is. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * Every interpolated value is escaped as HTML text unless it is SafeHtml (the result
 * of another `html` call); arrays are joined; null, undefined and false are nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

function part(v: unknown): string {
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

/** JSON safe inside <script>: no "</script", no "<!--", no JS-breaking line separators, no raw control character (\\uXXXX, the same value). */
const SCRIPT_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

const SCRIPT_UNSAFE = unsafeChars('<>&\\u2028\\u2029');

export function jsonForScript(value: unknown): string {
  // one pass over what can be megabytes of samples
  return JSON.stringify(value).replace(SCRIPT_UNSAFE, (c) => SCRIPT_ESCAPES[c] ?? unicodeEscape(c));
}
