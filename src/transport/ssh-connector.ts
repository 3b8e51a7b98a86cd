// Builds ssh2 targets the way OpenSSH would (ssh_config, keys, agent, known_hosts,
// ProxyJump) and opens connections. Precedence: the inventory's host entry, then
// ~/.ssh/config, then the inventory's defaults.
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { HostSpec, Inventory, HostKeyPolicy } from '../config/inventory.js';
import { loadSshConfig, resolveSshConfig, parseProxyJump, type LoadedSshConfig, type SshSettings } from '../config/ssh-config-resolver.js';
import { ConfigError } from '../errors.js';
import { chooseIdentities, unlockPrivateKey, terminalIo, type PassphraseIo, type UnlockedKey } from './identities.js';
import { checkHostKey, keyTypeOfBlob } from './known-hosts.js';
import { openSsh2Connection, type SshTarget } from './ssh2-connection.js';
import type { Connection, Connector } from './connection.js';

export interface SshConnectorOptions {
  inventory: Inventory;
  /** --host-key-policy, over the inventory's */
  hostKeyPolicy?: HostKeyPolicy;
  sshConfigPath?: string;
  io?: PassphraseIo;
  onWarning?: (host: string, message: string) => void;
}

export function createSshConnector(opts: SshConnectorOptions): Connector {
  const home = homedir();
  // a file named on the command line must exist (ssh -F refuses a missing one too)
  if (opts.sshConfigPath !== undefined && !existsSync(opts.sshConfigPath)) {
    throw new ConfigError(`--ssh-config ${opts.sshConfigPath}: file not found`, 'check the path, or leave the option out to use ~/.ssh/config', opts.sshConfigPath);
  }
  const sshConfig: LoadedSshConfig = loadSshConfig(opts.sshConfigPath ?? join(home, '.ssh', 'config'), home);
  const hosts = new Map(opts.inventory.hosts.map((h) => [h.name, h]));
  const unlocked = new Map<string, Promise<UnlockedKey>>();
  const io = opts.io ?? terminalIo();
  const policy = opts.hostKeyPolicy ?? opts.inventory.hostKeyPolicy;

  const settingsFor = (alias: string): SshSettings =>
    resolveSshConfig(alias, sshConfig.text, { localUser: userInfo().username, homeDir: home, configPath: sshConfig.configPath, includes: sshConfig.includes });

  const unlock = (key: Parameters<typeof unlockPrivateKey>[0]) => {
    // ask once per key file for the whole fleet
    let p = unlocked.get(key.path);
    if (!p) unlocked.set(key.path, (p = unlockPrivateKey(key, io)));
    return p;
  };

  async function target(name: string, alias: string, explicit: HostSpec['explicit'], fallback: HostSpec['fallback']): Promise<SshTarget> {
    const s = settingsFor(alias);
    const ids = chooseIdentities({ settings: s, inventoryIdentityFile: explicit.identityFile ?? fallback.identityFile, authSock: process.env.SSH_AUTH_SOCK, homeDir: home });
    for (const note of ids.notes) opts.onWarning?.(name, note);
    const keys = await Promise.all(ids.privateKeys.map(unlock));
    if (!keys.length && !ids.agent) {
      // a named key that is missing or unusable is what to fix: say which file
      const why = ids.notes.length ? ids.notes.join('; ') : 'no identity_file, no ~/.ssh/id_*, no ssh-agent';
      throw new ConfigError(`${name}: no SSH key to offer (${why})`, ids.notes.length ? 'check the path of identity_file (inventory) or IdentityFile (~/.ssh/config)' : 'set identity_file in the inventory or start ssh-agent with your key', opts.inventory.path);
    }
    const port = explicit.port ?? s.port ?? fallback.port;
    const knownHostsFiles = opts.inventory.knownHostsFile ? [opts.inventory.knownHostsFile] : s.userKnownHostsFiles ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')];
    return {
      name,
      hostName: s.hostName,
      port,
      user: explicit.user ?? s.user ?? fallback.user,
      privateKeys: keys.map((k) => ({ path: k.path, key: k.privateKey, passphrase: k.passphrase })),
      agent: ids.agent,
      readyTimeoutMs: (s.connectTimeoutS ?? 20) * 1000,
      verifyHostKey: (blob) => {
        const v = checkHostKey({ knownHostsFiles, host: s.hostName, port, keyType: keyTypeOfBlob(blob), keyBlob: blob, policy });
        if (v.ok && v.warning) opts.onWarning?.(name, v.warning);
        return v.ok ? { ok: true } : { ok: false, message: `${name}: ${v.message}`, hint: v.hint };
      },
      jumps: s.proxyJump
        ? await Promise.all(parseProxyJump(s.proxyJump).map((hop) =>
          target(`${name} via ${hop.host}`, hop.host, { user: hop.user, port: hop.port }, { user: userInfo().username, port: 22, identityFile: explicit.identityFile ?? fallback.identityFile })))
        : undefined,
    };
  }

  const targets = new Map<string, Promise<SshTarget>>();
  const targetOf = (hostName: string) => {
    const host = hosts.get(hostName);
    if (!host) throw new ConfigError(`unknown host ${hostName}`, 'check --limit', opts.inventory.path);
    let t = targets.get(hostName);
    if (!t) targets.set(hostName, (t = target(host.name, host.address, host.explicit, host.fallback)));
    return t;
  };

  return {
    async prepare(hostNames) {
      // one after another: a passphrase prompt is asked once, not raced
      for (const h of hostNames) await targetOf(h);
    },
    async connect(hostName: string, signal?: AbortSignal): Promise<Connection> {
      return openSsh2Connection(await targetOf(hostName), signal);
    },
  };
}
