// The key parsed once signs exactly as ssh2's own key would: for every key type and
// format ssh-keygen makes (encrypted ones too), with the hash ssh2 names or none, the
// signature verifies with ssh2's public key and, where signatures are deterministic
// (ed25519, RSA), is byte for byte ssh2's.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import { signingKey } from '../../src/transport/signing-key.js';

let dir: string;
const PASS = 'correct horse';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signing-key-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(name: string, args: string[]): Buffer {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-C', '', '-f', path, '-a', '1', ...args]);
  return readFileSync(path);
}

const ssh2Key = (data: Buffer, passphrase?: string) => ssh2.utils.parseKey(data, passphrase) as ParsedKey;

test.each([
  // name, ssh-keygen args, passphrase, hashes ssh2 may name, deterministic signatures
  ['ed25519', ['-t', 'ed25519'], undefined, [undefined], true],
  ['ed25519, encrypted', ['-t', 'ed25519'], PASS, [undefined], true],
  ['ecdsa p256', ['-t', 'ecdsa', '-b', '256'], undefined, [undefined, 'sha256'], false],
  ['ecdsa p384', ['-t', 'ecdsa', '-b', '384'], undefined, [undefined], false],
  ['ecdsa p521, PEM', ['-t', 'ecdsa', '-b', '521', '-m', 'PEM'], undefined, [undefined], false],
  ['rsa', ['-t', 'rsa', '-b', '1024'], undefined, [undefined, 'sha1', 'sha256', 'sha512'], true],
  ['rsa, PEM, encrypted', ['-t', 'rsa', '-b', '1024', '-m', 'PEM'], PASS, ['sha256', 'sha512'], true],
] as const)('%s: signs as ssh2 does', (name, args, passphrase, hashes, deterministic) => {
  const data = keygen(name.replace(/\W+/g, '_'), [...args, '-N', passphrase ?? '']);
  const key = signingKey(data, passphrase)!;
  const reference = ssh2Key(data, passphrase);
  expect(key.type).toBe(reference.type);
  expect(ssh2.utils.parseKey(key)).toBe(key); // ssh2 still takes it for a parsed key
  for (const hash of hashes) {
    const payload = randomBytes(64);
    const signature = key.sign(payload, hash);
    expect(signature).toBeInstanceOf(Buffer);
    expect(reference.verify(payload, signature, hash)).toBe(true);
    if (deterministic) expect(signature).toEqual(reference.sign(payload, hash));
  }
});

test('a key ssh2 cannot read gives undefined; a wrong passphrase too', () => {
  expect(signingKey(Buffer.from('not a key'))).toBeUndefined();
  const data = keygen('enc', ['-t', 'ed25519', '-N', PASS]);
  expect(signingKey(data, 'wrong')).toBeUndefined();
});

test('a hash OpenSSL refuses is an Error returned, as from ssh2', () => {
  const key = signingKey(keygen('rsa_bad_hash', ['-t', 'rsa', '-b', '1024', '-N', '']))!;
  const result: unknown = key.sign(randomBytes(8), 'no-such-hash');
  // (an Error of Node's realm, not the test's: told by its tag)
  expect(Object.prototype.toString.call(result)).toBe('[object Error]');
});
