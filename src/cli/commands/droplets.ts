// vps-provision droplets: the droplets that carry the tag: name, address, region, size, price.
import type { CommandModule } from 'yargs';
import type { CommonArgs } from '../run-context.js';
import { cloudSettings, inventoryOrEmpty, openCloud, safeCell } from '../cloud.js';
import { jsonText } from '../ui/json-output.js';

interface Args extends CommonArgs {
  tag?: string;
}

export const dropletsCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y.option('tag', {
      type: 'string',
      describe: "default vps-provision (or the inventory's digitalocean.tag)",
    }) as never,
  handler: async (args) => {
    const { tag } = cloudSettings(args, inventoryOrEmpty(args.inventory));
    const list = await (await openCloud()).dropletsWithTag(tag);
    if (args.json) {
      process.stdout.write(
        `${jsonText({ tag, droplets: list.map((d) => ({ name: d.name, id: d.id, status: d.status, address: d.address ?? null, region: d.region, size: d.size, price_monthly: d.priceMonthly })) })}\n`,
      );
      return;
    }
    if (!list.length) {
      process.stdout.write(`no droplets carry the tag ${safeCell(tag)} (vps-provision up <name> makes one)\n`);
      return;
    }
    const rows = [
      ['NAME', 'ADDRESS', 'REGION', 'SIZE', 'PRICE', 'STATUS'],
      ...list.map((d) =>
        [d.name, d.address, d.region, d.size, `$${d.priceMonthly.toFixed(2)}/mo`, d.status].map(safeCell),
      ),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      process.stdout.write(
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    const total = list.reduce((sum, d) => sum + d.priceMonthly, 0);
    process.stdout.write(`${list.length} droplet(s), $${total.toFixed(2)}/month\n`);
  },
};
