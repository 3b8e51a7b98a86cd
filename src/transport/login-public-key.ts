// The public half of the key this tool logs in to a host with: the default of the
// workstation's `developer_ssh_key`, so an inventory with only addresses works. The key
// files are chosen as for the connection (identities.ts); the first one with a readable
// `<file>.pub` (or a `.pub` named as IdentityFile) wins; otherwise the agent's first key.
import { expandHome } from '../config/home-path.js';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { ParsedKey } from 'ssh2';
import { ssh2 } from './ssh2-library.js';
import {
  includeHomeDir,
  loadSshConfig,
  passwdHomeDir,
  resolveSshConfig,
  type SshSettings,
} from '../config/ssh-config-resolver.js';
import type { HostSpec } from '../config/inventory.js';
import { chooseIdentities } from './identities.js';

export interface LoginKeyInputs {
  settings: Pick<SshSettings, 'identityFiles' | 'identitiesOnly' | 'identityAgent'>;
  inventoryIdentityFile?: string;
  authSock?: string;
  homeDir: string;
  /** bound on asking the agent (ms) */
  agentTimeoutMs?: number;
}

export interface LoginPublicKey {
  /** one authorized_keys line: type, base64 blob, comment when there is one */
  line: string;
  /** where it came from, for messages: a .pub path or "ssh-agent" */
  source: string;
}

/** An authorized_keys line if `text`'s first line is a public key ssh2 can read, else undefined. */
export function publicKeyLine(text: string): string | undefined {
  const line = text.split('\n')[0]!.trim();
  const parts = line.split(/\s+/);
  if (parts.length < 2) return undefined;
  const parsed = ssh2().utils.parseKey(`${parts[0]} ${parts[1]}`);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey()) return undefined;
  // a comment is free text from the user's own file; control characters are not kept
  const comment = parts
    .slice(2)
    .join(' ')
    .replace(/[\x00-\x1f\x7f]/g, '');
  return comment ? `${parts[0]} ${parts[1]} ${comment}` : `${parts[0]} ${parts[1]}`;
}

function readPublic(path: string): string | undefined {
  try {
    return publicKeyLine(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function agentFirstKey(socket: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    try {
      new (ssh2().OpenSSHAgent)(socket).getIdentities((err, keys) => {
        clearTimeout(timer);
        // OpenSSHAgent answers ParsedKeys (the typings also allow a wrapper type)
        const k = err ? undefined : (keys?.[0] as ParsedKey | undefined);
        if (!k || typeof k.getPublicSSH !== 'function') return resolve(undefined);
        const blob = k.getPublicSSH().toString('base64');
        resolve(publicKeyLine(`${k.type} ${blob} ${k.comment ?? ''}`));
      });
    } catch {
      clearTimeout(timer);
      resolve(undefined);
    }
  });
}

/** What one run has read already: each key file and the agent are asked once for all hosts. */
export interface LoginKeyCache {
  publicFiles: Map<string, string | undefined>;
  agents: Map<string, Promise<string | undefined>>;
}

export async function loginPublicKey(
  inputs: LoginKeyInputs,
  cache: LoginKeyCache = { publicFiles: new Map(), agents: new Map() },
): Promise<LoginPublicKey | undefined> {
  const ids = chooseIdentities(inputs);
  const named = [inputs.inventoryIdentityFile, ...inputs.settings.identityFiles]
    .filter((p): p is string => Boolean(p))
    .map((p) => expandHome(p, inputs.homeDir));
  const candidates = [
    ...ids.privateKeys.map((k) => `${k.path}.pub`),
    // `IdentityFile key.pub`: the private half lives in the agent only
    ...named.filter((p) => p.endsWith('.pub')),
  ];
  for (const path of candidates) {
    if (!cache.publicFiles.has(path)) cache.publicFiles.set(path, readPublic(path));
    const line = cache.publicFiles.get(path);
    if (line) return { line, source: path };
  }
  if (ids.agent) {
    let asked = cache.agents.get(ids.agent);
    if (!asked) cache.agents.set(ids.agent, (asked = agentFirstKey(ids.agent, inputs.agentTimeoutMs ?? 5_000)));
    const line = await asked;
    if (line) return { line, source: 'ssh-agent' };
  }
  return undefined;
}

/**
 * The same for the hosts of a run, each one's ~/.ssh/config entry applied as the connection
 * does: the config is read once (not once per host), key files and the agent once.
 */
export function loginKeyFinder(sshConfigPath?: string): (host: HostSpec) => Promise<LoginPublicKey | undefined> {
  const home = passwdHomeDir();
  const cfg = loadSshConfig(sshConfigPath ?? join(home, '.ssh', 'config'), includeHomeDir());
  const localUser = userInfo().username;
  const cache: LoginKeyCache = { publicFiles: new Map(), agents: new Map() };
  return (host) =>
    loginPublicKey(
      {
        settings: resolveSshConfig(host.address, cfg.text, {
          localUser,
          homeDir: home,
          includeHome: cfg.includeHome,
          configPath: cfg.configPath,
          includes: cfg.includes,
        }),
        inventoryIdentityFile: host.explicit.identityFile ?? host.fallback.identityFile,
        authSock: process.env.SSH_AUTH_SOCK,
        homeDir: home,
      },
      cache,
    );
}
