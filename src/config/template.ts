// {{ var }} substitution (SPEC §3). Only `{{ name }}` is a placeholder: a filter, an
// expression or an unclosed `{{` is an error, never text written as it is.
// How a value is inserted depends on where it lands:
// - 'shell': inside a command line written by the playbook author: the value is
//   quoted for POSIX sh, so quotes, ;, $( ), backticks and newlines stay data. That
//   quoting holds only where a word starts unquoted: a placeholder inside quotes,
//   backticks, $( ), ${ } or a here-document would turn the quoted value back into
//   code, so it is refused (shellPlaceholderContext);
// - 'path': a file path: the value may not climb out with '..' nor hold a newline;
// - 'text': file content and other plain strings: inserted as it is.
import { shQuote } from '../shell/shell-quote.js';

export type Vars = Readonly<Record<string, string | number | boolean>>;
export type InsertMode = 'shell' | 'path' | 'text';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const EXACT = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/;

export class TemplateError extends Error {
  /** 1-based line in the text where the problem is */
  constructor(
    message: string,
    readonly hint: string,
    readonly line = 1,
  ) {
    super(message);
  }
}

const lineAt = (text: string, offset: number) => text.slice(0, offset).split('\n').length;
const excerpt = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

/** Every `{{` must open a `{{ name }}`; throws on a filter, an expression or an unclosed one. */
function checkPlaceholders(text: string): void {
  for (let i = text.indexOf('{{'); i >= 0; i = text.indexOf('{{', i + 2)) {
    const rest = text.slice(i);
    const m = EXACT.exec(rest);
    if (m) {
      i += m[0].length - 2;
      continue;
    }
    const close = rest.indexOf('}}');
    if (close < 0) {
      throw new TemplateError(
        `unclosed "{{" (${excerpt(rest.split('\n')[0]!)})`,
        'close it with "}}"; placeholders are {{ name }}',
        lineAt(text, i),
      );
    }
    const inner = rest.slice(2, close).trim();
    const what = inner.includes('|') ? 'a filter' : 'an expression';
    throw new TemplateError(
      `${excerpt(`{{${rest.slice(2, close)}}}`)} is ${what}: only {{ name }} is a placeholder`,
      'filters, defaults and expressions are not supported: define the value you need in the inventory or site.yml vars',
      lineAt(text, i),
    );
  }
}

/** Names used in a template, in order of appearance. */
export function templateVars(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

type Ctx = 'single quotes' | 'double quotes' | 'backticks' | '$( )' | '${ }' | '$(( ))';

/**
 * Where a placeholder of a shell field sits, for each one that is not at plain command
 * level: inside quotes, backticks, $( ), ${ }, $(( )) or a here-document. A small
 * POSIX sh lexer: enough to find quoting, not a parser.
 */
export function shellPlaceholderContext(text: string): { offset: number; context: string } | undefined {
  const stack: Ctx[] = [];
  const heredocs: { word: string; strip: boolean }[] = [];
  let i = 0;
  const top = () => stack[stack.length - 1];
  while (i < text.length) {
    const c = text[i]!;
    const ctx = top();
    if (text.startsWith('{{', i)) {
      if (ctx) return { offset: i, context: ctx };
      i += 2;
      continue;
    }
    if (ctx === 'single quotes') {
      if (c === "'") stack.pop();
      i++;
      continue;
    }
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (ctx === 'backticks' && c === '`') {
      stack.pop();
      i++;
      continue;
    }
    if (ctx === 'double quotes' && c === '"') {
      stack.pop();
      i++;
      continue;
    }
    if (ctx === '${ }' && c === '}') {
      stack.pop();
      i++;
      continue;
    }
    if (ctx === '$(( ))' && text.startsWith('))', i)) {
      stack.pop();
      i += 2;
      continue;
    }
    if (ctx === '$( )' && c === ')') {
      stack.pop();
      i++;
      continue;
    }
    if (text.startsWith('$((', i)) {
      stack.push('$(( ))');
      i += 3;
      continue;
    }
    if (text.startsWith('$(', i)) {
      stack.push('$( )');
      i += 2;
      continue;
    }
    if (text.startsWith('${', i)) {
      stack.push('${ }');
      i += 2;
      continue;
    }
    if (c === '`') {
      stack.push('backticks');
      i++;
      continue;
    }
    if (c === '"') {
      stack.push('double quotes');
      i++;
      continue;
    }
    if (ctx === 'double quotes') {
      i++;
      continue;
    }
    if (c === "'") {
      stack.push('single quotes');
      i++;
      continue;
    }
    // a comment runs to the end of the line (a # that starts a word)
    if (c === '#' && (i === 0 || /\s|;|&|\|/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    const here =
      ctx === '$(( ))' || ctx === '${ }'
        ? null
        : /^<<(-?)[ \t]*(?:'([^']*)'|"([^"]*)"|\\?([A-Za-z0-9_.-]+))/.exec(text.slice(i));
    if (here) {
      heredocs.push({ word: here[2] ?? here[3] ?? here[4] ?? '', strip: here[1] === '-' });
      i += here[0].length;
      continue;
    }
    if (c === '\n' && heredocs.length) {
      // the bodies of the here-documents opened on this line follow it
      i++;
      for (const h of heredocs.splice(0)) {
        for (;;) {
          if (i >= text.length) break;
          const nl = text.indexOf('\n', i);
          const end = nl < 0 ? text.length : nl;
          const line = text.slice(i, end);
          const brace = line.indexOf('{{');
          if ((h.strip ? line.replace(/^\t+/, '') : line) === h.word) {
            i = end + 1;
            break;
          }
          if (brace >= 0) return { offset: i + brace, context: 'a here-document' };
          i = end + 1;
        }
      }
      continue;
    }
    i++;
  }
  return undefined;
}

/** Load-time checks of a string field: placeholders well formed, and in shell fields none inside quotes. */
export function checkTemplate(text: string, mode: InsertMode): void {
  checkPlaceholders(text);
  if (mode !== 'shell') return;
  const bad = shellPlaceholderContext(text);
  if (bad) {
    const name = EXACT.exec(text.slice(bad.offset))?.[0] ?? '{{';
    throw new TemplateError(
      `${name} is inside ${bad.context} in a shell command: its value would run as code there`,
      `put the placeholder outside quotes, where a word starts (its value is quoted for you), e.g. echo "hello "${name}`,
      lineAt(text, bad.offset),
    );
  }
}

/** `text` checked (checkTemplate), then each placeholder replaced by its value, safe for `mode`. */
export function render(text: string, vars: Vars, mode: InsertMode): string {
  checkTemplate(text, mode);
  return renderChecked(text, vars, mode);
}

/**
 * render() of a text that already passed checkTemplate(text, mode): a playbook's step fields
 * are checked once when it loads (before any host's values), then rendered for each host.
 */
export function renderChecked(text: string, vars: Vars, mode: InsertMode): string {
  // no placeholder: nothing to insert
  if (!text.includes('{{')) return text;
  return text.replace(PLACEHOLDER, (_, name: string, offset: number) => {
    if (!Object.prototype.hasOwnProperty.call(vars, name)) {
      const known = Object.keys(vars).sort().join(', ') || 'none';
      throw new TemplateError(
        `unknown variable "${name}"`,
        `define it in the inventory's vars (known: ${known})`,
        lineAt(text, offset),
      );
    }
    const value = String(vars[name]);
    if (value.includes('\0'))
      throw new TemplateError(
        `variable "${name}" holds a NUL byte`,
        'remove the NUL byte from the value',
        lineAt(text, offset),
      );
    if (mode === 'shell') return shQuote(value);
    if (mode === 'path') {
      if (/[\n\r\0]/.test(value) || value.split('/').includes('..')) {
        throw new TemplateError(
          `variable "${name}" is not a safe path part (${JSON.stringify(value)})`,
          'path values may not contain "..", newlines or NUL bytes',
          lineAt(text, offset),
        );
      }
    }
    return value;
  });
}
