// Reads a YAML file keeping positions, so every later error can name the line.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import {
  LineCounter,
  parseDocument,
  isNode,
  isMap,
  isSeq,
  isScalar,
  visit,
  YAMLParseError,
  type Document,
  type Node,
} from 'yaml';
import type * as z from '../zod.js';
import { ConfigError } from '../errors.js';

export type YamlPath = readonly (string | number)[];

export interface YamlFile {
  path: string;
  data: unknown;
  /** The 1-based line of the node at `path` (or of its nearest existing parent). */
  lineOf(path: YamlPath): number | undefined;
}

/** Inventories and playbooks are hand-written: anything bigger is a mistake (or an attack). */
export const MAX_YAML_BYTES = 4 * 1024 * 1024;

export function readYamlFile(path: string, what: string, maxBytes = MAX_YAML_BYTES): YamlFile {
  return parseYamlText(readYamlText(path, what, maxBytes), path);
}

/** The file's text, its size checked first (readYamlFile without the parsing). */
export function readYamlText(path: string, what: string, maxBytes = MAX_YAML_BYTES): string {
  let text: string;
  try {
    // the size is checked on the opened file, before reading any of it
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > maxBytes) {
        throw new ConfigError(
          `${what} ${path}: the file is ${formatBytes(size)}, more than the limit of ${formatBytes(maxBytes)}`,
          'split it up or remove what is not needed; a YAML file this size is almost certainly not the one you meant',
          path,
        );
      }
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${what} ${path}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code})`}`,
      code === 'ENOENT' ? `create it, or point to another one (see --help)` : 'check its permissions',
      path,
    );
  }
  return text;
}

export function parseYamlText(text: string, path: string): YamlFile {
  const lineCounter = new LineCounter();
  // the library's own duplicate-key check compares every key with every other (20k hosts: 3 s)
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const duplicate = firstDuplicateKey(doc);
  if (duplicate !== undefined)
    doc.errors.push(new YAMLParseError([duplicate, duplicate + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
  doc.errors.sort((a, b) => a.pos[0] - b.pos[0]);
  const first = doc.errors[0];
  if (first) {
    const line = first.pos ? lineCounter.linePos(first.pos[0]).line : undefined;
    const what = first.message.split('\n')[0];
    throw new ConfigError(
      `${path}${line ? `:${line}` : ''}: YAML syntax error: ${what}`,
      'fix the YAML syntax at that line (indentation, quotes, colons)',
      path,
      line,
    );
  }
  // only asked for when something is wrong (or shown): keys are indexed once per mapping
  const index = new WeakMap<object, Map<string, Node>>();
  const lineOf = (p: YamlPath): number | undefined => nodeLine(doc, lineCounter, p, index);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // aliases are resolved here: an unknown one, or too many (a "billion laughs")
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(
      `${path}: YAML error: ${what}`,
      'define each anchor (&name) before its alias (*name), and use few aliases',
      path,
    );
  }
  // a NUL byte cuts a string short in C programs and shell variables on the host
  const nul = findNul(data, []);
  if (nul) {
    const line = lineOf(nul);
    throw new ConfigError(
      `${path}${line ? `:${line}` : ''}: a NUL byte in a string${nul.length ? ` at ${formatPath(nul)}` : ''}`,
      'remove the NUL byte (\\0 or \\x00 in a double-quoted YAML string)',
      path,
      line,
    );
  }
  return { path, data, lineOf };
}

function findNul(value: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findNul(value[i], [...path, i]);
      if (p) return p;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\0')) return [...path, k];
      const p = findNul(v, [...path, k]);
      if (p) return p;
    }
  }
  return undefined;
}

/** Offset of the first key that repeats one before it in the same mapping (keys compared as the library does for scalars). */
function firstDuplicateKey(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          const at = isNode(pair.key) && pair.key.range ? pair.key.range[0] : (map.range?.[0] ?? 0);
          if (found === undefined || at < found) found = at;
          return;
        }
        seen.add(key);
      }
    },
  });
  return found;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}

// The deepest existing node on the path: doc.getIn scans a mapping's keys on every call,
// which made one lookup per host quadratic (20k hosts: 5 s); here each mapping is indexed once.
function nodeLine(
  doc: Document,
  lc: LineCounter,
  path: YamlPath,
  index: WeakMap<object, Map<string, Node>>,
): number | undefined {
  let node: unknown = doc.contents;
  let found = isNode(node) && node.range ? lc.linePos(node.range[0]).line : undefined;
  for (const part of path) {
    node = childOf(node, part, index);
    if (!isNode(node) || !node.range) break;
    found = lc.linePos(node.range[0]).line;
  }
  return found;
}

function childOf(node: unknown, part: string | number, index: WeakMap<object, Map<string, Node>>): unknown {
  if (isSeq(node)) return typeof part === 'number' ? node.items[part] : undefined;
  if (!isMap(node)) return undefined;
  let keys = index.get(node);
  if (!keys) {
    keys = new Map();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      // a key with a null value has no node of its own: its key's position stands for it
      const at = isNode(pair.value) && pair.value.range ? pair.value : isNode(pair.key) ? pair.key : undefined;
      if (at && !keys.has(String(key))) keys.set(String(key), at);
    }
    index.set(node, keys);
  }
  return keys.get(String(part));
}

/** Validate `data` (or a part of it at `base`) with a zod schema; the first issue becomes a ConfigError naming file and line. */
export function validate<T>(file: YamlFile, schema: z.ZodMiniType<T>, data: unknown, base: YamlPath = []): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // a bad record key (host or var name) carries the useful message one level down
  const path = [...base, ...(issue.path as (string | number)[])];
  const line = file.lineOf(path);
  const where = path.length ? ` at ${formatPath(path)}` : '';
  const typeIssue =
    issue.code === 'invalid_type'
      ? plainTypeIssue(issue.expected, issue.message, path, valueAt(data, issue.path))
      : undefined;
  const message =
    typeIssue ??
    (issue.code === 'invalid_key' && issue.issues[0]
      ? `${issue.issues[0].message} ("${String(issue.path.at(-1))}" is not)`
      : `${issue.message}${where}`);
  throw new ConfigError(`${file.path}${line ? `:${line}` : ''}: ${message}`, hintFor(issue), file.path, line);
}

function formatPath(path: YamlPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

// zod's type names in the words of a YAML file
const SHAPES: Record<string, { words: string; example: string }> = {
  record: {
    words: 'a mapping of names to entries',
    example: '{ name: ... } or one "name: ..." line per entry, indented',
  },
  object: {
    words: 'a mapping of keys to values',
    example: '{ key: value } or one "key: value" line per key, indented',
  },
  array: { words: 'a list', example: '[a, b] or one "- item" line per item' },
  string: { words: 'text', example: 'a word, or text in quotes' },
  number: { words: 'a number', example: 'e.g. 22' },
  int: { words: 'a whole number', example: 'e.g. 22' },
  boolean: { words: 'true or false', example: '' },
};
const MISSING = Symbol('missing');

/** The value at a zod issue's path inside the data that was checked (MISSING when absent). */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return MISSING;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** What a value is, in the words of a YAML file (the value's own text only for a number). */
function foundWords(value: unknown, expected: string): string {
  if (value === MISSING || value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return expected === 'int' || !Number.isFinite(value) ? String(value) : 'a number';
  return { object: 'a mapping', string: 'text', boolean: 'true/false' }[typeof value as string] ?? typeof value;
}

/**
 * "hosts is missing: expected a mapping of names to entries", not "expected record, received
 * undefined"; a schema's own words for what it expects ("a whole number of seconds") win.
 */
function plainTypeIssue(expected: string, zodMessage: string, path: YamlPath, value: unknown): string | undefined {
  const shape = SHAPES[expected];
  if (!shape) return undefined;
  const name = path.length ? formatPath(path) : 'the file';
  const own = !zodMessage.startsWith('Invalid input');
  const example = !own && shape.example ? ` (${shape.example})` : '';
  const words = own ? zodMessage : shape.words;
  if (value === MISSING || value === undefined) return `${name} is missing: expected ${words}${example}`;
  return `${name}: expected ${words}${example}, found ${foundWords(value, expected)}`;
}

function hintFor(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `remove or correct the key (${issue.keys.join(', ')}); see the README for the allowed keys`;
  if (issue.code === 'invalid_type')
    return `write ${SHAPES[issue.expected]?.words ?? issue.expected} there; see the README for the format`;
  return 'see the README for the expected format';
}

/** Throw a ConfigError at a YAML path of a file. */
export function configErrorAt(file: YamlFile, path: YamlPath, message: string, hint: string): ConfigError {
  const line = file.lineOf(path);
  return new ConfigError(
    `${file.path}${line ? `:${line}` : ''}: ${message}${path.length ? ` at ${formatPath(path)}` : ''}`,
    hint,
    file.path,
    line,
  );
}
