// Choosing keys and agent like OpenSSH, and unlocking encrypted keys, with real keys
// made by ssh-keygen (encrypted ones with -N; `-a 1` keeps bcrypt fast for tests).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  PASSPHRASE_ENV,
  chooseIdentities,
  isEncryptedPrivateKey,
  isPrivateKeyText,
  passphraseFor,
  unlockPrivateKey,
  type IdentityInputs,
  type PassphraseIo,
  type PrivateKeyFile,
} from '../../src/transport/identities.js';

let dir: string;
let home: string;
const PASS = 'correct horse';

function keygen(path: string, args: string[]): string {
  execFileSync('ssh-keygen', ['-q', '-C', '', '-f', path, ...args]);
  return path;
}

// key files by name, made once
const k: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'identities-test-'));
  k.ed = keygen(join(dir, 'ed'), ['-t', 'ed25519', '-N', '']);
  k.edEnc = keygen(join(dir, 'ed_enc'), ['-t', 'ed25519', '-N', PASS, '-a', '1']);
  k.ecdsa = keygen(join(dir, 'ecdsa'), ['-t', 'ecdsa', '-N', '']);
  k.rsaPem = keygen(join(dir, 'rsa_pem'), ['-t', 'rsa', '-b', '1024', '-m', 'PEM', '-N', '']);
  k.rsaPemEnc = keygen(join(dir, 'rsa_pem_enc'), ['-t', 'rsa', '-b', '1024', '-m', 'PEM', '-N', PASS]);
  k.pkcs8Enc = keygen(join(dir, 'pkcs8_enc'), ['-t', 'ecdsa', '-m', 'PKCS8', '-N', PASS]);
  // a home with default keys: id_ed25519 and id_rsa (no id_ecdsa)
  home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  copyFileSync(k.ed, join(home, '.ssh', 'id_ed25519'));
  copyFileSync(k.rsaPem, join(home, '.ssh', 'id_rsa'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('encryption detection', () => {
  test.each([
    ['ed', false],
    ['edEnc', true],
    ['ecdsa', false],
    ['rsaPem', false],
    ['rsaPemEnc', true],
    ['pkcs8Enc', true],
  ])('%s -> encrypted %s', (name, encrypted) => {
    const data = readFileSync(k[name]);
    expect(isPrivateKeyText(data)).toBe(true);
    expect(isEncryptedPrivateKey(data)).toBe(encrypted);
  });

  test('a public key is not a private key', () => {
    expect(isPrivateKeyText(readFileSync(`${k.ed}.pub`))).toBe(false);
  });
});

describe('chooseIdentities', () => {
  const none: IdentityInputs['settings'] = { identityFiles: [], identitiesOnly: false };
  type Row = [
    name: string,
    inputs: () => IdentityInputs,
    agent: string | undefined,
    keys: () => string[],
    notes: RegExp[],
  ];
  const rows: Row[] = [
    [
      'no keys named: default files that exist, in ssh order, plus the agent',
      () => ({ settings: none, authSock: '/run/agent.sock', homeDir: home }),
      '/run/agent.sock',
      () => [join(home, '.ssh', 'id_rsa'), join(home, '.ssh', 'id_ed25519')],
      [],
    ],
    [
      'inventory identity_file (like -i) first, then IdentityFile; no defaults; duplicates once',
      () => ({ settings: { ...none, identityFiles: [k.ecdsa, k.ed] }, inventoryIdentityFile: k.ed, homeDir: home }),
      undefined,
      () => [k.ed, k.ecdsa],
      [],
    ],
    [
      'inventory ~ path expanded against the home folder',
      () => ({ settings: none, inventoryIdentityFile: '~/.ssh/id_ed25519', homeDir: home }),
      undefined,
      () => [join(home, '.ssh', 'id_ed25519')],
      [],
    ],
    [
      'a named key that is missing is noted, the defaults are not used instead',
      () => ({ settings: { ...none, identityFiles: [join(dir, 'missing')] }, authSock: '/a', homeDir: home }),
      '/a',
      () => [],
      [/missing.*no such file/],
    ],
    [
      'a .pub file named as identity is noted and skipped',
      () => ({ settings: { ...none, identityFiles: [`${k.ed}.pub`] }, homeDir: home }),
      undefined,
      () => [],
      [/not a private key/],
    ],
    [
      'a key ssh2 cannot read is noted and skipped',
      () => ({ settings: { ...none, identityFiles: [join(dir, 'pkcs8_plain'), k.ed] }, homeDir: home }),
      undefined,
      () => [k.ed],
      [/pkcs8_plain.*Unsupported key format/],
    ],
    [
      'IdentityAgent none: no agent',
      () => ({ settings: { ...none, identityAgent: 'none' }, authSock: '/a', homeDir: home }),
      undefined,
      () => [join(home, '.ssh', 'id_rsa'), join(home, '.ssh', 'id_ed25519')],
      [],
    ],
    [
      'IdentityAgent path wins over SSH_AUTH_SOCK',
      () => ({ settings: { ...none, identityAgent: '/other.sock' }, authSock: '/a', homeDir: home }),
      '/other.sock',
      () => [join(home, '.ssh', 'id_rsa'), join(home, '.ssh', 'id_ed25519')],
      [],
    ],
    [
      'IdentityAgent SSH_AUTH_SOCK means the variable; unset means no agent',
      () => ({ settings: { ...none, identityAgent: 'SSH_AUTH_SOCK' }, homeDir: join(dir, 'empty-home') }),
      undefined,
      () => [],
      [],
    ],
    [
      'IdentitiesOnly with a key file: agent skipped (ssh2 would offer all its keys), with a note',
      () => ({ settings: { identityFiles: [k.ed], identitiesOnly: true }, authSock: '/a', homeDir: home }),
      undefined,
      () => [k.ed],
      [/agent \/a not used: IdentitiesOnly/],
    ],
    [
      'IdentitiesOnly without a usable key file: agent kept (the key may live only there)',
      () => ({ settings: { identityFiles: [`${k.ed}.pub`], identitiesOnly: true }, authSock: '/a', homeDir: home }),
      '/a',
      () => [],
      [/not a private key/],
    ],
    [
      'encrypted keys are chosen and flagged',
      () => ({ settings: { ...none, identityFiles: [k.edEnc, k.rsaPemEnc] }, homeDir: home }),
      undefined,
      () => [k.edEnc, k.rsaPemEnc],
      [],
    ],
  ];

  beforeAll(() => {
    keygen(join(dir, 'pkcs8_plain'), ['-t', 'ecdsa', '-m', 'PKCS8', '-N', '']);
  });

  test.each(rows)('%s', (_name, inputs, agent, keys, notes) => {
    const chosen = chooseIdentities(inputs());
    expect(chosen.agent).toBe(agent);
    expect(chosen.privateKeys.map((p) => p.path)).toEqual(keys());
    expect(chosen.notes).toHaveLength(notes.length);
    notes.forEach((note, i) => expect(chosen.notes[i]).toMatch(note));
    for (const key of chosen.privateKeys) {
      expect(key.data.equals(readFileSync(key.path))).toBe(true);
      expect(key.encrypted).toBe(key.path.endsWith('_enc'));
    }
  });
});

describe('passphrases', () => {
  function io(over: Partial<PassphraseIo> & { answers?: string[] } = {}): PassphraseIo & { prompts: string[] } {
    const answers = [...(over.answers ?? [])];
    const prompts: string[] = [];
    return {
      env: over.env ?? {},
      isTTY: over.isTTY ?? false,
      ask: async (prompt) => {
        prompts.push(prompt);
        return answers.shift() ?? '';
      },
      prompts,
    };
  }
  const key = (name: string): PrivateKeyFile => {
    const data = readFileSync(k[name]);
    return { path: k[name], data, encrypted: isEncryptedPrivateKey(data) };
  };

  test('env var wins over the terminal', async () => {
    const fake = io({ env: { [PASSPHRASE_ENV]: 'from-env' }, isTTY: true });
    await expect(passphraseFor('/k', fake)).resolves.toBe('from-env');
    expect(fake.prompts).toEqual([]);
  });

  test('terminal prompt names the key', async () => {
    const fake = io({ isTTY: true, answers: ['typed'] });
    await expect(passphraseFor('/k', fake)).resolves.toBe('typed');
    expect(fake.prompts).toEqual(["Enter passphrase for key '/k': "]);
  });

  test('neither: ConfigError naming the key and how to give the passphrase', async () => {
    const error = await passphraseFor('/keys/id', io()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ file: '/keys/id' });
    expect((error as ConfigError).message).toContain('/keys/id');
    expect((error as ConfigError).hint).toContain(PASSPHRASE_ENV);
  });

  test.each(['edEnc', 'rsaPemEnc'])('%s: right passphrase from env unlocks', async (name) => {
    const unlocked = await unlockPrivateKey(key(name), io({ env: { [PASSPHRASE_ENV]: PASS } }));
    expect(unlocked).toMatchObject({ path: k[name], passphrase: PASS });
  });

  test.each(['edEnc', 'rsaPemEnc'])('%s: wrong passphrase from env is a clear error naming the key', async (name) => {
    const error = await unlockPrivateKey(key(name), io({ env: { [PASSPHRASE_ENV]: 'wrong' } })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`wrong passphrase for private key ${k[name]}`);
    expect((error as ConfigError).hint).toContain(PASSPHRASE_ENV);
  });

  test('on a terminal: asked again after a wrong passphrase, up to three times', async () => {
    const fake = io({ isTTY: true, answers: ['wrong', PASS] });
    await expect(unlockPrivateKey(key('edEnc'), fake)).resolves.toMatchObject({ passphrase: PASS });
    expect(fake.prompts).toHaveLength(2);
    const threeWrong = io({ isTTY: true, answers: ['a', 'b', 'c', PASS] });
    await expect(unlockPrivateKey(key('edEnc'), threeWrong)).rejects.toThrow(/wrong passphrase/);
    expect(threeWrong.prompts).toHaveLength(3);
  });

  test('unencrypted key: no passphrase asked', async () => {
    const fake = io({ isTTY: true });
    await expect(unlockPrivateKey(key('ed'), fake)).resolves.toEqual({ path: k.ed, privateKey: readFileSync(k.ed) });
    expect(fake.prompts).toEqual([]);
  });

  test('encrypted key ssh2 cannot read: not blamed on the passphrase', async () => {
    const error = await unlockPrivateKey(key('pkcs8Enc'), io({ env: { [PASSPHRASE_ENV]: PASS } })).catch(
      (e: unknown) => e,
    );
    expect((error as ConfigError).message).toMatch(/^cannot use private key .*pkcs8_enc/);
  });

  test('a corrupt OpenSSH key is reported as unusable', async () => {
    const path = join(dir, 'corrupt');
    writeFileSync(path, '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    const data = readFileSync(path);
    expect(isEncryptedPrivateKey(data)).toBe(false);
    await expect(unlockPrivateKey({ path, data, encrypted: false }, io())).rejects.toThrow(/cannot use private key/);
  });
});
