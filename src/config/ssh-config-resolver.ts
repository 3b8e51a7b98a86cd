// What OpenSSH would use for a host alias, from ~/.ssh/config (ssh_config(5)).
//
// The npm `ssh-config` package tokenises each line (quotes, `=` separators, multi-value
// keywords). The resolution itself is done here, because the package's compute() differs
// from OpenSSH where it matters to us: its `?` also matches nothing, it splits Host
// arguments on commas, it runs `Match exec` commands, and it knows nothing of Include.
//
// Reading files (loadSshConfig) is kept apart from resolving (resolveSshConfig, pure on
// text plus the already-read Include files).

import SSHConfig, { LineType, type Line } from 'ssh-config';
import { readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.js';

export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'off' | 'ask';

export interface SshSettings {
  /** the name to connect to: HostName (with %h expanded) or the alias, lowercased like ssh */
  hostName: string;
  user?: string;
  port?: number;
  /** IdentityFile values in order, with ~, %d %u %r %h %p %n %% and ${VAR} expanded */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** expanded path, or the literal 'none' / 'SSH_AUTH_SOCK' (meaning that variable) */
  identityAgent?: string;
  /** raw ProxyJump value, e.g. "user@bastion:2222,other" (see parseProxyJump); unset for 'none' */
  proxyJump?: string;
  /** expanded paths; [] for `UserKnownHostsFile none` */
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: StrictHostKeyChecking;
  /** HashKnownHosts: record new keys with hashed names */
  hashKnownHosts?: boolean;
  /** expanded paths; [] for `GlobalKnownHostsFile none`; unset: the system default */
  globalKnownHostsFiles?: string[];
  connectTimeoutS?: number;
}

export interface ConfigFileText {
  path: string;
  text: string;
}

/** Files named by Include lines: absolute pattern (as resolveIncludePattern makes it) -> files, sorted. */
export type IncludedFiles = ReadonlyMap<string, readonly ConfigFileText[]>;

export interface ResolveOptions {
  localUser: string;
  homeDir: string;
  /** the file configText came from, for error messages */
  configPath: string;
  /** what Include lines name, as read by loadSshConfig; missing patterns match no file */
  includes?: IncludedFiles;
  /** for ${VAR} in paths; defaults to process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** the system-wide file (/etc/ssh/ssh_config), read after the user's like ssh does */
  system?: LoadedSshConfig;
}

export interface LoadedSshConfig {
  configPath: string;
  /** '' when the file does not exist (ssh needs none) */
  text: string;
  includes: IncludedFiles;
  /** where relative Include paths point: ~/.ssh for the user's file, /etc/ssh for the system's */
  includeBase?: string;
}

export interface ProxyJumpHop {
  user?: string;
  host: string;
  port?: number;
}

/** OpenSSH's READCONF_MAX_DEPTH. */
const MAX_INCLUDE_DEPTH = 16;

// ---------------------------------------------------------------------------------------
// Lines

/** One directive with where it was written. */
export interface ConfigLine {
  file: string;
  line: number;
  /** lowercased: OpenSSH keywords are case-insensitive */
  keyword: string;
  args: string[];
}

// Keywords that take exactly one argument (ssh rejects extra ones).
const SINGLE_ARGUMENT = new Set([
  'hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'identityagent', 'proxyjump',
  'stricthostkeychecking', 'connecttimeout', 'hashknownhosts',
]);

/** Tokenises config text line by line, so every directive knows its line number. */
export function parseConfigLines(text: string, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    for (const node of parseOneLine(raw, file, line)) {
      if (node.type !== LineType.DIRECTIVE || node.param === '') continue;
      const keyword = node.param.toLowerCase();
      const args = argumentsOf(node.value);
      checkArguments(keyword, args, Boolean(node.quoted), file, line);
      lines.push({ file, line, keyword, args });
    }
  });
  return lines;
}

function parseOneLine(raw: string, file: string, line: number): Line[] {
  try {
    return [...SSHConfig.parse(raw)];
  } catch (error) {
    throw syntaxError(file, line, `cannot parse "${raw.trim()}" (${(error as Error).message})`, 'check quotes and that the keyword has a value', error);
  }
}

function argumentsOf(value: string | { val: string }[]): string[] {
  if (Array.isArray(value)) return value.map((v) => v.val);
  return value === '' ? [] : [value];
}

function checkArguments(keyword: string, args: string[], quoted: boolean, file: string, line: number): void {
  if (!SINGLE_ARGUMENT.has(keyword) && !['host', 'include', 'userknownhostsfile', 'globalknownhostsfile'].includes(keyword)) return;
  if (args.length === 0) throw syntaxError(file, line, `${keyword} needs a value`, 'write the keyword and its value on one line');
  // The tokenizer returns the rest of the line for single-value keywords.
  if (SINGLE_ARGUMENT.has(keyword) && !quoted && /\s/.test(args[0])) {
    throw syntaxError(file, line, `${keyword} takes one value, got "${args[0]}"`, 'quote a value that contains spaces');
  }
}

function syntaxError(file: string, line: number, what: string, hint: string, cause?: unknown): ConfigError {
  return new ConfigError(`${file} line ${line}: ${what}`, hint, file, line, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------
// Resolution

/** Raw first-obtained values, before token expansion. */
interface Obtained {
  hostName?: ConfigLine;
  user?: string;
  port?: number;
  identityFiles: ConfigLine[];
  identitiesOnly?: boolean;
  identityAgent?: ConfigLine;
  proxyJump?: string;
  userKnownHostsFiles?: ConfigLine;
  strictHostKeyChecking?: StrictHostKeyChecking;
  hashKnownHosts?: boolean;
  globalKnownHostsFiles?: ConfigLine;
  connectTimeoutS?: number;
}

interface Walk {
  alias: string;
  opts: ResolveOptions;
  obtained: Obtained;
  /** whether the current Host block applies; shared with Included files like OpenSSH */
  active: boolean;
  includes?: IncludedFiles;
  includeBase?: string;
}

/**
 * Resolves the settings OpenSSH would use for `alias`. For each option the first value
 * obtained wins, except IdentityFile, which accumulates.
 */
export function resolveSshConfig(alias: string, configText: string, opts: ResolveOptions): SshSettings {
  const walk: Walk = { alias, opts, obtained: { identityFiles: [] }, active: true, includes: opts.includes };
  applyLines(parseConfigLines(configText, opts.configPath), walk, 0);
  if (opts.system) {
    // each file starts outside any Host block; values already obtained keep winning
    Object.assign(walk, { active: true, includes: opts.system.includes, includeBase: opts.system.includeBase });
    applyLines(parseConfigLines(opts.system.text, opts.system.configPath), walk, 0);
  }
  return expandObtained(walk.obtained, alias, opts);
}

function applyLines(lines: ConfigLine[], walk: Walk, depth: number): void {
  for (const line of lines) {
    if (line.keyword === 'host') walk.active = hostLineMatches(line.args, walk.alias);
    // Match is out of scope: its criteria (exec, user, canonical...) are not evaluated and
    // its block never applies, so nothing unexpected runs or leaks in. This differs from
    // ssh only when a Match block would have matched.
    else if (line.keyword === 'match') walk.active = false;
    else if (line.keyword === 'include') applyInclude(line, walk, depth);
    else obtain(line, walk);
  }
}

/** ssh_config Host line: any pattern matches and no negated pattern matches (case-sensitive, like ssh). */
export function hostLineMatches(patterns: readonly string[], alias: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatches(negated ? pattern.slice(1) : pattern, alias)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH wildcards: `*` any run of characters (also none), `?` exactly one. */
function wildcardMatches(pattern: string, text: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

// An Include inside a Host block that does not apply includes nothing (OpenSSH reads it
// with SSHCONF_NEVERMATCH); afterwards the including block's state is restored.
function applyInclude(line: ConfigLine, walk: Walk, depth: number): void {
  if (depth >= MAX_INCLUDE_DEPTH) {
    throw syntaxError(line.file, line.line, 'Include nested too deeply', 'look for files that include each other');
  }
  const wasActive = walk.active;
  for (const arg of line.args) {
    const pattern = resolveIncludePattern(arg, walk.opts.homeDir, walk.includeBase);
    for (const file of walk.includes?.get(pattern) ?? []) {
      const lines = parseConfigLines(file.text, file.path);
      if (wasActive) applyLines(lines, walk, depth + 1);
    }
  }
  walk.active = wasActive;
}

/** Include paths: ~ is the home folder; relative paths are under ~/.ssh (user config) or /etc/ssh (system config). */
export function resolveIncludePattern(arg: string, homeDir: string, base: string = join(homeDir, '.ssh')): string {
  if (arg === '~' || arg.startsWith('~/')) return join(homeDir, arg.slice(1));
  return isAbsolute(arg) ? arg : join(base, arg);
}

// Every known keyword is validated even in blocks that do not apply, as ssh does; only
// the first value obtained in an applying block is kept.
function obtain(line: ConfigLine, walk: Walk): void {
  const o = walk.obtained;
  const first = line.args[0];
  switch (line.keyword) {
    case 'hostname': return keep(walk, 'hostName', line);
    case 'user': return keep(walk, 'user', first);
    case 'port': return keep(walk, 'port', parsePort(first, line));
    case 'identitiesonly': return keep(walk, 'identitiesOnly', parseYesNo(first, line));
    case 'identityagent': return keep(walk, 'identityAgent', line);
    case 'proxyjump': return keep(walk, 'proxyJump', first);
    case 'userknownhostsfile': return keep(walk, 'userKnownHostsFiles', line);
    case 'stricthostkeychecking': return keep(walk, 'strictHostKeyChecking', parseStrict(first, line));
    case 'hashknownhosts': return keep(walk, 'hashKnownHosts', parseYesNo(first, line));
    case 'globalknownhostsfile': return keep(walk, 'globalKnownHostsFiles', line);
    case 'connecttimeout': return keep(walk, 'connectTimeoutS', parseDuration(first, line));
    case 'identityfile':
      if (walk.active) o.identityFiles.push(line);
      return;
    default:
      return; // options vps-provision does not use
  }
}

function keep<K extends Exclude<keyof Obtained, 'identityFiles'>>(walk: Walk, key: K, value: Obtained[K]): void {
  if (walk.active && walk.obtained[key] === undefined) walk.obtained[key] = value;
}

function parsePort(value: string, line: ConfigLine): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (port >= 1 && port <= 65535) return port;
  throw syntaxError(line.file, line.line, `bad port '${value}'`, 'Port takes a number from 1 to 65535');
}

function parseYesNo(value: string, line: ConfigLine): boolean {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw syntaxError(line.file, line.line, `${line.keyword} takes yes or no, got '${value}'`, 'write yes or no');
}

function parseStrict(value: string, line: ConfigLine): StrictHostKeyChecking {
  const v = value.toLowerCase();
  const aliases: Record<string, StrictHostKeyChecking> = { true: 'yes', false: 'no' };
  if (['yes', 'no', 'accept-new', 'off', 'ask'].includes(v)) return v as StrictHostKeyChecking;
  if (v in aliases) return aliases[v];
  throw syntaxError(line.file, line.line, `StrictHostKeyChecking takes yes, no, accept-new, off or ask, got '${value}'`, 'write one of yes, no, accept-new, off, ask');
}

const TIME_UNITS_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** OpenSSH's convtime: "30", "30s", "1m30s", units s m h d w in either case. */
function parseDuration(value: string, line: ConfigLine): number {
  const parts = [...value.toLowerCase().matchAll(/(\d+)([smhdw]?)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === value.toLowerCase()) {
    return parts.reduce((sum, p) => sum + Number(p[1]) * TIME_UNITS_S[p[2]], 0);
  }
  throw syntaxError(line.file, line.line, `bad time value '${value}'`, 'write seconds, or a time like 1m30s');
}

// ---------------------------------------------------------------------------------------
// Expansion, done once everything is read (as ssh does: %h is the final host name)

function expandObtained(o: Obtained, alias: string, opts: ResolveOptions): SshSettings {
  const hostName = o.hostName ? expandTokens(o.hostName.args[0], o.hostName, { h: alias }) : alias;
  const lowered = isIP(hostName) ? hostName : hostName.toLowerCase();
  const tokens: Record<string, string> = {
    d: opts.homeDir,
    u: opts.localUser,
    r: o.user ?? opts.localUser,
    h: lowered,
    p: String(o.port ?? 22),
    n: alias,
  };
  const path = (value: string, line: ConfigLine) =>
    expandEnv(expandTokens(expandTilde(value, opts.homeDir, line), line, tokens), line, opts.env ?? process.env);

  const settings: SshSettings = {
    hostName: lowered,
    identityFiles: o.identityFiles.map((line) => path(line.args[0], line)),
    identitiesOnly: o.identitiesOnly ?? false,
  };
  if (o.user !== undefined) settings.user = o.user;
  if (o.port !== undefined) settings.port = o.port;
  if (o.identityAgent) settings.identityAgent = expandAgent(o.identityAgent, path);
  if (o.proxyJump !== undefined && o.proxyJump.toLowerCase() !== 'none') settings.proxyJump = o.proxyJump;
  if (o.userKnownHostsFiles) settings.userKnownHostsFiles = expandKnownHosts(o.userKnownHostsFiles, path);
  if (o.strictHostKeyChecking !== undefined) settings.strictHostKeyChecking = o.strictHostKeyChecking;
  if (o.hashKnownHosts !== undefined) settings.hashKnownHosts = o.hashKnownHosts;
  if (o.globalKnownHostsFiles) settings.globalKnownHostsFiles = expandKnownHosts(o.globalKnownHostsFiles, path);
  if (o.connectTimeoutS !== undefined) settings.connectTimeoutS = o.connectTimeoutS;
  return settings;
}

type PathExpander = (value: string, line: ConfigLine) => string;

function expandAgent(line: ConfigLine, path: PathExpander): string {
  const value = line.args[0];
  return value === 'none' || value === 'SSH_AUTH_SOCK' ? value : path(value, line);
}

function expandKnownHosts(line: ConfigLine, path: PathExpander): string[] {
  if (line.args.length === 1 && line.args[0].toLowerCase() === 'none') return [];
  return line.args.map((arg) => path(arg, line));
}

function expandTilde(value: string, homeDir: string, line: ConfigLine): string {
  if (value === '~' || value.startsWith('~/')) return homeDir + value.slice(1);
  if (value.startsWith('~')) {
    throw syntaxError(line.file, line.line, `~user paths are not supported ('${value}')`, 'write the full path instead');
  }
  return value;
}

/** ssh's percent_expand: %% and the tokens given; any other %x is an error, as in ssh. */
function expandTokens(value: string, line: ConfigLine, tokens: Record<string, string>): string {
  return value.replace(/%(.?)/g, (_all, key: string) => {
    if (key === '%') return '%';
    if (key in tokens) return tokens[key];
    throw syntaxError(
      line.file,
      line.line,
      `${line.keyword}: token '%${key}' is not supported here`,
      `vps-provision expands %% and %${Object.keys(tokens).join(' %')} in ${line.keyword}; write the value out`,
    );
  });
}

function expandEnv(value: string, line: ConfigLine, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_all, name: string) => {
    const found = env[name];
    if (found !== undefined) return found;
    throw syntaxError(line.file, line.line, `environment variable \${${name}} is not set`, `set ${name} or write the path out`);
  });
}

// ---------------------------------------------------------------------------------------
// ProxyJump

/** Splits a ProxyJump value into hops: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export function parseProxyJump(spec: string): ProxyJumpHop[] {
  if (spec.trim().toLowerCase() === 'none') return [];
  return spec.split(',').map((hop) => parseHop(hop.trim(), spec));
}

function parseHop(hop: string, spec: string): ProxyJumpHop {
  const bare = hop.startsWith('ssh://') ? hop.slice('ssh://'.length).replace(/\/$/, '') : hop;
  const at = bare.lastIndexOf('@');
  const user = at >= 0 ? bare.slice(0, at) : undefined;
  const { host, port } = splitHostPort(bare.slice(at + 1), spec);
  if (host === '' || user === '') throw badJump(spec, hop);
  const result: ProxyJumpHop = { host };
  if (user !== undefined) result.user = user;
  if (port !== undefined) result.port = port;
  return result;
}

function splitHostPort(text: string, spec: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) return { host: bracketed[1], port: jumpPort(bracketed[2], spec) };
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf(':') !== colon) return { host: text }; // bare IPv6 has no port
  return { host: text.slice(0, colon), port: jumpPort(text.slice(colon + 1), spec) };
}

function jumpPort(text: string | undefined, spec: string): number | undefined {
  if (text === undefined) return undefined;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (port >= 1 && port <= 65535) return port;
  throw badJump(spec, text);
}

function badJump(spec: string, part: string): ConfigError {
  return new ConfigError(
    `ProxyJump '${spec}': cannot read '${part}'`,
    'write jump hosts as [user@]host[:port], separated by commas',
  );
}

// ---------------------------------------------------------------------------------------
// Reading

/** Reads an ssh config file and, recursively, the files its Include lines name. */
export function loadSshConfig(configPath: string, homeDir: string = homedir(), includeBase: string = join(homeDir, '.ssh')): LoadedSshConfig {
  const text = readConfigFile(configPath) ?? '';
  const includes = new Map<string, ConfigFileText[]>();
  collectIncludes(text, configPath, homeDir, includes, 0, includeBase);
  return { configPath, text, includes, includeBase };
}

function collectIncludes(text: string, file: string, homeDir: string, includes: Map<string, ConfigFileText[]>, depth: number, base: string): void {
  for (const line of parseConfigLines(text, file)) {
    if (line.keyword !== 'include') continue;
    if (depth >= MAX_INCLUDE_DEPTH) {
      throw syntaxError(line.file, line.line, 'Include nested too deeply', 'look for files that include each other');
    }
    for (const arg of line.args) {
      const pattern = resolveIncludePattern(arg, homeDir, base);
      if (includes.has(pattern)) continue;
      const files = globFiles(pattern).flatMap((path) => {
        const included = readConfigFile(path);
        return included === undefined ? [] : [{ path, text: included }];
      });
      includes.set(pattern, files);
      for (const f of files) collectIncludes(f.text, f.path, homeDir, includes, depth + 1, base);
    }
  }
}

function readConfigFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') return undefined;
    throw new ConfigError(`cannot read ssh config ${path}: ${(error as Error).message}`, `make ${path} readable`, path, undefined, { cause: error });
  }
}

/** glob(3) for Include: `*` and `?` in any path segment, sorted, dotfiles only by a dot pattern. */
export function globFiles(pattern: string): string[] {
  const [root, ...segments] = pattern.split('/');
  let paths = [root === '' ? '/' : root];
  for (const segment of segments.filter((s) => s !== '')) {
    paths = paths.flatMap((base) => expandSegment(base, segment));
  }
  return paths.sort();
}

function expandSegment(base: string, segment: string): string[] {
  if (!/[*?]/.test(segment)) return [join(base, segment)];
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  return names
    .filter((name) => (segment.startsWith('.') || !name.startsWith('.')) && wildcardMatches(segment, name))
    .map((name) => join(base, name));
}
