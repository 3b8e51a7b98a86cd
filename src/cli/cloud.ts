// What the droplet commands share: the DigitalOcean client, loaded only by them (a dynamic
// import keeps its start-up cost off every other command), `up`'s defaults (flags over the
// inventory's `digitalocean:` over SPEC §8's), and the inventory when there is no file.
import { existsSync } from 'node:fs';
import { loadInventory, emptyInventory, type Inventory } from '../config/inventory.js';
import type { DigitalOcean } from '../cloud/digitalocean.js';
import { unsafeChars } from '../unsafe-chars.js';

const CLOUD_DEFAULTS = {
  region: 'fra1',
  size: 's-2vcpu-4gb',
  image: 'debian-13-x64',
  tag: 'vps-provision',
} as const;

export interface CloudSettings {
  region: string;
  size: string;
  image: string;
  tag: string;
}

export function cloudSettings(flags: Partial<CloudSettings>, inv: Inventory): CloudSettings {
  const d = inv.digitalocean ?? {};
  return {
    region: flags.region ?? d.region ?? CLOUD_DEFAULTS.region,
    size: flags.size ?? d.size ?? CLOUD_DEFAULTS.size,
    image: flags.image ?? d.image ?? CLOUD_DEFAULTS.image,
    tag: flags.tag ?? d.tag ?? CLOUD_DEFAULTS.tag,
  };
}

/** The inventory file when there is one; `up`, `connect` and friends also work without. */
export function inventoryOrEmpty(path: string): Inventory {
  return existsSync(path) ? loadInventory(path) : emptyInventory(path);
}

export async function openCloud(
  onWait: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
): Promise<DigitalOcean> {
  const [{ apiAccess }, { createDoClient }, { DigitalOcean }] = await Promise.all([
    import('../cloud/token.js'),
    import('../cloud/do-client.js'),
    import('../cloud/digitalocean.js'),
  ]);
  return new DigitalOcean(createDoClient(apiAccess(), { onWait }));
}

/** Droplet names DigitalOcean accepts that are also inventory host names. */
export const DROPLET_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

const API_UNSAFE = unsafeChars('\\u0000-\\u001f');

/** Text from the API goes to a terminal: printable, one line. */
export function safeCell(s: string | number | undefined): string {
  return String(s ?? '-').replace(API_UNSAFE, '?');
}
