// What the droplet commands ask of DigitalOcean (SPEC §8), over the typed client: droplets
// with the tag, sizes' prices, the laptop's key in the account, create / wait / destroy,
// snapshots. Every wait is bounded; the caller says how long.
import { createHash } from 'node:crypto';
import type { components } from './openapi/digitalocean-api.js';
import { CommandError } from '../errors.js';
import { allPages, hasNext, must, PER_PAGE, type DoApi } from './do-client.js';

type ApiDroplet = components['schemas']['droplet'];

export interface DropletInfo {
  id: number;
  name: string;
  status: ApiDroplet['status'];
  /** public IPv4, once there is one */
  address?: string;
  region: string;
  size: string;
  priceMonthly: number;
  tags: string[];
}

export interface CreateRequest {
  name: string;
  region: string;
  size: string;
  /** a slug ("debian-13-x64") or an image / snapshot id */
  image: string;
  tag: string;
  sshKeyIds: number[];
}

function dropletInfo(d: ApiDroplet): DropletInfo {
  const v4 = (d.networks.v4 ?? []).find((n) => n.type === 'public' && n.ip_address);
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    address: v4?.ip_address,
    region: d.region.slug,
    size: d.size_slug,
    priceMonthly: d.size.price_monthly,
    tags: d.tags,
  };
}

/** DigitalOcean's key fingerprint: MD5 of the key blob, colon-separated hex (as ssh-keygen -E md5). */
export function md5Fingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new CommandError('the public key is not one "type base64 [comment]" line', 'check the .pub file');
  return createHash('md5')
    .update(Buffer.from(blob, 'base64'))
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
}

/** An image given on the command line: digits are an id (a snapshot), anything else a slug. */
export function imageRef(image: string): string | number {
  return /^\d+$/.test(image) ? Number(image) : image;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class DigitalOcean {
  constructor(
    private readonly api: DoApi,
    private readonly pollMs = 3000,
  ) {}

  async dropletsWithTag(tag: string): Promise<DropletInfo[]> {
    const all = await allPages(async (page) => {
      const body = must(
        await this.api.GET('/v2/droplets', { params: { query: { tag_name: tag, page, per_page: PER_PAGE } } }),
        `list the droplets tagged ${tag}`,
      );
      return { items: body.droplets ?? [], next: hasNext(body) };
    });
    // the filter is the server's; the tag is checked here too: only ours are ever touched
    return all.filter((d) => d.tags.includes(tag)).map(dropletInfo);
  }

  async findDroplet(name: string, tag: string): Promise<DropletInfo | undefined> {
    const found = (await this.dropletsWithTag(tag)).filter((d) => d.name === name);
    if (found.length > 1)
      throw new CommandError(
        `${found.length} droplets named ${name} carry the tag ${tag} (ids ${found.map((d) => d.id).join(', ')})`,
        'rename or destroy the extra ones in the control panel',
      );
    return found[0];
  }

  async droplet(id: number): Promise<DropletInfo> {
    const body = must(
      await this.api.GET('/v2/droplets/{droplet_id}', { params: { path: { droplet_id: id } } }),
      `read droplet ${id}`,
    );
    if (!body.droplet) throw new CommandError(`DigitalOcean returned no droplet for id ${id}`, 'try again');
    return dropletInfo(body.droplet);
  }

  /** The monthly price of a size, or undefined when the account does not offer it. */
  async sizePrice(slug: string): Promise<{ monthly: number; hourly: number; description: string } | undefined> {
    const sizes = await allPages(async (page) => {
      const body = must(
        await this.api.GET('/v2/sizes', { params: { query: { page, per_page: PER_PAGE } } }),
        'list the droplet sizes',
      );
      return { items: body.sizes ?? [], next: hasNext(body) };
    });
    const s = sizes.find((x) => x.slug === slug);
    return s
      ? {
          monthly: s.price_monthly,
          hourly: s.price_hourly,
          description: `${s.vcpus} vCPU, ${s.memory / 1024} GB RAM, ${s.disk} GB disk`,
        }
      : undefined;
  }

  /** The account's key with this public key's fingerprint, added first when there is none. */
  async ensureKey(publicKeyLine: string, name: string): Promise<{ id: number; fingerprint: string; added: boolean }> {
    const fingerprint = md5Fingerprint(publicKeyLine);
    const keys = await allPages(async (page) => {
      const body = must(
        await this.api.GET('/v2/account/keys', { params: { query: { page, per_page: PER_PAGE } } }),
        'list the SSH keys of the account',
      );
      return { items: body.ssh_keys ?? [], next: hasNext(body) };
    });
    const known = keys.find((k) => k.fingerprint === fingerprint);
    if (known?.id !== undefined) return { id: known.id, fingerprint, added: false };
    const [type, blob] = publicKeyLine.trim().split(/\s+/);
    const body = must(
      await this.api.POST('/v2/account/keys', { body: { name, public_key: `${type} ${blob}` } }),
      'add your SSH key to the account',
    );
    if (body.ssh_key?.id === undefined)
      throw new CommandError(
        'DigitalOcean added the key but returned no id',
        'run the command again: the key is found by its fingerprint',
      );
    return { id: body.ssh_key.id, fingerprint, added: true };
  }

  async create(req: CreateRequest): Promise<DropletInfo> {
    const body = must(
      await this.api.POST('/v2/droplets', {
        body: {
          name: req.name,
          region: req.region,
          size: req.size,
          image: imageRef(req.image),
          ssh_keys: req.sshKeyIds,
          tags: [req.tag],
        },
      }),
      `create droplet ${req.name}`,
    );
    if (!('droplet' in body))
      throw new CommandError('DigitalOcean answered a single create with several droplets', 'check the control panel');
    return dropletInfo(body.droplet);
  }

  /** Polls until the droplet is active with a public IPv4 (bounded). */
  async waitActive(
    id: number,
    timeoutMs: number,
    onStatus?: (d: DropletInfo) => void,
  ): Promise<DropletInfo & { address: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.droplet(id);
      onStatus?.(d);
      if (d.status === 'active' && d.address) return d as DropletInfo & { address: string };
      if (Date.now() + this.pollMs > deadline) {
        throw new CommandError(
          `droplet ${d.name} is still ${d.status}${d.address ? '' : ' without a public IPv4'} after ${Math.round(timeoutMs / 1000)} s`,
          'look at it in the control panel; `up` again resumes where it stopped',
        );
      }
      await sleep(this.pollMs);
    }
  }

  async destroy(id: number): Promise<void> {
    const r = await this.api.DELETE('/v2/droplets/{droplet_id}', { params: { path: { droplet_id: id } } });
    if (r.response.status === 404) return; // already gone: the state wanted
    must(r, `destroy droplet ${id}`);
  }

  /** Starts a snapshot, waits for its action, returns the new snapshot's id and name. */
  async snapshot(
    d: DropletInfo,
    snapshotName: string,
    timeoutMs: number,
    onStatus?: (status: string) => void,
  ): Promise<{ id: string; name: string }> {
    const body = must(
      await this.api.POST('/v2/droplets/{droplet_id}/actions', {
        params: { path: { droplet_id: d.id } },
        body: { type: 'snapshot', name: snapshotName },
      }),
      `snapshot droplet ${d.name}`,
    );
    const actionId = body.action?.id;
    if (actionId === undefined)
      throw new CommandError('DigitalOcean started the snapshot but returned no action id', 'check the control panel');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = must(
        await this.api.GET('/v2/actions/{action_id}', { params: { path: { action_id: actionId } } }),
        `read action ${actionId}`,
      ).action;
      onStatus?.(a?.status ?? 'unknown');
      if (a?.status === 'completed') break;
      if (a?.status === 'errored')
        throw new CommandError(
          `the snapshot of ${d.name} failed (action ${actionId} errored)`,
          "look at the droplet's history in the control panel",
        );
      if (Date.now() + this.pollMs > deadline)
        throw new CommandError(
          `the snapshot of ${d.name} is not done after ${Math.round(timeoutMs / 1000)} s (action ${actionId})`,
          'it goes on at DigitalOcean; see the control panel',
        );
      await sleep(this.pollMs);
    }
    const snaps = await allPages(async (page) => {
      const b = must(
        await this.api.GET('/v2/snapshots', {
          params: { query: { page, per_page: PER_PAGE, resource_type: 'droplet' } },
        }),
        'list the snapshots',
      );
      return { items: b.snapshots ?? [], next: hasNext(b) };
    });
    const snap = snaps.filter((s) => s.resource_id === String(d.id) && s.name === snapshotName).pop();
    if (!snap)
      throw new CommandError(
        `the snapshot ${snapshotName} finished but is not listed`,
        'look for it in the control panel (Images, Snapshots)',
      );
    return { id: snap.id, name: snap.name };
  }
}
