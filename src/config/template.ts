// {{ var }} substitution. How a value is inserted depends on where it lands:
// - 'shell': inside a command line written by the playbook author: the value is
//   quoted for POSIX sh, so quotes, ;, $( ), backticks and newlines stay data;
// - 'path': a file path: the value may not climb out with '..' nor hold a newline;
// - 'text': file content and other plain strings: inserted as it is.
import { shQuote } from '../commands/shell-quote.js';

export type Vars = Readonly<Record<string, string | number | boolean>>;
export type InsertMode = 'shell' | 'path' | 'text';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export class TemplateError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** Names used in a template, in order of appearance. */
export function templateVars(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export function render(text: string, vars: Vars, mode: InsertMode): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(vars, name)) {
      const known = Object.keys(vars).sort().join(', ') || 'none';
      throw new TemplateError(`unknown variable "${name}"`, `define it in the inventory's vars (known: ${known})`);
    }
    const value = String(vars[name]);
    if (mode === 'shell') return shQuote(value);
    if (mode === 'path') {
      if (/[\n\r\0]/.test(value) || value.split('/').includes('..')) {
        throw new TemplateError(`variable "${name}" is not a safe path part (${JSON.stringify(value)})`, 'path values may not contain "..", newlines or NUL bytes');
      }
    }
    return value;
  });
}
