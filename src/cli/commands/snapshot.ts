// vps-provision snapshot <name>: a snapshot of a tagged droplet, waited for; `up --image <id>`
// starts a new droplet from it.
import type { CommandModule } from 'yargs';
import type { CommonArgs } from '../run-context.js';
import { confirm } from '../execute-run.js';
import { cloudSettings, inventoryOrEmpty, openCloud } from '../cloud.js';
import { ConfigError } from '../../errors.js';
import { yesOption } from '../options.js';

interface Args extends CommonArgs {
  name: string;
  snapshotName?: string;
  tag?: string;
  yes: boolean;
}

const SNAPSHOT_TIMEOUT_MS = 60 * 60_000;

export const snapshotCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'droplet name' })
      .option('snapshot-name', { type: 'string', describe: 'default <name>-<UTC date and time>' })
      .option('tag', { type: 'string', describe: 'default vps-provision' })
      .option('yes', yesOption) as never,
  handler: async (args) => {
    const { tag } = cloudSettings(args, inventoryOrEmpty(args.inventory));
    const snapName =
      args.snapshotName ??
      `${args.name}-${new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,254}$/.test(snapName))
      throw new ConfigError(
        `snapshot name "${snapName}" is not usable`,
        'letters, digits, space, ".", "_", ":" and "-"',
      );
    const cloud = await openCloud();
    const d = await cloud.findDroplet(args.name, tag);
    if (!d)
      throw new ConfigError(
        `no droplet named ${args.name} carries the tag ${tag}`,
        'vps-provision droplets lists them',
      );
    await confirm(`snapshot droplet ${args.name} as "${snapName}" (DigitalOcean bills snapshots by size)`, args.yes);
    process.stderr.write(`snapshot of ${args.name} started; waiting until it is done\n`);
    const snap = await cloud.snapshot(d, snapName, SNAPSHOT_TIMEOUT_MS);
    process.stdout.write(
      `snapshot ${snap.name}: id ${snap.id}\nstart a droplet from it: vps-provision up <new-name> --image ${snap.id}\n`,
    );
  },
};
