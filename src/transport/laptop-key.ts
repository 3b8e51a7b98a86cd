// The laptop's public key, for `up` to register in the DigitalOcean account and to
// authorise for the developer: the inventory's identity_file, else OpenSSH's default keys
// (id_rsa, id_ecdsa, id_ed25519, the first present), else the agent's first key. The .pub
// beside a key file, or the public half read from an unencrypted private key.
import { ssh2 } from './ssh2-library.js';
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { DEFAULT_KEY_NAMES, isEncryptedPrivateKey } from './identities.js';

export interface LaptopKey {
  /** "type base64 comment" */
  line: string;
  /** where it came from, for messages */
  source: string;
}

function fromKeyFile(path: string): LaptopKey | undefined {
  if (existsSync(`${path}.pub`)) {
    const line = readFileSync(`${path}.pub`, 'utf8').trim().split('\n')[0]!.trim();
    if (/^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+/.test(line)) return { line, source: `${path}.pub` };
  }
  if (!existsSync(path)) return undefined;
  const data = readFileSync(path);
  if (isEncryptedPrivateKey(data)) return undefined;
  const parsed = ssh2().utils.parseKey(data);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return undefined;
  return { line: `${key.type} ${key.getPublicSSH().toString('base64')}`, source: path };
}

async function fromAgent(sock: string): Promise<LaptopKey | undefined> {
  const agent = (
    ssh2() as unknown as {
      createAgent?: (s: string) => {
        getIdentities(cb: (err: Error | undefined, keys?: { type: string; getPublicSSH(): Buffer }[]) => void): void;
      };
    }
  ).createAgent?.(sock);
  if (!agent) return undefined;
  const keys = await new Promise<{ type: string; getPublicSSH(): Buffer }[]>((resolve) =>
    agent.getIdentities((err, k) => resolve(err || !k ? [] : k)),
  );
  const k = keys[0];
  return k ? { line: `${k.type} ${k.getPublicSSH().toString('base64')}`, source: 'ssh-agent' } : undefined;
}

export async function laptopPublicKey(
  opts: { identityFile?: string; home?: string; authSock?: string } = {},
): Promise<LaptopKey> {
  const home = opts.home ?? homedir();
  const files = opts.identityFile ? [opts.identityFile] : DEFAULT_KEY_NAMES.map((n) => join(home, '.ssh', n));
  for (const f of files) {
    const k = fromKeyFile(f);
    if (k) return k;
  }
  const sock = opts.authSock ?? process.env.SSH_AUTH_SOCK;
  const k = sock ? await fromAgent(sock).catch(() => undefined) : undefined;
  if (k) return k;
  throw new ConfigError(
    `no SSH public key to give the droplet (looked at ${files.join(', ')}${sock ? ' and ssh-agent' : ''})`,
    "make one with `ssh-keygen -t ed25519` (or set identity_file in the inventory's defaults)",
  );
}
