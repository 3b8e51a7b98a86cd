// An inventory with `digitalocean: { tag: ... }` adds every droplet carrying that tag as a
// host (SPEC §8). Asked of DigitalOcean before the command reads the inventory, and only
// then: the API client is loaded only for such an inventory.
import { existsSync } from 'node:fs';
import { inventoryTag, provideTaggedDroplets } from '../config/inventory.js';
import { openCloud } from './cloud.js';

// the droplet commands ask DigitalOcean themselves; report compare reads local files only
const USES_HOSTS = new Set(['provision', 'run', 'plan', 'check', 'hosts', 'bench', 'report']);

export async function addTaggedDroplets(argv: { _: (string | number)[]; inventory?: string }): Promise<void> {
  const [command, sub] = argv._.map(String);
  if (!command || !USES_HOSTS.has(command) || (command === 'report' && sub !== 'fetch')) return;
  const path = argv.inventory;
  if (!path || !existsSync(path)) return;
  let tag: string | undefined;
  try {
    tag = inventoryTag(path);
  } catch {
    return; // the command reads the file again and reports what is wrong with it
  }
  if (!tag) return;
  const droplets = await (await openCloud()).dropletsWithTag(tag);
  const usable = droplets.filter((d): d is typeof d & { address: string } => Boolean(d.address));
  for (const d of droplets)
    if (!d.address) process.stderr.write(`warning: droplet ${d.name} (tag ${tag}) has no public IPv4 yet: left out\n`);
  if (!droplets.length) process.stderr.write(`warning: no droplet carries the tag ${tag}\n`);
  provideTaggedDroplets(
    path,
    usable.map((d) => ({ name: d.name, address: d.address })),
  );
}
