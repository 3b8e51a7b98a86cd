// Host key checking against OpenSSH known_hosts files, following OpenSSH's rules
// (hostfile.c / sshconnect.c) so a droplet trusted by `ssh` is trusted here and the
// other way round: same file, same line format, same hashing, same matching.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sh, raw } from '../shell/sh.js';
import { ConfigError } from '../errors.js';

import type { HostKeyPolicy } from '../config/host-key-policy.js';

export type HostKeyVerdict =
  | {
      ok: true;
      /** true when the key was appended to the user's known_hosts file */
      recorded: boolean;
      /** set when the key is accepted only because the policy is `off` */
      warning?: string;
    }
  | {
      ok: false;
      reason: 'changed' | 'unknown' | 'revoked';
      message: string;
      hint: string;
      expectedFingerprints: string[];
      actualFingerprint: string;
    };

export interface CheckHostKeyOptions {
  /** known_hosts files to read, in order; the first is the user's file, written to
   *  (none at all, as with `UserKnownHostsFile none`: nothing is recorded) */
  knownHostsFiles: string[];
  /** system-wide files (GlobalKnownHostsFile): read, never written */
  globalKnownHostsFiles?: string[];
  /** the name used to connect, as OpenSSH records it (the alias's HostName) */
  host: string;
  port: number;
  /** the key's type as named inside its blob (see keyTypeOfBlob), e.g. ssh-ed25519 */
  keyType: string;
  /** the raw public key blob (what ssh2's hostVerifier receives) */
  keyBlob: Buffer;
  policy: HostKeyPolicy;
  /** record a new key with a hashed host name, like OpenSSH's HashKnownHosts yes */
  hashNew?: boolean;
}

/** One usable line of a known_hosts file (@cert-authority lines are left out). */
export interface KnownHostEntry {
  file: string;
  line: number;
  revoked: boolean;
  /** the host field as written: a pattern list or one `|1|salt|hash` */
  hosts: string;
  keyType: string;
  keyBlob: Buffer;
}

const HASH_MAGIC = '|1|';

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  const digest = createHash('sha256').update(keyBlob).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** Reads the key type (the first SSH wire string) from a public key blob. */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) throw new RangeError('malformed SSH public key blob: too short');
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) {
    throw new RangeError('malformed SSH public key blob: bad key type length');
  }
  const type = blob.toString('latin1', 4, 4 + length);
  if (!/^[\x21-\x7e]+$/.test(type)) throw new RangeError('malformed SSH public key blob: bad key type');
  return type;
}

/** The name OpenSSH looks up and records: `host` for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** `|1|salt|hash` for a name (HMAC-SHA1 keyed by a 20-byte salt), as `ssh-keygen -H` writes. */
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  return `${HASH_MAGIC}${salt.toString('base64')}|${hash}`;
}

/** Parses known_hosts text; lines OpenSSH would skip (bad syntax, bad key) are skipped too. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const entry = parseKnownHostsLine(raw, file, index + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

function parseKnownHostsLine(raw: string, file: string, line: number): KnownHostEntry | undefined {
  const fields = raw.trim().split(/[ \t]+/);
  if (fields[0] === '' || fields[0].startsWith('#')) return undefined;
  let revoked = false;
  if (fields[0].startsWith('@')) {
    // @cert-authority needs certificate support, which ssh2 lacks: ignored, like a comment.
    if (fields[0] !== '@revoked') return undefined;
    revoked = true;
    fields.shift();
  }
  const [hosts, declared, keyBase64] = fields;
  if (hosts === undefined || declared === undefined || keyBase64 === undefined) return undefined;
  const key = decodeKey(declared, keyBase64);
  if (!key) return undefined;
  return { file, line, revoked, hosts, ...key };
}

// OpenSSH (sshkey_read) refuses a line whose declared type differs from the type inside
// the blob; the RSA signature names rsa-sha2-256/512 declare an RSA key too.
const DECLARED_AS: Readonly<Record<string, string>> = { 'rsa-sha2-256': 'ssh-rsa', 'rsa-sha2-512': 'ssh-rsa' };

function decodeKey(declared: string, keyBase64: string): { keyType: string; keyBlob: Buffer } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) return undefined;
  const blob = Buffer.from(keyBase64, 'base64');
  try {
    const keyType = keyTypeOfBlob(blob);
    return keyType === (DECLARED_AS[declared] ?? declared) ? { keyType, keyBlob: blob } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a known_hosts host field matches a lookup name (from knownHostsName). */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith(HASH_MAGIC)) return hashedFieldMatches(hosts, name);
  return patternListMatches(hosts.toLowerCase(), name.toLowerCase());
}

function hashedFieldMatches(hosts: string, name: string): boolean {
  const [salt64, hash64] = hosts.slice(HASH_MAGIC.length).split('|');
  if (!salt64 || !hash64) return false;
  const salt = Buffer.from(salt64, 'base64');
  if (salt.length !== 20) return false; // OpenSSH only accepts SHA-1 sized salts
  return hashKnownHostsName(name, salt) === hosts;
}

// OpenSSH's match_pattern_list: any negated pattern that matches vetoes the line.
function patternListMatches(list: string, name: string): boolean {
  let matched = false;
  for (const pattern of list.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH wildcards: `*` any run of characters (also none), `?` exactly one. */
function globMatches(pattern: string, text: string): boolean {
  // most patterns are plain names: no regular expression to build for each (host, line)
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === text;
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

/**
 * Each file's entries as last parsed, with the text they came from: every host of a fleet
 * looks its name up (before and during its handshake), and parsing a file that lists the
 * whole fleet again for each host made connecting N hosts cost N² lines.
 */
const parsedFiles = new Map<string, ParsedFile>();

interface ParsedFile {
  text: string;
  entries: KnownHostEntry[];
  /**
   * The entries each name matched. A hashed line (HashKnownHosts, Debian's default) is
   * matched by an HMAC of the name under that line's salt: with one line per host, a fleet
   * of N hosts costs N² HMACs (9 ms per host at 1000 lines), and a host is looked up two or
   * three times (key types to offer, the key check, the plain name): once is enough.
   */
  byName: Map<string, KnownHostEntry[]>;
}

/** The entries of known_hosts files whose host field matches `name`; a missing file is an empty one, as in OpenSSH. */
function entriesFor(files: readonly string[], name: string): KnownHostEntry[] {
  return files.flatMap((file) => {
    const text = readIfExists(file);
    if (text === undefined) return [];
    // read every time (a key recorded meanwhile counts at once); parsed only when it changed
    let parsed = parsedFiles.get(file);
    if (parsed?.text !== text) {
      parsed = { text, entries: parseKnownHosts(text, file), byName: new Map() };
      parsedFiles.set(file, parsed);
    }
    let matched = parsed.byName.get(name);
    if (!matched) {
      matched = parsed.entries.filter((e) => hostFieldMatches(e.hosts, name));
      parsed.byName.set(name, matched);
    }
    return matched;
  });
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(
      `cannot read known_hosts file ${file}: ${(error as Error).message}`,
      `check that ${file} is a readable file, or choose another one with UserKnownHostsFile`,
      file,
      undefined,
      { cause: error },
    );
  }
}

/** The key types recorded for a host (not @revoked), in all the files given. */
export function recordedKeyTypes(files: readonly string[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = entriesFor(files, name)
    .filter((e) => !e.revoked)
    .map((e) => e.keyType);
  return [...new Set(types)];
}

// OpenSSH's default HostKeyAlgorithms order (myproposal.h), for the algorithms ssh2 can use;
// each known_hosts key type with the signature algorithms that prove it.
const HOST_KEY_ALGORITHMS: readonly [keyType: string, algorithms: readonly string[]][] = [
  ['ssh-ed25519', ['ssh-ed25519']],
  ['ecdsa-sha2-nistp256', ['ecdsa-sha2-nistp256']],
  ['ecdsa-sha2-nistp384', ['ecdsa-sha2-nistp384']],
  ['ecdsa-sha2-nistp521', ['ecdsa-sha2-nistp521']],
  ['ssh-rsa', ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
];

/**
 * The host key algorithms to offer when these key types are recorded for the host: only
 * those, in OpenSSH's order, so a server that has a recorded key proves that one (as ssh
 * does with known keys) and one that has not cannot talk us into another type. undefined
 * when nothing usable is recorded (offer ssh2's defaults; the check decides).
 */
export function hostKeyAlgorithmsFor(recordedTypes: readonly string[]): string[] | undefined {
  const algorithms = HOST_KEY_ALGORITHMS.filter(([type]) => recordedTypes.includes(type)).flatMap(([, a]) => a);
  return algorithms.length > 0 ? algorithms : undefined;
}

/** Decides whether to trust a host key, as OpenSSH would under the given policy. */
export function checkHostKey(options: CheckHostKeyOptions): HostKeyVerdict {
  const { host, port, keyType, keyBlob, policy } = options;
  const name = knownHostsName(host, port);
  const files = [...options.knownHostsFiles, ...(options.globalKnownHostsFiles ?? [])];
  const entries = entriesFor(files, name);
  const actual = fingerprintSha256(keyBlob);

  // A revoked key is refused whatever the policy: revocation is an explicit decision.
  const revoked = entries.find((e) => e.revoked && e.keyBlob.equals(keyBlob));
  if (revoked) return refuseRevoked(host, port, actual, revoked);

  const known = entries.filter((e) => !e.revoked);
  if (known.some((e) => e.keyType === keyType && e.keyBlob.equals(keyBlob))) {
    return { ok: true, recorded: false };
  }
  // A key of the same type that differs, or a key of a type not recorded while others are
  // (a downgrade: whoever answers may hold only the weaker key): a changed key, like ssh.
  if (known.length > 0) {
    const sameType = known.filter((e) => e.keyType === keyType);
    const refusal = refuseChanged(host, port, keyType, actual, sameType.length > 0 ? sameType : known);
    if (policy === 'off')
      return { ok: true, recorded: false, warning: `${refusal.message} (accepted: host key policy is off)` };
    return refusal;
  }

  // sshconnect.c: a host new under [host]:port is also looked up under its plain name, read
  // only; the very key recorded there (not @revoked) is trusted and nothing is written.
  if (port !== 22 && plainNameHasKey(files, host, keyBlob)) return { ok: true, recorded: false };

  if (policy === 'off') return { ok: true, recorded: false };
  if (policy === 'accept-new') {
    const userFile = options.knownHostsFiles[0];
    // `UserKnownHostsFile none` leaves nowhere to write: OpenSSH warns and goes on.
    if (userFile === undefined)
      return {
        ok: true,
        recorded: false,
        warning: `no known_hosts file to record the key of ${hostLabel(host, port)} in`,
      };
    recordHostKey(userFile, name, keyType, keyBlob, options.hashNew ?? false);
    return { ok: true, recorded: true };
  }
  return refuseUnknown(options, actual, known);
}

function plainNameHasKey(files: readonly string[], host: string, keyBlob: Buffer): boolean {
  const entries = entriesFor(files, knownHostsName(host, 22)).filter((e) => e.keyBlob.equals(keyBlob));
  return entries.length > 0 && !entries.some((e) => e.revoked);
}

function hostLabel(host: string, port: number): string {
  return `${host} port ${port}`;
}

function refuseRevoked(host: string, port: number, actual: string, entry: KnownHostEntry): HostKeyVerdict {
  return {
    ok: false,
    reason: 'revoked',
    message: `host key ${actual} offered by ${hostLabel(host, port)} is marked @revoked in ${entry.file}:${entry.line}`,
    hint: 'a revoked key is never accepted; ask whoever runs the droplet for its current host key',
    expectedFingerprints: [],
    actualFingerprint: actual,
  };
}

function refuseChanged(
  host: string,
  port: number,
  keyType: string,
  actual: string,
  recorded: KnownHostEntry[],
): Extract<HostKeyVerdict, { ok: false }> {
  const expected = [...new Set(recorded.map((e) => fingerprintSha256(e.keyBlob)))];
  const recordedKeys = [...new Set(recorded.map((e) => `${e.keyType} ${fingerprintSha256(e.keyBlob)}`))];
  const where = recorded.map((e) => `${e.file}:${e.line}`).join(', ');
  const files = [...new Set(recorded.map((e) => e.file))];
  const name = knownHostsName(host, port);
  const removal = files.map((f) => sh`ssh-keygen -R ${name} -f ${f}`.text).join(' && ');
  const otherType = !recorded.some((e) => e.keyType === keyType);
  return {
    ok: false,
    reason: 'changed',
    message:
      `REMOTE HOST IDENTIFICATION HAS CHANGED for ${hostLabel(host, port)}: it offered ${keyType} ${actual}, ` +
      `but ${where} records ${recordedKeys.join(', ')}` +
      (otherType
        ? `; a host that has a recorded key must prove it, a key of another type is not accepted in its place`
        : '') +
      '; the droplet was rebuilt or someone is in between',
    hint: `if you trust the new key (compare ${actual} with the droplet's console), remove the old one with \`${removal}\` and connect again`,
    expectedFingerprints: expected,
    actualFingerprint: actual,
  };
}

function refuseUnknown(options: CheckHostKeyOptions, actual: string, known: KnownHostEntry[]): HostKeyVerdict {
  const { host, port, keyType } = options;
  const userFile = options.knownHostsFiles[0];
  const file = userFile === undefined ? raw('~/.ssh/known_hosts') : userFile; // ~ must stay unquoted
  const otherTypes = [...new Set(known.map((e) => e.keyType))];
  const others = otherTypes.length > 0 ? ` (only ${otherTypes.join(', ')} keys are recorded for it)` : '';
  return {
    ok: false,
    reason: 'unknown',
    message: `${hostLabel(host, port)} offered ${keyType} key ${actual}, which is not in known_hosts${others}, and the host key policy is strict`,
    hint:
      `check ${actual} out of band (e.g. the provider's console), then add it with ` +
      `\`${sh`ssh-keyscan -p ${port} ${host} >> ${file}`.text}\`, or use the accept-new policy`,
    expectedFingerprints: [],
    actualFingerprint: actual,
  };
}

/** Appends a key line to the user's known_hosts, creating it private (0700 dir, 0600 file). */
function recordHostKey(file: string, name: string, keyType: string, keyBlob: Buffer, hashed: boolean): void {
  const hostField = hashed ? hashKnownHostsName(name) : name;
  const line = `${hostField} ${keyType} ${keyBlob.toString('base64')}\n`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const before = readIfExists(file);
    // Never glue the new entry onto a last line that lacks its newline.
    const separator = before && !before.endsWith('\n') ? '\n' : '';
    appendFileSync(file, separator + line, { mode: 0o600 });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `cannot record the host key of ${name} in ${file}: ${(error as Error).message}`,
      `make ${file} writable, or choose another file with UserKnownHostsFile`,
      file,
      undefined,
      { cause: error },
    );
  }
}
