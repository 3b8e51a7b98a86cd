// Builds ssh2 targets the way OpenSSH would (ssh_config, keys, agent, known_hosts,
// ProxyJump) and opens connections. Precedence: the inventory's host entry, then
// ~/.ssh/config, then /etc/ssh/ssh_config, then the inventory's defaults.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { ParsedKey } from 'ssh2';
import type { HostSpec, Inventory, HostKeyPolicy } from '../config/inventory.js';
import {
  loadSshConfig,
  resolveSshConfig,
  parseProxyJump,
  passwdHomeDir,
  includeHomeDir,
  type LoadedSshConfig,
  type ProxyJumpHop,
  type SshSettings,
  type StrictHostKeyChecking,
} from '../config/ssh-config-resolver.js';
import { ConfigError } from '../errors.js';
import { chooseIdentities, unlockPrivateKey, terminalIo, type PassphraseIo, type UnlockedKey } from './identities.js';
import { checkHostKey, keyTypeOfBlob, recordedKeyTypes, hostKeyAlgorithmsFor } from './known-hosts.js';
import { openSsh2Connection, type SshTarget } from './ssh2-connection.js';
import { signingKey } from './signing-key.js';
import type { Connection, Connector } from './connection.js';

/**
 * The folder standing for /etc/ssh (ssh_config, ssh_known_hosts). Only tests set
 * VPS_PROVISION_TEST_ETC_SSH, so they never read this machine's own SSH configuration.
 */
function systemSshDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VPS_PROVISION_TEST_ETC_SSH || '/etc/ssh';
}

export interface SshConnectorOptions {
  inventory: Inventory;
  /** --host-key-policy, over the inventory's */
  hostKeyPolicy?: HostKeyPolicy;
  sshConfigPath?: string;
  io?: PassphraseIo;
  onWarning?: (host: string, message: string) => void;
}

/** Everything a connection to one host will use, resolved as ssh would (no key is unlocked). */
export interface ResolvedHost {
  name: string;
  settings: SshSettings;
  hostName: string;
  port: number;
  user: string;
  policy: HostKeyPolicy;
  policySource: 'command line' | 'inventory' | 'ssh_config' | 'default';
  /** the first is written to when a key is recorded */
  knownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hashKnownHosts: boolean;
  /** the inventory's identity_file (like ssh -i) */
  inventoryIdentityFile?: string;
  /** raw ProxyJump, when set */
  proxyJump?: string;
}

const STRICT_TO_POLICY: Record<StrictHostKeyChecking, HostKeyPolicy> = {
  // ask would prompt in ssh; with nobody to ask here it is strict
  yes: 'strict',
  ask: 'strict',
  'accept-new': 'accept-new',
  no: 'off',
  off: 'off',
};

/** Resolves hosts against ssh_config (user's, then system's) and known_hosts settings. */
export function createSshResolver(opts: Pick<SshConnectorOptions, 'inventory' | 'hostKeyPolicy' | 'sshConfigPath'>) {
  // ~, %d and ~/.ssh are the passwd entry's home, as in ssh; Include's ~ is $HOME (glob(3))
  const home = passwdHomeDir();
  const includeHome = includeHomeDir();
  const etc = systemSshDir();
  const userConfig: LoadedSshConfig = loadSshConfig(opts.sshConfigPath ?? join(home, '.ssh', 'config'), includeHome);
  const systemConfig: LoadedSshConfig = loadSshConfig(join(etc, 'ssh_config'), includeHome, etc);
  const settingsFor = (alias: string): SshSettings =>
    resolveSshConfig(alias, userConfig.text, {
      localUser: userInfo().username,
      homeDir: home,
      includeHome,
      configPath: userConfig.configPath,
      includes: userConfig.includes,
      system: systemConfig,
    });

  return (
    name: string,
    alias: string,
    explicit: HostSpec['explicit'],
    fallback: HostSpec['fallback'],
  ): ResolvedHost => {
    const s = settingsFor(alias);
    const fromSsh = s.strictHostKeyChecking ? STRICT_TO_POLICY[s.strictHostKeyChecking] : undefined;
    const [policy, policySource]: [HostKeyPolicy, ResolvedHost['policySource']] = opts.hostKeyPolicy
      ? [opts.hostKeyPolicy, 'command line']
      : opts.inventory.hostKeyPolicy
        ? [opts.inventory.hostKeyPolicy, 'inventory']
        : fromSsh
          ? [fromSsh, 'ssh_config']
          : ['accept-new', 'default'];
    const resolved: ResolvedHost = {
      name,
      settings: s,
      hostName: s.hostName,
      port: explicit.port ?? s.port ?? fallback.port,
      user: explicit.user ?? s.user ?? fallback.user,
      policy,
      policySource,
      knownHostsFiles: opts.inventory.knownHostsFile
        ? [opts.inventory.knownHostsFile]
        : (s.userKnownHostsFiles ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]),
      globalKnownHostsFiles: s.globalKnownHostsFiles ?? [join(etc, 'ssh_known_hosts'), join(etc, 'ssh_known_hosts2')],
      hashKnownHosts: s.hashKnownHosts ?? false,
    };
    const identityFile = explicit.identityFile ?? fallback.identityFile;
    if (identityFile !== undefined) resolved.inventoryIdentityFile = identityFile;
    if (s.proxyJump !== undefined) resolved.proxyJump = s.proxyJump;
    return resolved;
  };
}

/** The key as ssh2 parses it (checked by unlockPrivateKey), kept with the unlocked key. */
function parsedOnce(k: UnlockedKey): UnlockedKey & { parsed?: ParsedKey } {
  const parsed = signingKey(k.privateKey, k.passphrase);
  return parsed ? { ...k, parsed } : k;
}

/** Bounds ProxyJump chains; OpenSSH has none (a loop through several hosts never ends there). */
const MAX_JUMP_DEPTH = 16;

export function createSshConnector(opts: SshConnectorOptions): Connector {
  const home = passwdHomeDir();
  // a file named on the command line must exist (ssh -F refuses a missing one too)
  if (opts.sshConfigPath !== undefined && !existsSync(opts.sshConfigPath)) {
    throw new ConfigError(
      `--ssh-config ${opts.sshConfigPath}: file not found`,
      'check the path, or leave the option out to use ~/.ssh/config',
      opts.sshConfigPath,
    );
  }
  const resolve = createSshResolver(opts);
  const hosts = new Map(opts.inventory.hosts.map((h) => [h.name, h]));
  const unlocked = new Map<string, Promise<UnlockedKey & { parsed?: ParsedKey }>>();
  const io = opts.io ?? terminalIo();

  const unlock = (key: Parameters<typeof unlockPrivateKey>[0]) => {
    // ask once per key file for the whole fleet, and parse it once: ssh2 would parse it
    // again for every connection (an encrypted key's bcrypt KDF each time)
    let p = unlocked.get(key.path);
    if (!p) unlocked.set(key.path, (p = unlockPrivateKey(key, io).then(parsedOnce)));
    return p;
  };

  // One ssh invocation, as ssh.c builds it for ProxyJump: the last hop is connected to
  // with `-l user -p port` from the spec and `-J <the hops before it>` (which replaces that
  // hop's own ProxyJump); the first hop uses its own ssh_config, ProxyJump included. The
  // result is flattened: target.jumps lists every bastion, outermost first.
  async function target(
    name: string,
    alias: string,
    explicit: HostSpec['explicit'],
    fallback: HostSpec['fallback'],
    via?: ProxyJumpHop[],
    path: readonly string[] = [],
  ): Promise<SshTarget> {
    const r = resolve(name, alias, explicit, fallback);
    const s = r.settings;
    const { port, policy } = r;
    const hops = via ?? (r.proxyJump ? parseProxyJump(r.proxyJump) : []);
    const here = `${r.user}@${s.hostName}:${port}`;
    const last = hops[hops.length - 1];
    // ssh.c's own check ("jumphost loop via"), and a bound for loops through several hosts
    if (last && jumpsThroughItself(hops, s.hostName, port, r.user)) throw jumpLoop(name, last.host, [...path, here]);
    if (path.includes(here) || path.length >= MAX_JUMP_DEPTH) throw jumpLoop(name, s.hostName, [...path, here]);
    // the way in first: a loop is reported before anything else about the hosts on it
    let jumps: SshTarget[] | undefined;
    if (last) {
      const bastion = await target(
        `${name} via ${last.host}`,
        last.host,
        { user: last.user, port: last.port },
        { user: userInfo().username, port: 22, identityFile: r.inventoryIdentityFile },
        hops.length > 1 ? hops.slice(0, -1) : undefined,
        [...path, here],
      );
      jumps = [...(bastion.jumps ?? []), { ...bastion, jumps: undefined }];
    }

    const ids = chooseIdentities({
      settings: s,
      inventoryIdentityFile: r.inventoryIdentityFile,
      authSock: process.env.SSH_AUTH_SOCK,
      homeDir: home,
    });
    for (const note of ids.notes) opts.onWarning?.(name, note);
    const keys = await Promise.all(ids.privateKeys.map(unlock));
    if (!keys.length && !ids.agent) {
      // a named key that is missing or unusable is what to fix: say which file
      const why = ids.notes.length ? ids.notes.join('; ') : 'no identity_file, no ~/.ssh/id_*, no ssh-agent';
      throw new ConfigError(
        `${name}: no SSH key to offer (${why})`,
        ids.notes.length
          ? 'check the path of identity_file (inventory) or IdentityFile (~/.ssh/config)'
          : 'set identity_file in the inventory or start ssh-agent with your key',
        opts.inventory.path,
      );
    }
    const knownHostsFiles = r.knownHostsFiles;
    const globalKnownHostsFiles = r.globalKnownHostsFiles;
    // only the recorded key types are offered: a host that has one proves it (no downgrade)
    const hostKeyAlgorithms =
      policy === 'off'
        ? undefined
        : hostKeyAlgorithmsFor(recordedKeyTypes([...knownHostsFiles, ...globalKnownHostsFiles], s.hostName, port));
    return {
      name,
      hostName: s.hostName,
      port,
      user: r.user,
      privateKeys: keys.map((k) => ({
        path: k.path,
        key: k.parsed ?? k.privateKey,
        passphrase: k.parsed ? undefined : k.passphrase,
      })),
      agent: ids.agent,
      // ConnectTimeout 0 is no limit in ssh
      readyTimeoutMs: s.connectTimeoutS === 0 ? 2 ** 31 - 1 : (s.connectTimeoutS ?? 20) * 1000,
      hostKeyAlgorithms,
      verifyHostKey: (blob) => {
        const v = checkHostKey({
          knownHostsFiles,
          globalKnownHostsFiles,
          host: s.hostName,
          port,
          keyType: keyTypeOfBlob(blob),
          keyBlob: blob,
          policy,
          hashNew: r.hashKnownHosts,
        });
        if (v.ok && v.warning) opts.onWarning?.(name, v.warning);
        return v.ok ? { ok: true } : { ok: false, message: `${name}: ${v.message}`, hint: v.hint };
      },
      jumps,
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

/** ssh.c's check: the last jump host is the host itself (same name, port and user). */
export function jumpsThroughItself(
  hops: readonly ProxyJumpHop[],
  hostName: string,
  port: number,
  user: string,
): boolean {
  const last = hops[hops.length - 1];
  return last !== undefined && last.host === hostName && (last.port ?? 22) === port && (last.user ?? user) === user;
}

function jumpLoop(name: string, via: string, path: readonly string[]): ConfigError {
  return new ConfigError(
    `${name}: jumphost loop via ${via} (${path.join(' -> ')})`,
    'check ProxyJump in ~/.ssh/config: a host must not be reached through itself',
  );
}
