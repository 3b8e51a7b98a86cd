// Reads a YAML file keeping positions, so every later error can name the line.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';

export type YamlPath = readonly (string | number)[];

export interface YamlFile {
  path: string;
  data: unknown;
  /** The 1-based line of the node at `path` (or of its nearest existing parent). */
  lineOf(path: YamlPath): number | undefined;
}

export function readYamlFile(path: string, what: string): YamlFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${what} ${path}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code})`}`,
      code === 'ENOENT' ? `create it, or point to another one (see --help)` : 'check its permissions',
      path,
    );
  }
  return parseYamlText(text, path);
}

export function parseYamlText(text: string, path: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.pos ? lineCounter.linePos(first.pos[0]).line : undefined;
    const what = first.message.split('\n')[0];
    throw new ConfigError(`${path}${line ? `:${line}` : ''}: YAML syntax error: ${what}`, 'fix the YAML syntax at that line (indentation, quotes, colons)', path, line);
  }
  const lineOf = (p: YamlPath): number | undefined => nodeLine(doc, lineCounter, p);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // aliases are resolved here: an unknown one, or too many (a "billion laughs")
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`${path}: YAML error: ${what}`, 'define each anchor (&name) before its alias (*name), and use few aliases', path);
  }
  return { path, data, lineOf };
}

function nodeLine(doc: Document, lc: LineCounter, path: YamlPath): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Validate `data` (or a part of it at `base`) with a zod schema; the first issue becomes a ConfigError naming file and line. */
export function validate<T>(file: YamlFile, schema: z.ZodType<T>, data: unknown, base: YamlPath = []): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // a bad record key (host or var name) carries the useful message one level down
  const message = issue.code === 'invalid_key' && issue.issues[0] ? `${issue.issues[0].message} ("${String(issue.path.at(-1))}" is not)` : issue.message;
  const path = [...base, ...(issue.path as (string | number)[])];
  const line = file.lineOf(path);
  const where = path.length ? ` at ${formatPath(path)}` : '';
  throw new ConfigError(
    `${file.path}${line ? `:${line}` : ''}: ${message}${where}`,
    hintFor(issue),
    file.path,
    line,
  );
}

export function formatPath(path: YamlPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function hintFor(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `remove or correct the key (${issue.keys.join(', ')}); see the README for the allowed keys`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected} there`;
  return 'see the README for the expected format';
}

/** Throw a ConfigError at a YAML path of a file. */
export function configErrorAt(file: YamlFile, path: YamlPath, message: string, hint: string): ConfigError {
  const line = file.lineOf(path);
  return new ConfigError(`${file.path}${line ? `:${line}` : ''}: ${message}${path.length ? ` at ${formatPath(path)}` : ''}`, hint, file.path, line);
}
