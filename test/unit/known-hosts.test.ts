// Host key checking against known_hosts files written and read by OpenSSH's own tools:
// keys come from ssh-keygen, hashed files from `ssh-keygen -H`, lookups are cross-checked
// with `ssh-keygen -F`, fingerprints with `ssh-keygen -lf`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHostKey,
  fingerprintSha256,
  hashKnownHostsName,
  hostFieldMatches,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  recordedKeyTypes,
  hostKeyAlgorithmsFor,
  type CheckHostKeyOptions,
  type HostKeyVerdict,
} from '../../src/transport/known-hosts.js';

interface TestKey {
  file: string;
  type: string;
  base64: string;
  blob: Buffer;
  /** "type base64", the key part of a known_hosts line */
  line: string;
}

let dir: string;
const keys: Record<'a' | 'b' | 'ecdsa' | 'rsa', TestKey> = {} as never;

function makeKey(name: string, type: string, bits?: string): TestKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', '', '-f', file]);
  const [keyType, base64] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  return { file, type: keyType, base64, blob: Buffer.from(base64, 'base64'), line: `${keyType} ${base64}` };
}

let fileCounter = 0;
function knownHostsFile(lines: string[]): string {
  const file = join(dir, `known_hosts_${fileCounter++}`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function check(
  files: string[],
  host: string,
  port: number,
  key: TestKey,
  extra: Partial<CheckHostKeyOptions> = {},
): HostKeyVerdict {
  return checkHostKey({
    knownHostsFiles: files,
    host,
    port,
    keyType: key.type,
    keyBlob: key.blob,
    policy: 'strict',
    ...extra,
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'known-hosts-test-'));
  keys.a = makeKey('a', 'ed25519');
  keys.b = makeKey('b', 'ed25519');
  keys.ecdsa = makeKey('ecdsa', 'ecdsa');
  keys.rsa = makeKey('rsa', 'rsa', '1024');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fingerprintSha256 and keyTypeOfBlob', () => {
  test.each(['a', 'ecdsa', 'rsa'] as const)('%s key: same fingerprint and type as ssh-keygen -lf', (name) => {
    const key = keys[name];
    const out = execFileSync('ssh-keygen', ['-lf', `${key.file}.pub`], { encoding: 'utf8' });
    expect(out.split(' ')[1]).toBe(fingerprintSha256(key.blob));
    expect(keyTypeOfBlob(key.blob)).toBe(key.type);
  });

  test.each([
    ['empty', Buffer.alloc(0)],
    ['length past the end', Buffer.from([0, 0, 0, 20, 0x61])],
    ['zero length', Buffer.from([0, 0, 0, 0])],
  ])('malformed blob (%s) is refused', (_name, blob) => {
    expect(() => keyTypeOfBlob(blob)).toThrow(/malformed/);
  });
});

describe('host field matching', () => {
  test.each([
    ['example.com', 'example.com', true],
    ['EXAMPLE.com', 'example.com', true],
    ['other.com,example.com', 'example.com', true],
    ['*.example.com', 'web.example.com', true],
    ['*.example.com', 'example.com', false],
    ['web?.example.com', 'web1.example.com', true],
    ['web?.example.com', 'web.example.com', false],
    ['web?.example.com', 'web12.example.com', false],
    ['*.example.com,!bad.example.com', 'bad.example.com', false],
    ['*.example.com,!bad.example.com', 'good.example.com', true],
    ['!bad.example.com', 'good.example.com', false],
    ['[example.com]:2222', '[example.com]:2222', true],
    ['[example.com]:2222', 'example.com', false],
    ['example.com', '[example.com]:2222', false],
    ['[*.example.com]:2222', '[web.example.com]:2222', true],
    ['10.0.0.*', '10.0.0.7', true],
    ['10.0.0.*', '10.0.1.7', false],
    // a plain name is compared as text: its dots and brackets are no wildcards
    ['10.0.0.7', '10a0b0c7', false],
    ['[127.0.0.1]:2222', '[127.0.0.1]:22222', false],
    ['web1.example.com,web2.example.com', 'web2.example.com', true],
  ])('%s vs %s -> %s', (field, name, expected) => {
    expect(hostFieldMatches(field, name)).toBe(expected);
  });

  test('hashed names match the name they were made from, and only that', () => {
    const field = hashKnownHostsName('[web.example.com]:2222');
    expect(hostFieldMatches(field, '[web.example.com]:2222')).toBe(true);
    expect(hostFieldMatches(field, 'web.example.com')).toBe(false);
  });

  test.each([
    ['example.com', 22, 'example.com'],
    ['Example.COM', 22, 'example.com'],
    ['example.com', 2222, '[example.com]:2222'],
    ['::1', 2222, '[::1]:2222'],
  ])('knownHostsName(%s, %d) = %s', (host, port, name) => {
    expect(knownHostsName(host, port)).toBe(name);
  });
});

describe('parseKnownHosts', () => {
  test('skips comments, blank lines, @cert-authority, bad markers and bad keys; keeps line numbers', () => {
    const text = [
      '# comment',
      '',
      `@cert-authority *.example.com ${keys.a.line}`,
      `@bogus host ${keys.a.line}`,
      'host ssh-ed25519 not-base64!',
      `host ssh-rsa ${keys.a.base64}`, // declared type differs from the blob's
      'host-only-one-field',
      `  web.example.com ${keys.a.line} comment words`,
      `@revoked * ${keys.b.line}`,
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    expect(entries.map((e) => [e.line, e.hosts, e.revoked])).toEqual([
      [8, 'web.example.com', false],
      [9, '*', true],
    ]);
    expect(entries[0].keyBlob.equals(keys.a.blob)).toBe(true);
  });
});

describe('checkHostKey against existing files', () => {
  type Row = [
    name: string,
    lines: () => string[],
    host: string,
    port: number,
    key: keyof typeof keys,
    expected: string,
  ];
  const rows: Row[] = [
    ['plain entry, same key', () => [`web.example.com ${keys.a.line}`], 'web.example.com', 22, 'a', 'ok'],
    ['name is compared without case', () => [`Web.Example.com ${keys.a.line}`], 'WEB.example.com', 22, 'a', 'ok'],
    ['[host]:port entry', () => [`[web.example.com]:2222 ${keys.a.line}`], 'web.example.com', 2222, 'a', 'ok'],
    // sshconnect.c looks a host new under [host]:port up under its plain name too
    [
      'plain entry with the same key covers another port',
      () => [`web.example.com ${keys.a.line}`],
      'web.example.com',
      2222,
      'a',
      'ok',
    ],
    [
      'plain entry with another key: new on another port (not changed)',
      () => [`web.example.com ${keys.b.line}`],
      'web.example.com',
      2222,
      'a',
      'unknown',
    ],
    [
      'plain entry not used when [host]:port has a key',
      () => [`[web.example.com]:2222 ${keys.b.line}`, `web.example.com ${keys.a.line}`],
      'web.example.com',
      2222,
      'a',
      'changed',
    ],
    [
      'plain entry revoked: not trusted',
      () => [`web.example.com ${keys.a.line}`, `@revoked web.example.com ${keys.a.line}`],
      'web.example.com',
      2222,
      'a',
      'unknown',
    ],
    [
      'key type written as rsa-sha2-512',
      () => [`web.example.com rsa-sha2-512 ${keys.rsa.base64}`],
      'web.example.com',
      22,
      'rsa',
      'ok',
    ],
    [
      'key type written as rsa-sha2-256',
      () => [`web.example.com rsa-sha2-256 ${keys.rsa.base64}`],
      'web.example.com',
      22,
      'rsa',
      'ok',
    ],
    ['wildcard', () => [`*.example.com ${keys.a.line}`], 'web.example.com', 22, 'a', 'ok'],
    ['negated in list', () => [`*.example.com,!web.example.com ${keys.a.line}`], 'web.example.com', 22, 'a', 'unknown'],
    ['comma list', () => [`10.0.0.1,web.example.com ${keys.a.line}`], 'web.example.com', 22, 'a', 'ok'],
    ['same type, other key', () => [`web.example.com ${keys.b.line}`], 'web.example.com', 22, 'a', 'changed'],
    [
      'other key listed too: a matching line wins',
      () => [`web.example.com ${keys.b.line}`, `web.example.com ${keys.a.line}`],
      'web.example.com',
      22,
      'a',
      'ok',
    ],
    // a downgrade (or any other type) is a changed key, whatever form the recorded line has
    [
      'only other types recorded',
      () => [`web.example.com ${keys.ecdsa.line}`, `web.example.com ${keys.rsa.line}`],
      'web.example.com',
      22,
      'a',
      'changed',
    ],
    [
      'ed25519 recorded, rsa offered',
      () => [`web.example.com ${keys.a.line}`],
      'web.example.com',
      22,
      'rsa',
      'changed',
    ],
    [
      'ed25519 recorded for [host]:port, rsa offered',
      () => [`[web.example.com]:2222 ${keys.a.line}`],
      'web.example.com',
      2222,
      'rsa',
      'changed',
    ],
    [
      'ed25519 recorded, hashed, rsa offered',
      () => [`${hashKnownHostsName('web.example.com')} ${keys.a.line}`],
      'web.example.com',
      22,
      'rsa',
      'changed',
    ],
    [
      'ed25519 recorded by wildcard, rsa offered',
      () => [`*.example.com ${keys.a.line}`],
      'web.example.com',
      22,
      'rsa',
      'changed',
    ],
    [
      'other type recorded for another port only',
      () => [`web.example.com ${keys.a.line}`],
      'web.example.com',
      2222,
      'rsa',
      'unknown',
    ],
    [
      'a @revoked key of another type is not a recorded key',
      () => [`@revoked web.example.com ${keys.rsa.line}`],
      'web.example.com',
      22,
      'a',
      'unknown',
    ],
    [
      'a @cert-authority of another type is not a recorded key',
      () => [`@cert-authority web.example.com ${keys.rsa.line}`],
      'web.example.com',
      22,
      'a',
      'unknown',
    ],
    ['other host only', () => [`db.example.com ${keys.a.line}`], 'web.example.com', 22, 'a', 'unknown'],
    ['revoked', () => [`@revoked * ${keys.a.line}`], 'web.example.com', 22, 'a', 'revoked'],
    [
      'revoked beats a matching line',
      () => [`web.example.com ${keys.a.line}`, `@revoked web.example.com ${keys.a.line}`],
      'web.example.com',
      22,
      'a',
      'revoked',
    ],
    [
      'revoked for another host only',
      () => [`@revoked db.example.com ${keys.a.line}`],
      'web.example.com',
      22,
      'a',
      'unknown',
    ],
    [
      'revoked other key does not matter',
      () => [`@revoked * ${keys.b.line}`, `web.example.com ${keys.a.line}`],
      'web.example.com',
      22,
      'a',
      'ok',
    ],
    [
      '@cert-authority is ignored',
      () => [`@cert-authority *.example.com ${keys.b.line}`],
      'web.example.com',
      22,
      'a',
      'unknown',
    ],
    ['rsa key matched by type ssh-rsa', () => [`web.example.com ${keys.rsa.line}`], 'web.example.com', 22, 'rsa', 'ok'],
    [
      'ecdsa key, other ecdsa recorded',
      () => [`web.example.com ${makeKeyLater('ecdsa2')}`],
      'web.example.com',
      22,
      'ecdsa',
      'changed',
    ],
  ];

  test.each(rows)('%s', (_name, lines, host, port, key, expected) => {
    const verdict = check([knownHostsFile(lines())], host, port, keys[key]);
    expect(verdict.ok ? 'ok' : verdict.reason).toBe(expected);
    if (verdict.ok) expect(verdict.recorded).toBe(false);
  });

  test('hashed entries written by ssh-keygen -H, for port 22 and another port', () => {
    const file = knownHostsFile([`web.example.com ${keys.a.line}`, `[web.example.com]:2222 ${keys.b.line}`]);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).not.toContain('example.com');
    expect(check([file], 'web.example.com', 22, keys.a)).toEqual({ ok: true, recorded: false });
    expect(check([file], 'web.example.com', 2222, keys.b)).toEqual({ ok: true, recorded: false });
    expect(check([file], 'web.example.com', 2222, keys.a)).toMatchObject({ ok: false, reason: 'changed' });
    expect(check([file], 'db.example.com', 22, keys.a)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  test('a key in the second (global) file is trusted; missing files are empty', () => {
    const global = knownHostsFile([`web.example.com ${keys.a.line}`]);
    expect(check([join(dir, 'missing', 'known_hosts'), global], 'web.example.com', 22, keys.a)).toEqual({
      ok: true,
      recorded: false,
    });
  });

  test('changed: message names host, port, both fingerprints and file:line; the hint removes it', () => {
    const file = knownHostsFile(['# first line', `[web.example.com]:2222 ${keys.b.line}`]);
    const verdict = check([file], 'web.example.com', 2222, keys.a, { policy: 'accept-new' });
    if (verdict.ok) throw new Error('expected a refusal');
    expect(verdict.reason).toBe('changed');
    expect(verdict.expectedFingerprints).toEqual([fingerprintSha256(keys.b.blob)]);
    expect(verdict.actualFingerprint).toBe(fingerprintSha256(keys.a.blob));
    for (const part of [
      'web.example.com',
      '2222',
      fingerprintSha256(keys.a.blob),
      fingerprintSha256(keys.b.blob),
      `${file}:2`,
    ]) {
      expect(verdict.message).toContain(part);
    }
    expect(verdict.hint).toContain(`ssh-keygen -R '[web.example.com]:2222' -f ${file}`);
    // Following the hint (as a user who trusts the new key would) makes the host new again.
    execFileSync('ssh-keygen', ['-R', '[web.example.com]:2222', '-f', file], { stdio: 'ignore' });
    expect(check([file], 'web.example.com', 2222, keys.a)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  test('changed under policy off: accepted with a warning, nothing written', () => {
    const file = knownHostsFile([`web.example.com ${keys.b.line}`]);
    const before = readFileSync(file, 'utf8');
    const verdict = check([file], 'web.example.com', 22, keys.a, { policy: 'off' });
    expect(verdict).toMatchObject({ ok: true, recorded: false });
    expect(verdict.ok && verdict.warning).toContain(fingerprintSha256(keys.b.blob));
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  test('revoked is refused even under policy off', () => {
    const file = knownHostsFile([`@revoked * ${keys.a.line}`]);
    const verdict = check([file], 'web.example.com', 22, keys.a, { policy: 'off' });
    expect(verdict).toMatchObject({ ok: false, reason: 'revoked', actualFingerprint: fingerprintSha256(keys.a.blob) });
    expect(!verdict.ok && verdict.message).toContain(`${file}:1`);
  });

  test('unknown under strict: hint says how to add the key after checking it', () => {
    const file = knownHostsFile([`web.example.com ${keys.ecdsa.line}`]);
    const verdict = check([file], 'web.example.com', 2222, keys.a);
    if (verdict.ok) throw new Error('expected a refusal');
    expect(verdict.reason).toBe('unknown');
    expect(verdict.hint).toContain(`ssh-keyscan -p 2222 web.example.com >> ${file}`);
    expect(verdict.hint).toContain(fingerprintSha256(keys.a.blob));
  });

  test('unknown under off: accepted, not recorded', () => {
    const file = join(dir, 'never-created');
    expect(check([file], 'web.example.com', 22, keys.a, { policy: 'off' })).toEqual({ ok: true, recorded: false });
    expect(() => statSync(file)).toThrow();
  });
});

describe('checkHostKey accept-new recording', () => {
  test.each([
    ['plain, port 22', 22, false, 'web.example.com'],
    ['plain, port 2222', 2222, false, '[web.example.com]:2222'],
    ['hashed, port 22', 22, true, 'web.example.com'],
    ['hashed, port 2222', 2222, true, '[web.example.com]:2222'],
  ])('%s: creates folder 0700 and file 0600; ssh-keygen -F finds it', (_name, port, hashNew, name) => {
    const folder = join(dir, `new-${fileCounter++}`, '.ssh');
    const file = join(folder, 'known_hosts');
    const first = check([file], 'Web.Example.com', port, keys.a, { policy: 'accept-new', hashNew });
    expect(first).toEqual({ ok: true, recorded: true });
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith(`${keys.a.line}\n`)).toBe(true);
    expect(text.startsWith(hashNew ? '|1|' : `${name} `)).toBe(true);
    const found = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
    expect(found).toContain(keys.a.base64);
    // Known now: the second contact records nothing.
    expect(check([file], 'web.example.com', port, keys.a, { policy: 'accept-new' })).toEqual({
      ok: true,
      recorded: false,
    });
  });

  test('another type for a known host is a changed key: refused naming both keys, never appended', () => {
    const file = knownHostsFile([`${hashKnownHostsName('[web.example.com]:2222')} ${keys.a.line}`]);
    const before = readFileSync(file, 'utf8');
    const verdict = check([file], 'web.example.com', 2222, keys.rsa, { policy: 'accept-new' });
    if (verdict.ok) throw new Error('expected a refusal');
    expect(verdict.reason).toBe('changed');
    expect(verdict.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED for web.example.com port 2222');
    expect(verdict.message).toContain(`it offered ssh-rsa ${fingerprintSha256(keys.rsa.blob)}`);
    expect(verdict.message).toContain(`records ssh-ed25519 ${fingerprintSha256(keys.a.blob)}`);
    expect(verdict.expectedFingerprints).toEqual([fingerprintSha256(keys.a.blob)]);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  test('a key recorded in a global file makes another type changed too, and the global file is never written', () => {
    const user = join(dir, `user-${fileCounter++}`);
    const global = knownHostsFile([`web.example.com ${keys.a.line}`]);
    const before = readFileSync(global, 'utf8');
    const verdict = checkHostKey({
      knownHostsFiles: [user],
      globalKnownHostsFiles: [global],
      host: 'web.example.com',
      port: 22,
      keyType: keys.rsa.type,
      keyBlob: keys.rsa.blob,
      policy: 'accept-new',
    });
    expect(verdict).toMatchObject({ ok: false, reason: 'changed' });
    expect(
      checkHostKey({
        knownHostsFiles: [user],
        globalKnownHostsFiles: [global],
        host: 'web.example.com',
        port: 22,
        keyType: keys.a.type,
        keyBlob: keys.a.blob,
        policy: 'strict',
      }),
    ).toEqual({ ok: true, recorded: false });
    // a new host goes to the user's file only
    expect(
      checkHostKey({
        knownHostsFiles: [user],
        globalKnownHostsFiles: [global],
        host: 'db.example.com',
        port: 22,
        keyType: keys.a.type,
        keyBlob: keys.a.blob,
        policy: 'accept-new',
      }),
    ).toEqual({ ok: true, recorded: true });
    expect(readFileSync(global, 'utf8')).toBe(before);
    expect(readFileSync(user, 'utf8')).toBe(`db.example.com ${keys.a.line}\n`);
  });

  test('a last line without newline is not glued to the new entry', () => {
    const file = join(dir, `no-newline-${fileCounter++}`);
    writeFileSync(file, `db.example.com ${keys.b.line}`);
    check([file], 'web.example.com', 22, keys.a, { policy: 'accept-new' });
    expect(readFileSync(file, 'utf8')).toBe(`db.example.com ${keys.b.line}\nweb.example.com ${keys.a.line}\n`);
  });

  test('writes only to the first file', () => {
    const user = join(dir, `user-${fileCounter++}`);
    const global = knownHostsFile([`db.example.com ${keys.b.line}`]);
    const before = readFileSync(global, 'utf8');
    check([user, global], 'web.example.com', 22, keys.a, { policy: 'accept-new' });
    expect(readFileSync(global, 'utf8')).toBe(before);
    expect(readFileSync(user, 'utf8')).toBe(`web.example.com ${keys.a.line}\n`);
  });
});

// A key made on demand inside a table row (rows are built after beforeAll ran).
function makeKeyLater(name: string): string {
  return makeKey(name, 'ecdsa').line;
}

describe('host key algorithms offered', () => {
  test.each([
    [['ssh-ed25519'], ['ssh-ed25519']],
    [['ssh-rsa'], ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
    // OpenSSH's order, whatever the order in the file
    [
      ['ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519'],
      ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
    ],
    [['sk-ssh-ed25519@openssh.com'], undefined],
    [[], undefined],
  ])('recorded %j -> %j', (types, algorithms) => {
    expect(hostKeyAlgorithmsFor(types)).toEqual(algorithms);
  });

  test('recorded types: every form of the name, not @revoked, not @cert-authority, not other ports', () => {
    const file = knownHostsFile([
      `${hashKnownHostsName('[web.example.com]:2222')} ${keys.a.line}`,
      `[web.example.com]:2222 ${keys.ecdsa.line}`,
      `@revoked [web.example.com]:2222 ${keys.rsa.line}`,
      `@cert-authority * ${keys.rsa.line}`,
      `web.example.com ${keys.rsa.line}`,
    ]);
    expect(recordedKeyTypes([file], 'web.example.com', 2222)).toEqual(['ssh-ed25519', keys.ecdsa.type]);
    expect(recordedKeyTypes([file], 'web.example.com', 22)).toEqual(['ssh-rsa']);
  });

  test('a file changed between two lookups is read again (each host of a run looks it up)', () => {
    const file = knownHostsFile([`[web.example.com]:2222 ${keys.a.line}`]);
    expect(recordedKeyTypes([file], 'web.example.com', 2222)).toEqual(['ssh-ed25519']);
    expect(recordedKeyTypes([file], 'web.example.com', 2222)).toEqual(['ssh-ed25519']);
    writeFileSync(file, `[web.example.com]:2222 ${keys.ecdsa.line}\n`);
    expect(recordedKeyTypes([file], 'web.example.com', 2222)).toEqual([keys.ecdsa.type]);
    rmSync(file);
    expect(recordedKeyTypes([file], 'web.example.com', 2222)).toEqual([]);
  });
});
