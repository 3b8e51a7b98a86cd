import { mkdtempSync, statSync, readFileSync, writeFileSync, mkdirSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  ensurePassword,
  generatePassword,
  credentialsDir,
  PASSWORD_LENGTH,
  writePrivateFile,
} from '../../src/cli/credentials.js';
import { parseConnectionConfirm, CONNECTION_REQUEST } from '../../src/transport/rdp-handshake.js';
import { userStep } from '../../src/steps/user.js';
import { UNKNOWN_OS } from '../../src/facts/os-release.js';
import { Secret } from '../../src/shell/secret.js';

test('generated passwords: long, from the safe alphabet, all different', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const p = generatePassword();
    expect(p).toMatch(new RegExp(`^[A-HJ-NP-Za-km-z2-9_-]{${PASSWORD_LENGTH}}$`));
    seen.add(p);
  }
  expect(seen.size).toBe(200);
});

test('a password is saved once, 0600 in 0700 folders, honouring XDG_CONFIG_HOME, and reused', () => {
  const xdg = mkdtempSync(join(tmpdir(), 'xdg-'));
  const env = { XDG_CONFIG_HOME: xdg };
  const first = ensurePassword('droplet-1', 'devuser', env);
  expect(first.fresh).toBe(true);
  expect(first.path).toBe(join(xdg, 'vps-provision/credentials/droplet-1/devuser'));
  expect(credentialsDir(env)).toBe(join(xdg, 'vps-provision/credentials'));
  expect(statSync(first.path).mode & 0o777).toBe(0o600);
  for (const d of ['vps-provision', 'vps-provision/credentials', 'vps-provision/credentials/droplet-1'])
    expect(statSync(join(xdg, d)).mode & 0o777).toBe(0o700);
  const text = readFileSync(first.path, 'utf8');
  expect(text).toBe(`${first.secret.reveal()}\n`);
  const again = ensurePassword('droplet-1', 'devuser', env);
  expect(again.fresh).toBe(false);
  expect(again.secret.reveal()).toBe(first.secret.reveal());
  // printers never show it
  expect(JSON.stringify({ again })).not.toContain(first.secret.reveal());
  expect(inspect(again, { depth: 5 })).not.toContain(first.secret.reveal());
  expect(`${again.secret}`).toBe('[redacted]');
});

test('a plan does not create the file', () => {
  const xdg = mkdtempSync(join(tmpdir(), 'xdg-'));
  const p = ensurePassword('h', 'u', { XDG_CONFIG_HOME: xdg }, false);
  expect(p.fresh).toBe(true);
  expect(() => statSync(p.path)).toThrow();
});

test('the user step sets a generated password without showing it', () => {
  const password = {
    secret: new Secret('s3cret-Value-xyz-1234567'),
    fresh: true,
    path: '/home/me/.config/vps-provision/credentials/h/devuser',
  };
  const args = userStep.schema.parse({ name: 'devuser', password });
  const d = userStep.decide(
    args,
    { text: 'passwd=devuser:x:1000:1000::/home/devuser:/bin/bash\ngroups=devuser\npw=P', exitCode: 0 },
    { remoteUser: 'root', os: UNKNOWN_OS },
  );
  expect(d.status).toBe('change');
  if (d.status !== 'change') return;
  expect(d.script).toContain("printf '%s:%s\\n' devuser s3cret-Value-xyz-1234567 | chpasswd");
  expect(JSON.stringify(d.display)).not.toContain('s3cret');
  expect(d.reason).not.toContain('s3cret');
  // already set and saved before: nothing to do
  const kept = userStep.decide(
    userStep.schema.parse({ name: 'devuser', password: { ...password, fresh: false } }),
    { text: 'passwd=devuser:x:1000:1000::/home/devuser:/bin/bash\ngroups=devuser\npw=P', exitCode: 0 },
    { remoteUser: 'root', os: UNKNOWN_OS },
  );
  expect(kept.status).toBe('ok');
});

test.each([
  ['TLS selected', '0300001306d00000123400020f080001000000', true, 1, 'connection confirm, TLS selected'],
  ['CredSSP selected', '0300001306d00000123400020f080002000000', true, 2, 'connection confirm, CredSSP (NLA) selected'],
  [
    'no negotiation',
    '0300000b06d00000123400',
    true,
    0,
    'connection confirm without negotiation (standard RDP security)',
  ],
  ['negotiation failure', '0300001306d000001234000300080005000000', false, undefined, 'negotiation failure code 5'],
  ['not RDP', '5353482d322e30', false, undefined, 'not an RDP answer (5353482d322e30)'],
])('X.224 answer: %s', (_n, hex, ok, selected, reason) => {
  const r = parseConnectionConfirm(Buffer.from(hex, 'hex'));
  expect(r).toEqual({ ok, ...(selected !== undefined ? { selectedProtocol: selected } : {}), reason });
});

test('the connection request is a well-formed TPKT + X.224 CR + RDP_NEG_REQ', () => {
  expect(CONNECTION_REQUEST.readUInt16BE(2)).toBe(CONNECTION_REQUEST.length);
  expect(CONNECTION_REQUEST[4]).toBe(CONNECTION_REQUEST.length - 5); // X.224 length indicator
  expect(CONNECTION_REQUEST[5]).toBe(0xe0);
  expect(CONNECTION_REQUEST.readUInt32LE(15)).toBe(3); // TLS | CredSSP requested
});

test('a leftover temp file with a loose mode never lends it to the saved password; a loose saved file is made 0600', () => {
  const xdg = mkdtempSync(join(tmpdir(), 'xdg-'));
  const env = { XDG_CONFIG_HOME: xdg };
  const dir = join(credentialsDir(env), 'h');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // what an interrupted older version left behind, readable by everyone
  writeFileSync(join(dir, 'u.tmp'), 'old\n', { mode: 0o666 });
  chmodSync(join(dir, 'u.tmp'), 0o666);
  const old = process.umask(0);
  try {
    const made = ensurePassword('h', 'u', env);
    expect(statSync(made.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).filter((f) => f !== 'u.tmp')).toEqual(['u']);
    chmodSync(made.path, 0o644);
    expect(ensurePassword('h', 'u', env).secret.reveal()).toBe(made.secret.reveal());
    expect(statSync(made.path).mode & 0o777).toBe(0o600);
  } finally {
    process.umask(old);
  }
});

test('writePrivateFile never writes through a file that is already there', () => {
  const d = mkdtempSync(join(tmpdir(), 'priv-'));
  const target = join(d, 'secret');
  writePrivateFile(target, 'one\n');
  writePrivateFile(target, 'two\n');
  expect(readFileSync(target, 'utf8')).toBe('two\n');
  expect(statSync(target).mode & 0o777).toBe(0o600);
  expect(readdirSync(d)).toEqual(['secret']);
});
