// vps-provision hosts: the inventory as it will be used, after ~/.ssh/config and
// /etc/ssh/ssh_config are applied (no connection is made, no key is unlocked).
import type { CommandModule } from 'yargs';
import { passwdHomeDir } from '../../config/ssh-config-resolver.js';
import {
  loadInventory,
  selectHosts,
  DEFAULT_STATE_DIR,
  USER_STATE_DIR,
  type HostSpec,
} from '../../config/inventory.js';
import { createSshResolver } from '../../transport/ssh-connector.js';
import { chooseIdentities } from '../../transport/identities.js';
import type { CommonArgs } from '../run-context.js';
import { terminalLine } from '../ui/terminal-text.js';
import { jsonText } from '../ui/json-output.js';

/** What `state_dir` will be: the inventory's, or the default for who the steps run as. */
export function shownStateDir(h: HostSpec, user: string): string {
  if (!h.stateDirDefault) return h.stateDir;
  return h.become || user === 'root' ? DEFAULT_STATE_DIR : USER_STATE_DIR;
}

export const hostsCommand: CommandModule<CommonArgs, CommonArgs> = {
  handler: (args) => {
    const inv = loadInventory(args.inventory);
    const resolve = createSshResolver({
      inventory: inv,
      hostKeyPolicy: args.hostKeyPolicy,
      sshConfigPath: args.sshConfig,
    });
    const hosts = selectHosts(inv, args.limit, args.shard).map((h) => {
      const r = resolve(h.name, h.address, h.explicit, h.fallback);
      const ids = chooseIdentities({
        settings: r.settings,
        inventoryIdentityFile: r.inventoryIdentityFile,
        authSock: process.env.SSH_AUTH_SOCK,
        homeDir: passwdHomeDir(),
      });
      return {
        name: h.name,
        /** where the connection goes (HostName of an ssh_config alias) */
        address: r.hostName,
        /** as written in the inventory (or the name) */
        inventory_address: h.address,
        user: r.user,
        port: r.port,
        identity_file: r.inventoryIdentityFile ?? null,
        /** the key files that will be offered, in order */
        identity_files: ids.privateKeys.map((k) => k.path),
        agent: ids.agent ?? null,
        proxy_jump: r.proxyJump ?? null,
        become: h.become,
        state_dir: shownStateDir(h, r.user),
        host_key_policy: r.policy,
        host_key_policy_from: r.policySource,
        known_hosts_files: r.knownHostsFiles,
        global_known_hosts_files: r.globalKnownHostsFiles,
        hash_known_hosts: r.hashKnownHosts,
        groups: Object.entries(inv.groups)
          .filter(([, m]) => m.includes(h.name))
          .map(([g]) => g),
        vars: h.vars,
        notes: ids.notes,
      };
    });
    if (args.json) {
      process.stdout.write(`${jsonText({ inventory: inv.path, hosts })}\n`);
      return;
    }
    // names and values come from files: one terminal-safe line each
    const out = (line: string) => process.stdout.write(`${terminalLine(line)}\n`);
    for (const h of hosts) {
      out(
        `${h.name}  ${h.user}@${h.address}:${h.port}${h.become ? '  become' : ''}${h.groups.length ? `  groups: ${h.groups.join(',')}` : ''}`,
      );
      if (h.inventory_address !== h.address) out(`    via ssh_config: ${h.inventory_address} -> ${h.address}`);
      out(`    keys: ${[...(h.agent ? ['ssh-agent'] : []), ...h.identity_files].join(', ') || 'none'}`);
      if (h.proxy_jump) out(`    jump: ${h.proxy_jump}`);
      out(`    state dir: ${h.state_dir}`);
      out(
        `    host key policy: ${h.host_key_policy} (${h.host_key_policy_from}); known_hosts: ${h.known_hosts_files.join(', ') || 'none'}${h.hash_known_hosts ? ' (hashed)' : ''}`,
      );
      for (const note of h.notes) out(`    note: ${note}`);
      for (const [k, v] of Object.entries(h.vars)) out(`    ${k}=${String(v)}`);
    }
  },
};
