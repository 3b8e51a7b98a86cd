// What OpenSSH would use for a host alias, from ~/.ssh/config (ssh_config(5)), following
// OpenSSH 9.2's readconf.c and ssh.c line by line where it matters to us, and checked
// against `ssh -G` by test/integration/openssh-parity.test.ts:
// - a line is split like readconf.c does it (strdelim for the keyword, one `=` allowed
//   there; argv_split for the values: quotes anywhere in a word, `\` escapes, `#` starts a
//   comment only at the start of a word). The npm `ssh-config` package reads values
//   differently (keeps single quotes, cuts at `#`, splits on `=`), so it is not used;
// - Host lines, first-obtained values, Include (each included file and each argument
//   starts in the including line's state, which is restored after it);
// - tokens (%C %d %h %i %L %l %n %p %r %u %k %%), ${VAR}, ~ (passwd home) where ssh
//   expands them, and only there.
// Match blocks are not evaluated (they never apply): the README says so.
//
// Reading files (loadSshConfig) is kept apart from resolving (resolveSshConfig, pure on
// text plus the already-read Include files).

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { expandHome } from './home-path.js';

export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'off' | 'ask';

export interface SshSettings {
  /** the name to connect to: HostName (with %h expanded) or the alias, lowercased like ssh */
  hostName: string;
  user?: string;
  port?: number;
  /** IdentityFile values in order, with ~, tokens and ${VAR} expanded */
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
  /** ~-expanded paths (ssh 9.2 expands nothing else here); [] for `none`; unset: the system default */
  globalKnownHostsFiles?: string[];
  /** 0: no time limit, as in ssh */
  connectTimeoutS?: number;
}

interface ConfigFileText {
  path: string;
  text: string;
}

/** Files named by Include lines: absolute pattern (as resolveIncludePattern makes it) -> files, sorted. */
type IncludedFiles = ReadonlyMap<string, readonly ConfigFileText[]>;

export interface ResolveOptions {
  localUser: string;
  /** the passwd entry's home (ssh's ~ and %d), see passwdHomeDir */
  homeDir: string;
  /** $HOME: what `~` means in Include paths (glob(3) GLOB_TILDE); defaults to homeDir */
  includeHome?: string;
  /** the file configText came from, for error messages */
  configPath: string;
  /** what Include lines name, as read by loadSshConfig; missing patterns match no file */
  includes?: IncludedFiles;
  /** for ${VAR} and IdentityAgent $VAR; defaults to process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** the system-wide file (/etc/ssh/ssh_config), read after the user's like ssh does */
  system?: LoadedSshConfig;
  /** %l (and %L, %C); defaults to os.hostname() like ssh's gethostname() */
  localHostName?: string;
  /** %i; defaults to the process's uid */
  uid?: number;
}

export interface LoadedSshConfig {
  configPath: string;
  /** '' when the file does not exist (ssh needs none) */
  text: string;
  includes: IncludedFiles;
  /** where relative Include paths point: ~/.ssh for the user's file, /etc/ssh for the system's */
  includeBase?: string;
  /** $HOME when the file was read: what ~ means in its Include paths */
  includeHome?: string;
}

export interface ProxyJumpHop {
  user?: string;
  host: string;
  port?: number;
}

/** OpenSSH's READCONF_MAX_DEPTH. */
const MAX_INCLUDE_DEPTH = 16;
/** SSH_MAX_IDENTITY_FILES and SSH_MAX_HOSTS_FILES. */
const MAX_IDENTITY_FILES = 100;
const MAX_HOSTS_FILES = 32;

/**
 * The home ssh uses for ~, %d and ~/.ssh: the passwd entry's, not $HOME. Only tests set
 * VPS_PROVISION_TEST_HOME_FROM_ENV (they run with HOME pointing at a temp folder, so they
 * never read this machine's own ~/.ssh).
 */
export function passwdHomeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VPS_PROVISION_TEST_HOME_FROM_ENV === '1' && env.HOME) return env.HOME;
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

// ---------------------------------------------------------------------------------------
// Lines

/** One directive with where it was written. */
interface ConfigLine {
  file: string;
  line: number;
  /** lowercased: OpenSSH keywords are case-insensitive */
  keyword: string;
  args: string[];
}

// Keywords that take exactly one argument (ssh rejects extra ones); the others the tool
// reads take a list. Keywords the tool does not use are not checked.
const SINGLE_ARGUMENT = new Set([
  'hostname',
  'user',
  'port',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'proxyjump',
  'stricthostkeychecking',
  'connecttimeout',
  'hashknownhosts',
]);
const LIST_ARGUMENT = new Set(['host', 'include', 'userknownhostsfile', 'globalknownhostsfile']);

/** Splits config text into directives like readconf.c, so every directive knows its line number. */
function parseConfigLines(text: string, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const split = splitConfigLine(raw, file, line);
    if (!split) return;
    checkArguments(split.keyword, split.args, file, line);
    lines.push({ file, line, ...split });
  });
  return lines;
}

const WHITESPACE = ' \t\r\n';

/** readconf.c process_config_line: the keyword (strdelim), then argv_split of the rest. */
function splitConfigLine(raw: string, file: string, line: number): { keyword: string; args: string[] } | undefined {
  const trimmed = raw.replace(/[ \t\r\n\f]+$/, '');
  if (trimmed === '') return undefined;
  let [keyword, rest] = strdelim(trimmed);
  if (keyword === '' && rest !== undefined) [keyword, rest] = strdelim(rest);
  if (keyword === undefined || keyword === '' || keyword.startsWith('#')) return undefined;
  keyword = keyword.toLowerCase();
  rest = rest === undefined ? '' : rest.replace(/^[ \t\r\n]+/, '');
  if (rest === '')
    throw syntaxError(
      file,
      line,
      `no argument after keyword "${keyword}"`,
      'write the keyword and its value on one line',
    );
  const args = argvSplit(rest);
  if (!args) throw syntaxError(file, line, 'invalid quotes', 'close every quote on the line where it opens');
  return { keyword, args };
}

// misc.c strdelim_internal(split_equals = 1): the keyword ends at whitespace, `"` or `=`;
// one `=` (with whitespace around it) separates it from the value.
function strdelim(s: string): [token: string | undefined, rest: string | undefined] {
  let at = 0;
  while (at < s.length && !WHITESPACE.includes(s[at]) && s[at] !== '"' && s[at] !== '=') at++;
  if (at === s.length) return [s, undefined];
  const skipSpace = (from: number) => {
    let i = from;
    while (i < s.length && WHITESPACE.includes(s[i])) i++;
    return i;
  };
  if (s[at] === '"') {
    const close = s.indexOf('"', at + 1);
    if (close < 0) return [undefined, undefined]; // ssh ignores such a line
    return [s.slice(0, at) + s.slice(at + 1, close), s.slice(skipSpace(close + 1))];
  }
  let next = skipSpace(at + 1);
  if (s[at] !== '=' && s[next] === '=') next = skipSpace(next + 1);
  return [s.slice(0, at), s.slice(next)];
}

/** misc.c argv_split(terminate_on_comment = 1); undefined for an unclosed quote. */
function argvSplit(s: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') {
        const n = s[i + 1];
        if (n === "'" || n === '"' || n === '\\' || (quote === '' && n === ' ')) {
          i++;
          arg += n;
        } else {
          arg += c; // an unrecognised escape stays as written
        }
      } else if (quote === '' && (c === ' ' || c === '\t')) {
        break;
      } else if (quote === '' && (c === '"' || c === "'")) {
        quote = c;
      } else if (quote !== '' && c === quote) {
        quote = '';
      } else {
        arg += c;
      }
    }
    if (quote !== '') return undefined;
    args.push(arg);
  }
  return args;
}

function checkArguments(keyword: string, args: string[], file: string, line: number): void {
  if (!SINGLE_ARGUMENT.has(keyword) && !LIST_ARGUMENT.has(keyword)) return;
  if (args.length === 0 || (SINGLE_ARGUMENT.has(keyword) && args[0] === '')) {
    throw syntaxError(file, line, `${keyword}: missing argument`, 'write the keyword and its value on one line');
  }
  if (SINGLE_ARGUMENT.has(keyword) && args.length > 1) {
    throw syntaxError(
      file,
      line,
      `keyword ${keyword} extra arguments at end of line ("${args.slice(1).join(' ')}")`,
      'quote a value that contains spaces, or write one value',
    );
  }
  if (LIST_ARGUMENT.has(keyword) && args.includes('')) {
    throw syntaxError(file, line, `keyword ${keyword} empty argument`, 'remove the empty quotes');
  }
}

function syntaxError(file: string, line: number, what: string, hint: string, cause?: unknown): ConfigError {
  return new ConfigError(
    `${file} line ${line}: ${what}`,
    hint,
    file,
    line,
    cause === undefined ? undefined : { cause },
  );
}

// ---------------------------------------------------------------------------------------
// Resolution

/** Raw first-obtained values, before token expansion (what `ssh -G` prints for most of them). */
export interface Obtained {
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
  /** inside an Include from a block that does not apply: no Host line matches (SSHCONF_NEVERMATCH) */
  neverMatch: boolean;
  includes?: IncludedFiles;
  includeBase?: string;
  includeHome: string;
  /** the user's file (Include may use ~) rather than the system's */
  userConf: boolean;
}

/**
 * Resolves the settings OpenSSH would use for `alias`. For each option the first value
 * obtained wins, except IdentityFile, which accumulates.
 */
export function resolveSshConfig(alias: string, configText: string, opts: ResolveOptions): SshSettings {
  return expandObtained(obtainSshConfig(alias, configText, opts), alias, opts);
}

/** The first-obtained raw values, unexpanded (exported for the parity test against `ssh -G`). */
export function obtainSshConfig(alias: string, configText: string, opts: ResolveOptions): Obtained {
  const walk: Walk = {
    alias,
    opts,
    obtained: { identityFiles: [] },
    active: true,
    neverMatch: false,
    includes: opts.includes,
    includeHome: opts.includeHome ?? opts.homeDir,
    userConf: true,
  };
  applyLines(parseConfigLines(configText, opts.configPath), walk, 0);
  if (opts.system) {
    // each file starts outside any Host block; values already obtained keep winning
    Object.assign(walk, {
      active: true,
      includes: opts.system.includes,
      includeBase: opts.system.includeBase,
      includeHome: opts.system.includeHome ?? walk.includeHome,
      userConf: false,
    });
    applyLines(parseConfigLines(opts.system.text, opts.system.configPath), walk, 0);
  }
  return walk.obtained;
}

function applyLines(lines: ConfigLine[], walk: Walk, depth: number): void {
  for (const line of lines) {
    if (line.keyword === 'host') walk.active = !walk.neverMatch && hostLineMatches(line.args, walk.alias);
    // Match is out of scope: its criteria (exec, user, canonical...) are not evaluated and
    // its block never applies, so nothing unexpected runs or leaks in. This differs from
    // ssh only when a Match block would have matched.
    else if (line.keyword === 'match') walk.active = false;
    else if (line.keyword === 'include') applyInclude(line, walk, depth);
    else obtain(line, walk);
  }
}

/** ssh_config Host line: any pattern matches and no negated pattern matches (case-sensitive, like ssh). */
function hostLineMatches(patterns: readonly string[], alias: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatches(negated ? pattern.slice(1) : pattern, alias)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH wildcards (match.c match_pattern): `*` any run of characters (also none), `?` exactly one. */
function wildcardMatches(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

// readconf.c oInclude: every file named starts in the state of the Include line's block
// and that state is restored after it (so a file ending in a Host block that does not
// apply does not hide the next file's lines). From a block that does not apply, files
// are read for syntax only: their Host lines never match.
function applyInclude(line: ConfigLine, walk: Walk, depth: number): void {
  if (depth >= MAX_INCLUDE_DEPTH) {
    throw syntaxError(line.file, line.line, 'Include nested too deeply', 'look for files that include each other');
  }
  const wasActive = walk.active;
  const wasNeverMatch = walk.neverMatch;
  for (const arg of line.args) {
    const pattern = includePatternOf(arg, walk.userConf, walk.includeHome, walk.includeBase, line);
    for (const file of walk.includes?.get(pattern) ?? []) {
      walk.active = wasActive;
      walk.neverMatch = wasNeverMatch || !wasActive;
      applyLines(parseConfigLines(file.text, file.path), walk, depth + 1);
      walk.active = wasActive;
      walk.neverMatch = wasNeverMatch;
    }
  }
}

function includePatternOf(
  arg: string,
  userConf: boolean,
  includeHome: string,
  base: string | undefined,
  line: ConfigLine,
): string {
  if (arg.startsWith('~') && !userConf) {
    throw syntaxError(
      line.file,
      line.line,
      `bad include path ${arg}`,
      'the system file may not Include ~ paths: write the full path',
    );
  }
  return resolveIncludePattern(arg, includeHome, base);
}

/** Include paths: ~ is $HOME (as glob(3) reads it); relative paths are under ~/.ssh (user config) or /etc/ssh (system config). */
function resolveIncludePattern(arg: string, includeHome: string, base: string = join(includeHome, '.ssh')): string {
  const path = expandHome(arg, includeHome);
  return isAbsolute(path) ? path : `${base}/${path}`;
}

// Every known keyword is validated even in blocks that do not apply, as ssh does; only
// the first value obtained in an applying block is kept.
function obtain(line: ConfigLine, walk: Walk): void {
  const o = walk.obtained;
  const first = line.args[0];
  switch (line.keyword) {
    case 'hostname':
      return keep(walk, 'hostName', line);
    case 'user':
      return keep(walk, 'user', first);
    case 'port':
      return keep(walk, 'port', parsePort(first, line));
    case 'identitiesonly':
      return keep(walk, 'identitiesOnly', parseYesNo(first, line));
    case 'identityagent':
      return keep(walk, 'identityAgent', checkAgentPath(line, walk.opts.env ?? process.env));
    case 'proxyjump':
      return keep(walk, 'proxyJump', checkProxyJump(first, line));
    case 'userknownhostsfile':
      return keepFiles(walk, 'userKnownHostsFiles', line);
    case 'stricthostkeychecking':
      return keep(walk, 'strictHostKeyChecking', parseStrict(first, line));
    case 'hashknownhosts':
      return keep(walk, 'hashKnownHosts', parseYesNo(first, line));
    case 'globalknownhostsfile':
      return keepFiles(walk, 'globalKnownHostsFiles', line);
    case 'connecttimeout':
      return keep(walk, 'connectTimeoutS', parseDuration(first, line));
    case 'identityfile':
      if (!walk.active) return;
      // add_identity_file: the same file twice is offered once
      if (o.identityFiles.some((l) => l.args[0] === first)) return;
      if (o.identityFiles.length >= MAX_IDENTITY_FILES) {
        throw syntaxError(
          line.file,
          line.line,
          `too many identity files specified (max ${MAX_IDENTITY_FILES})`,
          'remove some IdentityFile lines',
        );
      }
      o.identityFiles.push(line);
      return;
    default:
      return; // options vps-provision does not use
  }
}

function keep<K extends Exclude<keyof Obtained, 'identityFiles'>>(walk: Walk, key: K, value: Obtained[K]): void {
  if (walk.active && walk.obtained[key] === undefined) walk.obtained[key] = value;
}

// parse_char_array: "none" only alone; at most 32 files
function keepFiles(walk: Walk, key: 'userKnownHostsFiles' | 'globalKnownHostsFiles', line: ConfigLine): void {
  if (line.args.some((a) => a.toLowerCase() === 'none') && line.args.length > 1) {
    throw syntaxError(
      line.file,
      line.line,
      `keyword ${line.keyword} "none" argument must appear alone`,
      'write none alone, or only file names',
    );
  }
  if (line.args.length > MAX_HOSTS_FILES) {
    throw syntaxError(
      line.file,
      line.line,
      `too many ${line.keyword} entries`,
      `name at most ${MAX_HOSTS_FILES} files`,
    );
  }
  keep(walk, key, line);
}

/** misc.c a2port: a number 1-65535, or a tcp service name from /etc/services. */
function a2port(value: string): number | undefined {
  if (/^[+-]?\d+$/.test(value)) {
    const n = Number(value);
    return n >= 1 && n <= 65535 ? n : undefined;
  }
  const port = tcpServices().get(value);
  return port !== undefined && port >= 1 ? port : undefined;
}

let services: Map<string, number> | undefined;

// getservbyname(name, "tcp") through the services file, as glibc's files backend reads it.
function tcpServices(): Map<string, number> {
  if (services) return services;
  services = new Map();
  let text: string;
  try {
    text = readFileSync('/etc/services', 'utf8');
  } catch {
    return services;
  }
  for (const raw of text.split('\n')) {
    const [name, portProto, ...aliases] = raw.replace(/#.*/, '').trim().split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(portProto ?? '');
    if (!name || !m) continue;
    for (const n of [name, ...aliases]) if (!services.has(n)) services.set(n, Number(m[1]));
  }
  return services;
}

function parsePort(value: string, line: ConfigLine): number {
  const port = a2port(value);
  if (port !== undefined) return port;
  throw syntaxError(
    line.file,
    line.line,
    `bad port '${value}'`,
    'Port takes a number from 1 to 65535 or a service name',
  );
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
  throw syntaxError(
    line.file,
    line.line,
    `StrictHostKeyChecking takes yes, no, accept-new, off or ask, got '${value}'`,
    'write one of yes, no, accept-new, off, ask',
  );
}

const TIME_UNITS_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** OpenSSH's convtime: "30", "30s", "1m30s", "1m30", units s m h d w in either case. */
function parseDuration(value: string, line: ConfigLine): number {
  const parts = [...value.toLowerCase().matchAll(/(\d+)([smhdw]?)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === value.toLowerCase()) {
    return parts.reduce((sum, p) => sum + Number(p[1]) * TIME_UNITS_S[p[2]], 0);
  }
  throw syntaxError(line.file, line.line, `bad time value '${value}'`, 'write seconds, or a time like 1m30s');
}

// readconf.c parse_agent_path: ${VAR} must be set, checked as the line is read (in any block).
function checkAgentPath(line: ConfigLine, env: Readonly<Record<string, string | undefined>>): ConfigLine {
  const value = line.args[0];
  percentDollarExpand(value, line, undefined, env);
  return line;
}

// readconf.c parse_jump checks the syntax of every hop in any block.
function checkProxyJump(value: string, line: ConfigLine): string {
  try {
    parseProxyJump(value);
  } catch {
    throw syntaxError(
      line.file,
      line.line,
      `invalid ProxyJump "${value}"`,
      'write jump hosts as [user@]host[:port], separated by commas, or none',
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// Expansion, done once everything is read (as ssh does: %h is the final host name)

/** The values of ssh's default client tokens (DEFAULT_CLIENT_PERCENT_EXPAND_ARGS in 9.2). */
function clientTokens(
  o: Pick<Obtained, 'user' | 'port'>,
  hostName: string,
  alias: string,
  opts: ResolveOptions,
): Record<string, string> {
  const thisHost = opts.localHostName ?? hostname();
  const port = String(o.port ?? 22);
  const remoteUser = o.user ?? opts.localUser;
  return {
    C: createHash('sha1')
      .update(thisHost + hostName + port + remoteUser)
      .digest('hex'),
    L: thisHost.split('.')[0],
    i: String(opts.uid ?? process.getuid?.() ?? 0),
    k: alias,
    l: thisHost,
    n: alias,
    p: port,
    d: opts.homeDir,
    h: hostName,
    r: remoteUser,
    u: opts.localUser,
  };
}

function expandObtained(o: Obtained, alias: string, opts: ResolveOptions): SshSettings {
  // ssh.c: HostName takes %h (the alias) and %% only, then the name is lowercased
  const hostName = (
    o.hostName ? percentDollarExpand(o.hostName.args[0], o.hostName, { h: alias }, undefined) : alias
  ).toLowerCase();
  const tokens = clientTokens(o, hostName, alias, opts);
  const env = opts.env ?? process.env;
  // tilde_expand_filename, then default_client_percent_dollar_expand
  const path = (value: string, line: ConfigLine) =>
    percentDollarExpand(expandTilde(value, opts.homeDir, line), line, tokens, env);

  const settings: SshSettings = {
    hostName,
    identityFiles: o.identityFiles.map((line) => path(line.args[0], line)),
    identitiesOnly: o.identitiesOnly ?? false,
  };
  if (o.user !== undefined) settings.user = o.user;
  if (o.port !== undefined) settings.port = o.port;
  if (o.identityAgent) settings.identityAgent = expandAgent(o.identityAgent, path, env);
  if (o.proxyJump !== undefined && o.proxyJump.toLowerCase() !== 'none') settings.proxyJump = o.proxyJump;
  if (o.userKnownHostsFiles) settings.userKnownHostsFiles = expandKnownHosts(o.userKnownHostsFiles, path);
  if (o.strictHostKeyChecking !== undefined) settings.strictHostKeyChecking = o.strictHostKeyChecking;
  if (o.hashKnownHosts !== undefined) settings.hashKnownHosts = o.hashKnownHosts;
  // ssh 9.2 expands only ~ in GlobalKnownHostsFile
  if (o.globalKnownHostsFiles)
    settings.globalKnownHostsFiles = expandKnownHosts(o.globalKnownHostsFiles, (v, line) =>
      expandTilde(v, opts.homeDir, line),
    );
  if (o.connectTimeoutS !== undefined) settings.connectTimeoutS = o.connectTimeoutS;
  return settings;
}

type PathExpander = (value: string, line: ConfigLine) => string;

// ssh.c: the value is expanded like a path; then "none", "SSH_AUTH_SOCK" and a legacy
// "$NAME" (that variable, no agent when it is unset) are recognised.
function expandAgent(line: ConfigLine, path: PathExpander, env: Readonly<Record<string, string | undefined>>): string {
  const value = line.args[0];
  if (value === 'none' || value === 'SSH_AUTH_SOCK') return value;
  const expanded = path(value, line);
  if (expanded.startsWith('$') && !expanded.startsWith('${')) {
    // ssh refuses a bad name when it uses the value (ssh -G does not get that far)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(expanded.slice(1))) {
      throw syntaxError(
        line.file,
        line.line,
        `invalid IdentityAgent environment variable name ${expanded}`,
        'write $NAME with letters, digits and _',
      );
    }
    return env[expanded.slice(1)] || 'none';
  }
  return expanded;
}

function expandKnownHosts(line: ConfigLine, path: PathExpander): string[] {
  if (line.args.length === 1 && line.args[0].toLowerCase() === 'none') return [];
  return line.args.map((arg) => path(arg, line));
}

// misc.c tilde_expand: ~ and ~/ are the passwd home ("~" alone gives "home/"), ~user refused;
// ssh's own rule for IdentityFile, UserKnownHostsFile, ... (expandHome is the inventory's and Include's).
function expandTilde(value: string, homeDir: string, line: ConfigLine): string {
  if (!value.startsWith('~')) return value;
  const slash = value.indexOf('/');
  if (slash > 1 || (slash < 0 && value.length > 1)) {
    throw syntaxError(
      line.file,
      line.line,
      `~user paths are not supported ('${value}')`,
      'write the full path instead',
    );
  }
  const home = homeDir.endsWith('/') ? homeDir : `${homeDir}/`;
  return home + (slash < 0 ? '' : value.slice(slash + 1));
}

/**
 * misc.c vdollar_percent_expand, in one pass: ${VAR} (when env is given) and %x for the
 * tokens given (when tokens is given), %% is %. An unknown %x, a lone % at the end or an
 * unset variable is an error, as in ssh.
 */
function percentDollarExpand(
  value: string,
  line: ConfigLine,
  tokens: Record<string, string> | undefined,
  env: Readonly<Record<string, string | undefined>> | undefined,
): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (env && c === '$' && value[i + 1] === '{') {
      const end = value.indexOf('}', i + 2);
      const name = end < 0 ? '' : value.slice(i + 2, end);
      if (end < 0 || name === '') {
        throw syntaxError(
          line.file,
          line.line,
          `${line.keyword}: bad environment variable reference in '${value}'`,
          'write ${NAME} with a closing }',
        );
      }
      const found = env[name];
      if (found === undefined)
        throw syntaxError(
          line.file,
          line.line,
          `environment variable \${${name}} is not set`,
          `set ${name} or write the path out`,
        );
      out += found;
      i = end;
    } else if (c !== '%' || !tokens) {
      out += c;
    } else {
      const key = value[++i];
      if (key === '%') out += '%';
      else if (key !== undefined && key in tokens) out += tokens[key];
      else {
        throw syntaxError(
          line.file,
          line.line,
          key === undefined
            ? `${line.keyword}: '%' at the end of '${value}'`
            : `${line.keyword}: token '%${key}' is not supported here`,
          `ssh expands %% and %${Object.keys(tokens).join(' %')} in ${line.keyword}; write the value out`,
        );
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// ProxyJump

/** Splits a ProxyJump value into hops like readconf.c parse_jump: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export function parseProxyJump(spec: string): ProxyJumpHop[] {
  if (spec.toLowerCase() === 'none') return [];
  // parse_jump drops a comment and trailing whitespace
  const value = spec.replace(/#.*$/, '').replace(/[ \t\r\n]+$/, '');
  return value.split(',').map((hop) => parseHop(hop, spec));
}

function parseHop(hop: string, spec: string): ProxyJumpHop {
  const uri = hop.startsWith('ssh://');
  const bare = uri ? hop.slice('ssh://'.length).replace(/\/$/, '') : hop;
  // ssh 9.2 refuses a path in the URI, a '/' in a hop and a bracketed address in a URI
  if (bare.includes('/') || (uri && bare.includes('['))) throw badJump(spec, hop);
  const at = bare.lastIndexOf('@');
  const user = at >= 0 ? bare.slice(0, at) : undefined;
  const { host, port } = splitHostPort(bare.slice(at + 1), spec);
  if (host === '' || user === '') throw badJump(spec, hop);
  const result: ProxyJumpHop = { host };
  if (user !== undefined) result.user = user;
  if (port !== undefined) result.port = port;
  return result;
}

// misc.c hpdelim: [host]:port, else the host ends at the first ':' (so a bare IPv6
// address is refused, as by ssh); an empty port is no port.
function splitHostPort(text: string, spec: string): { host: string; port?: number } {
  let host: string;
  let rest: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw badJump(spec, text);
    host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw badJump(spec, text);
    rest = after === '' ? undefined : after.slice(1);
  } else {
    const delim = text.indexOf(':');
    host = delim < 0 ? text : text.slice(0, delim);
    rest = delim < 0 ? undefined : text.slice(delim + 1);
  }
  if (rest === undefined || rest === '') return { host };
  const port = a2port(rest);
  if (port === undefined) throw badJump(spec, rest);
  return { host, port };
}

function badJump(spec: string, part: string): ConfigError {
  return new ConfigError(
    `ProxyJump '${spec}': cannot read '${part}'`,
    'write jump hosts as [user@]host[:port], separated by commas',
  );
}

// ---------------------------------------------------------------------------------------
// Reading

/**
 * Reads an ssh config file and, recursively, the files its Include lines name. homeDir is
 * what ~ means in Include paths: ssh's glob(3) takes it from $HOME (see includeHomeDir).
 */
export function loadSshConfig(
  configPath: string,
  homeDir: string = includeHomeDir(),
  includeBase: string = join(homeDir, '.ssh'),
): LoadedSshConfig {
  const text = readConfigFile(configPath) ?? '';
  const includes = new Map<string, ConfigFileText[]>();
  collectIncludes(text, configPath, homeDir, includes, 0, includeBase);
  return { configPath, text, includes, includeBase, includeHome: homeDir };
}

/** `~` in Include paths: $HOME, else the passwd home (OpenSSH's glob GLOB_TILDE). */
export function includeHomeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || passwdHomeDir(env);
}

function collectIncludes(
  text: string,
  file: string,
  homeDir: string,
  includes: Map<string, ConfigFileText[]>,
  depth: number,
  base: string,
): void {
  for (const line of parseConfigLines(text, file)) {
    if (line.keyword !== 'include') continue;
    if (depth >= MAX_INCLUDE_DEPTH) {
      throw syntaxError(line.file, line.line, 'Include nested too deeply', 'look for files that include each other');
    }
    for (const arg of line.args) {
      if (arg.startsWith('~') && arg !== '~' && !arg.startsWith('~/')) continue; // ~user: reported when resolving
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
    throw new ConfigError(
      `cannot read ssh config ${path}: ${(error as Error).message}`,
      `make ${path} readable`,
      path,
      undefined,
      { cause: error },
    );
  }
}

/** glob(3) for Include: `*`, `?` and `[...]` in any path segment, sorted, dotfiles only by a dot pattern. */
export function globFiles(pattern: string): string[] {
  const [root, ...segments] = pattern.split('/');
  let paths = [root === '' ? '/' : root];
  for (const segment of segments.filter((s) => s !== '')) {
    paths = paths.flatMap((base) => expandSegment(base, segment));
  }
  return paths.sort();
}

function expandSegment(base: string, segment: string): string[] {
  const matcher = globSegmentRegExp(segment);
  if (!matcher) return [join(base, unescapeGlob(segment))];
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  return names
    .filter((name) => (segment.startsWith('.') || !name.startsWith('.')) && matcher.test(name))
    .map((name) => join(base, name));
}

function unescapeGlob(segment: string): string {
  return segment.replace(/\\(.)/g, '$1');
}

/** One glob(3) path segment as a RegExp; undefined when it has no wildcard. */
function globSegmentRegExp(segment: string): RegExp | undefined {
  let source = '';
  let wild = false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '\\' && i + 1 < segment.length) {
      source += escapeRegExp(segment[++i]);
    } else if (c === '*') {
      source += '.*';
      wild = true;
    } else if (c === '?') {
      source += '.';
      wild = true;
    } else if (c === '[') {
      const cls = bracketClass(segment, i);
      if (!cls) {
        source += '\\[';
        continue;
      }
      source += cls.source;
      i = cls.end;
      wild = true;
    } else {
      source += escapeRegExp(c);
    }
  }
  return wild ? new RegExp(`^${source}$`, 's') : undefined;
}

// [abc], [a-z], [!a] (negated); a ']' first is a member; an unclosed '[' is literal.
function bracketClass(segment: string, open: number): { source: string; end: number } | undefined {
  let i = open + 1;
  const negated = segment[i] === '!';
  if (negated) i++;
  const start = i;
  let body = '';
  for (; i < segment.length; i++) {
    const c = segment[i];
    if (c === ']' && i > start) return { source: `[${negated ? '^' : ''}${body}]`, end: i };
    if (c === '-' && i > start && segment[i + 1] !== undefined && segment[i + 1] !== ']') body += '-';
    else body += c.replace(/[\\\]^-]/, '\\$&');
  }
  return undefined;
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
