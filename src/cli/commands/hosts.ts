// vps-provision hosts: the inventory as resolved (no connection is made).
import type { CommandModule } from 'yargs';
import { loadInventory, selectHosts } from '../../config/inventory.js';
import type { CommonArgs } from '../run-context.js';
import { terminalText } from '../ui/terminal-text.js';

export const hostsCommand: CommandModule<CommonArgs, CommonArgs> = {
  command: 'hosts',
  describe: 'Show the inventory as resolved: hosts, groups, connection settings and vars',
  handler: (args) => {
    const inv = loadInventory(args.inventory);
    const hosts = selectHosts(inv, args.limit).map((h) => ({
      name: h.name,
      address: h.address,
      user: h.explicit.user ?? h.fallback.user,
      port: h.explicit.port ?? h.fallback.port,
      identity_file: h.explicit.identityFile ?? h.fallback.identityFile ?? null,
      become: h.become,
      state_dir: h.stateDir,
      groups: Object.entries(inv.groups).filter(([, m]) => m.includes(h.name)).map(([g]) => g),
      vars: h.vars,
    }));
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ inventory: inv.path, host_key_policy: inv.hostKeyPolicy, hosts }, null, 2)}\n`);
      return;
    }
    for (const h of hosts) {
      process.stdout.write(`${h.name}  ${h.user}@${h.address}:${h.port}${h.become ? '  become' : ''}${h.groups.length ? `  groups: ${h.groups.join(',')}` : ''}\n`);
      for (const [k, v] of Object.entries(h.vars)) process.stdout.write(`    ${k}=${terminalText(String(v))}\n`);
    }
    process.stdout.write('(~/.ssh/config may still change user, port, keys and address at connect time)\n');
  },
};
