// Which keys and agent to offer to a host, the way OpenSSH picks them (ssh(1), ssh_config(5)):
// the inventory's identity_file plays the part of `ssh -i`, then IdentityFile lines; only
// when neither names a key are the default ~/.ssh/id_* files tried. The agent is used
// unless IdentityAgent is none.
//
// Passphrases: an encrypted key is detected up front so the caller can ask for its
// passphrase (VPS_PROVISION_KEY_PASSPHRASE, or a no-echo prompt on the terminal).

import { expandHome } from '../config/home-path.js';
import { ssh2 } from './ssh2-library.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, InterruptedError } from '../errors.js';
import type { SshSettings } from '../config/ssh-config-resolver.js';

export const PASSPHRASE_ENV = 'VPS_PROVISION_KEY_PASSPHRASE';

/** OpenSSH's default identities, in its order (id_*_sk, xmss and dsa: ssh2 cannot use them). */
export const DEFAULT_KEY_NAMES = ['id_rsa', 'id_ecdsa', 'id_ed25519'] as const;

export interface PrivateKeyFile {
  path: string;
  data: Buffer;
  encrypted: boolean;
}

export interface Identities {
  /** agent socket for ssh2's `agent` option; unset when no agent is to be used */
  agent?: string;
  /** private keys to try, in order */
  privateKeys: PrivateKeyFile[];
  /** why a named key or the agent is left out, for the user (like ssh's warnings) */
  notes: string[];
}

export interface IdentityInputs {
  settings: Pick<SshSettings, 'identityFiles' | 'identitiesOnly' | 'identityAgent'>;
  /** the inventory's identity_file (like `ssh -i`); ~ is expanded here */
  inventoryIdentityFile?: string;
  /** SSH_AUTH_SOCK */
  authSock?: string;
  homeDir: string;
}

/** A private key ready for ssh2: `privateKey` plus `passphrase` when it is encrypted. */
export interface UnlockedKey {
  path: string;
  privateKey: Buffer;
  passphrase?: string;
}

export interface PassphraseIo {
  env: Readonly<Record<string, string | undefined>>;
  /** whether a person can be asked (stdin and stderr are terminals) */
  isTTY: boolean;
  ask: (prompt: string) => Promise<string>;
}

/** Picks the agent and the key files to offer. Reads the key files; nothing else. */
export function chooseIdentities(inputs: IdentityInputs): Identities {
  const notes: string[] = [];
  const named = namedKeyPaths(inputs);
  const candidates = named.length > 0 ? named : DEFAULT_KEY_NAMES.map((name) => join(inputs.homeDir, '.ssh', name));
  const privateKeys = candidates.flatMap((path) => {
    const key = readPrivateKey(path, named.length > 0, notes);
    return key ? [key] : [];
  });
  const agent = chooseAgent(inputs, privateKeys.length > 0, notes);
  return agent === undefined ? { privateKeys, notes } : { agent, privateKeys, notes };
}

// `-i` keys come before IdentityFile ones in ssh; a key named twice is offered once.
function namedKeyPaths(inputs: IdentityInputs): string[] {
  const inventory =
    inputs.inventoryIdentityFile === undefined ? [] : [expandHome(inputs.inventoryIdentityFile, inputs.homeDir)];
  return [...new Set([...inventory, ...inputs.settings.identityFiles])];
}

// A missing default key is normal; a missing named key gets a note, as ssh warns.
function readPrivateKey(path: string, named: boolean, notes: string[]): PrivateKeyFile | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (named || code !== 'ENOENT')
      notes.push(`identity file ${path} not used: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    return undefined;
  }
  if (!isPrivateKeyText(data)) {
    // e.g. `IdentityFile key.pub` whose private half lives in the agent only
    notes.push(`identity file ${path} not used: it is not a private key`);
    return undefined;
  }
  const key = { path, data, encrypted: isEncryptedPrivateKey(data) };
  // ssh, too, skips a key it cannot load ("Load key: invalid format") and goes on.
  // An encrypted key can only be checked once its passphrase is known (unlockPrivateKey).
  const parsed = key.encrypted ? undefined : ssh2().utils.parseKey(data);
  if (parsed instanceof Error) {
    notes.push(`identity file ${path} not used: ${parsed.message}`);
    return undefined;
  }
  return key;
}

/** Whether the bytes look like a private key file ssh2 could read (PEM or PuTTY). */
export function isPrivateKeyText(data: Buffer): boolean {
  const head = data.subarray(0, 100).toString('latin1').trimStart();
  return /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(head) || head.startsWith('PuTTY-User-Key-File-');
}

/** Encrypted: openssh-key-v1 with a cipher other than none, PEM with ENCRYPTED, or PuTTY with encryption. */
export function isEncryptedPrivateKey(data: Buffer): boolean {
  const text = data.toString('latin1');
  if (/^-----BEGIN OPENSSH PRIVATE KEY-----/m.test(text)) {
    const cipher = openSshCipher(text); // unreadable: let ssh2's parser report it later
    return cipher !== undefined && cipher !== 'none';
  }
  if (/^-----BEGIN ENCRYPTED PRIVATE KEY-----/m.test(text)) return true; // PKCS#8
  if (/^Proc-Type:\s*4,ENCRYPTED/m.test(text)) return true; // legacy PEM
  const putty = /^Encryption:\s*(\S+)/m.exec(text);
  return putty !== null && putty[1] !== 'none';
}

// openssh-key-v1 layout: "openssh-key-v1\0", then string ciphername, string kdfname, ...
function openSshCipher(text: string): string | undefined {
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (body === undefined) return undefined;
  const blob = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (blob.toString('latin1', 0, magic.length) !== magic || blob.length < magic.length + 4) return undefined;
  const length = blob.readUInt32BE(magic.length);
  const start = magic.length + 4;
  return start + length <= blob.length ? blob.toString('latin1', start, start + length) : undefined;
}

// ssh2's `agent` option offers every key the agent holds; it cannot offer only the keys
// named by IdentityFile as ssh does under IdentitiesOnly. So with IdentitiesOnly and a
// usable key file the agent is skipped; without one (the key may live only in the agent,
// e.g. `IdentityFile key.pub`) the agent is kept, offering all its keys.
function chooseAgent(inputs: IdentityInputs, haveKeyFiles: boolean, notes: string[]): string | undefined {
  const configured = inputs.settings.identityAgent;
  if (configured === 'none') return undefined;
  const socket = configured === undefined || configured === 'SSH_AUTH_SOCK' ? inputs.authSock : configured;
  if (!socket) return undefined;
  if (inputs.settings.identitiesOnly && haveKeyFiles) {
    notes.push(
      `agent ${socket} not used: IdentitiesOnly is set and key files are given (ssh2 would offer every agent key)`,
    );
    return undefined;
  }
  return socket;
}

// ---------------------------------------------------------------------------------------
// Passphrases

/** The passphrase for an encrypted key: from VPS_PROVISION_KEY_PASSPHRASE, else asked on the terminal. */
export async function passphraseFor(path: string, io: PassphraseIo = terminalIo()): Promise<string> {
  const fromEnv = io.env[PASSPHRASE_ENV];
  if (fromEnv) return fromEnv;
  if (io.isTTY) return io.ask(`Enter passphrase for key '${path}': `);
  throw new ConfigError(
    `private key ${path} is encrypted and no passphrase is available (no terminal to ask on)`,
    `set ${PASSPHRASE_ENV}, run from a terminal to be asked, or load the key into ssh-agent with \`ssh-add ${path}\``,
    path,
  );
}

/** The real process's environment and terminal. */
export function terminalIo(): PassphraseIo {
  return {
    env: process.env,
    isTTY: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    ask: askHiddenOnTty,
  };
}

/** Checks a key with ssh2's own parser and returns what ssh2 needs; asks for a passphrase if encrypted. */
export async function unlockPrivateKey(key: PrivateKeyFile, io: PassphraseIo = terminalIo()): Promise<UnlockedKey> {
  if (!key.encrypted) {
    checkParses(key, undefined);
    return { path: key.path, privateKey: key.data };
  }
  // ssh asks three times on a terminal (NumberOfPasswordPrompts); an env var gets one try.
  const attempts = io.env[PASSPHRASE_ENV] ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    const passphrase = await passphraseFor(key.path, io);
    try {
      checkParses(key, passphrase);
      return { path: key.path, privateKey: key.data, passphrase };
    } catch (error) {
      if (attempt >= attempts || !isBadPassphrase(error)) throw error;
    }
  }
}

/** Throws a ConfigError naming the key when ssh2 cannot read it (wrong passphrase, unsupported type). */
function checkParses(key: PrivateKeyFile, passphrase: string | undefined): void {
  const parsed = ssh2().utils.parseKey(key.data, passphrase);
  if (!(parsed instanceof Error)) return;
  if (key.encrypted && /passphrase/i.test(parsed.message)) {
    throw new ConfigError(
      `wrong passphrase for private key ${key.path}`,
      `check the passphrase (\`ssh-keygen -y -f ${key.path}\` asks for it and prints the public key when it is right); ` +
        `it comes from ${PASSPHRASE_ENV} when that is set`,
      key.path,
    );
  }
  throw new ConfigError(
    `cannot use private key ${key.path}: ${parsed.message}`,
    'use an ed25519, ecdsa or rsa key in OpenSSH or PEM format, or remove it from IdentityFile / identity_file',
    key.path,
  );
}

function isBadPassphrase(error: unknown): boolean {
  return error instanceof ConfigError && error.message.startsWith('wrong passphrase');
}

/** Reads one line from the terminal without echo, the prompt on stderr. Ctrl-C interrupts. */
function askHiddenOnTty(prompt: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw;
    let typed: string[] = [];
    const finish = (settle: () => void) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      settle();
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(() => resolve(typed.join('')));
        // raw mode turns off the SIGINT that Ctrl-C would send
        if (ch === '\u0003') return finish(() => reject(new InterruptedError()));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch === '\u0015')
          typed = []; // Ctrl-U clears the line
        else typed.push(ch);
      }
    };
    output.write(prompt);
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
