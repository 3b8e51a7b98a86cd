// vps-provision down <name>: destroys a droplet that carries the tag (never another), after
// confirmation, and removes its address from known_hosts (DigitalOcean reuses addresses).
import type { CommandModule } from 'yargs';
import type { CommonArgs } from '../run-context.js';
import { confirm } from '../execute-run.js';
import { cloudSettings, inventoryOrEmpty, openCloud, safeCell } from '../cloud.js';
import { knownHostsFiles } from './up.js';
import { forgetHost } from '../../transport/known-hosts-forget.js';
import { ConfigError } from '../../errors.js';
import { yesOption } from '../options.js';

interface Args extends CommonArgs {
  name: string;
  tag?: string;
  yes: boolean;
}

export const downCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'droplet name' })
      .option('tag', { type: 'string', describe: 'only a droplet with this tag is destroyed (default vps-provision)' })
      .option('yes', yesOption) as never,
  handler: async (args) => {
    const inv = inventoryOrEmpty(args.inventory);
    const { tag } = cloudSettings(args, inv);
    const cloud = await openCloud();
    const d = await cloud.findDroplet(args.name, tag);
    if (!d)
      throw new ConfigError(
        `no droplet named ${args.name} carries the tag ${tag}: nothing destroyed`,
        'vps-provision droplets lists the droplets this tool may touch',
      );
    await confirm(
      `DESTROY droplet ${args.name} (id ${d.id}, ${safeCell(d.address)}, ${d.region}, ${d.size}) and everything on it`,
      args.yes,
    );
    await cloud.destroy(d.id);
    const forgotten = d.address ? forgetHost(knownHostsFiles(inv), d.address) : 0;
    process.stdout.write(
      `destroyed ${args.name} (id ${d.id})${d.address ? `; ${d.address} removed from known_hosts (${forgotten} line${forgotten === 1 ? '' : 's'})` : ''}\n`,
    );
  },
};
