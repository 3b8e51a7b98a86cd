// vps-provision up <name>: from nothing to a provisioned droplet (SPEC §8). Price shown and
// confirmed; the laptop key registered if the account lacks it; the droplet created with the
// key and the tag; then waited for: active with a public IPv4 -> SSH answers -> cloud-init
// done; then every phase. A name that already exists with the tag: nothing is created.
import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { passwdHomeDir } from '../../config/ssh-config-resolver.js';
import { loadRunContext, type CommonArgs } from '../run-context.js';
import { executeRun, confirm } from '../execute-run.js';
import { cloudSettings, inventoryOrEmpty, openCloud, DROPLET_NAME, safeCell, type CloudSettings } from '../cloud.js';
import { ConfigError, ConnectError, CommandError } from '../../errors.js';
import { preparedConnector } from '../each-host.js';
import { forgetHost } from '../../transport/known-hosts-forget.js';
import { laptopPublicKey } from '../../transport/laptop-key.js';
import type { Inventory } from '../../config/inventory.js';
import { loadPlaybook } from '../../config/playbook.js';
import type { Connection } from '../../transport/connection.js';
import { bootingHostDelayMs, BOOTING_HOST_MAX_DELAY_MS, pause } from '../../transport/reconnect-backoff.js';
import { EXIT } from '../exit-codes.js';
import { yesOption } from '../options.js';

interface Args extends CommonArgs, Partial<CloudSettings> {
  name: string;
  provision: boolean;
  yes: boolean;
  skipSourceCheck: boolean;
}

const ACTIVE_TIMEOUT_MS = 10 * 60_000;
const SSH_TIMEOUT_MS = 5 * 60_000;
const CLOUD_INIT_TIMEOUT_MS = 20 * 60_000;
// transient while a droplet boots: nothing listens yet, the network is not up, the key not yet in place
const RETRIED: ConnectError['reason'][] = ['refused', 'timeout', 'unreachable', 'dropped', 'auth', 'other'];

const say = (line: string) => process.stderr.write(`${line}\n`);

export function knownHostsFiles(inv: Inventory): string[] {
  return inv.knownHostsFile ? [inv.knownHostsFile] : [join(passwdHomeDir(), '.ssh', 'known_hosts')];
}

/** Connects until SSH answers (bounded): refused, time-outs and early auth failures are retried. */
export async function waitForSsh(
  connect: () => Promise<Connection>,
  timeoutMs: number,
  note: (m: string) => void,
): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      if (
        !(err instanceof ConnectError) ||
        !RETRIED.includes(err.reason) ||
        Date.now() + BOOTING_HOST_MAX_DELAY_MS > deadline
      )
        throw err;
      if (err.message !== last) note(`waiting for SSH: ${err.message}`);
      last = err.message;
      await pause(bootingHostDelayMs(attempt));
    }
  }
}

export const upCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'droplet name (also its host name here)' })
      .option('region', {
        type: 'string',
        describe: "region slug (default fra1, or the inventory's digitalocean.region)",
      })
      .option('size', { type: 'string', describe: 'size slug (default s-2vcpu-4gb: 2 vCPU, 4 GB)' })
      .option('image', { type: 'string', describe: 'image slug or snapshot id (default debian-13-x64)' })
      .option('tag', {
        type: 'string',
        describe: 'tag put on the droplet; only droplets with it are touched (default vps-provision)',
      })
      .option('provision', {
        type: 'boolean',
        default: true,
        describe: 'provision every phase once it answers (--no-provision: create and wait only)',
      })
      .option('yes', yesOption)
      .option('skip-source-check', {
        type: 'boolean',
        default: false,
        describe:
          'do not check, before provisioning, that every key, apt repository and .deb URL resolves from the droplet',
      })
      .example('$0 up dev1', 'a 4 GB droplet in fra1, provisioned as a workstation')
      .example('$0 up dev2 --image 123456789 --no-provision', 'a droplet from a snapshot') as never,
  handler: async (args) => {
    if (!DROPLET_NAME.test(args.name))
      throw new ConfigError(
        `droplet name "${args.name}" is not usable`,
        'letters, digits, "." and "-", starting with a letter or digit, at most 63',
      );
    const inv = inventoryOrEmpty(args.inventory);
    // the playbooks are read before anything is created: a typo costs no droplet
    if (args.provision) loadPlaybook(args.playbooks);
    const s = cloudSettings(args, inv);
    const cloud = await openCloud();
    const existing = await cloud.findDroplet(args.name, s.tag);
    const key = await laptopPublicKey({
      identityFile:
        inv.hosts.find((h) => h.name === args.name)?.explicit.identityFile ??
        inv.newHost(args.name, '').fallback.identityFile,
    });
    let id: number;
    if (existing) {
      say(
        `droplet ${args.name} exists (id ${existing.id}, ${safeCell(existing.address)}, ${existing.region}, ${existing.size}): nothing is created`,
      );
      if (args.provision) await confirm(`provision droplet ${args.name}`, args.yes);
      id = existing.id;
    } else {
      const price = await cloud.sizePrice(s.size);
      if (!price)
        throw new ConfigError(
          `size ${s.size} is not offered to this account`,
          'see the sizes in the control panel, or leave --size out for s-2vcpu-4gb',
        );
      await confirm(
        `create droplet ${args.name}: ${s.size} (${price.description}) in ${s.region}, image ${s.image}, tag ${s.tag}, $${price.monthly.toFixed(2)}/month ($${price.hourly.toFixed(3)}/hour)`,
        args.yes,
      );
      const k = await cloud.ensureKey(key.line, `vps-provision ${key.source.split('/').pop()}`);
      say(
        k.added
          ? `added your SSH key (${key.source}, ${k.fingerprint}) to the account`
          : `your SSH key is in the account (${k.fingerprint})`,
      );
      const made = await cloud.create({ ...s, name: args.name, sshKeyIds: [k.id] });
      say(`created droplet ${args.name} (id ${made.id}); waiting until it is active`);
      id = made.id;
    }
    const d = await cloud.waitActive(id, ACTIVE_TIMEOUT_MS);
    // a new droplet may have an address an old one had: its old host key must not block it
    if (!existing) forgetHost(knownHostsFiles(inv), d.address);
    say(`${args.name} is active at ${d.address}; waiting for SSH`);
    const host = inv.hosts.find((h) => h.name === args.name) ?? inv.newHost(args.name, d.address);
    host.address = d.address;
    // the developer may log in with the laptop's key unless the inventory says otherwise
    if (host.vars.developer_ssh_key === undefined) host.vars = { ...host.vars, developer_ssh_key: key.line };
    const runInv: Inventory = { ...inv, hosts: [host], groups: {} };
    const connector = await preparedConnector(runInv, args, [host.name]);
    const conn = await waitForSsh(() => connector.connect(host.name), SSH_TIMEOUT_MS, say);
    try {
      const ci = await conn.exec(
        'if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1; echo "cloud-init=$?"; else echo cloud-init=none; fi',
        { timeoutMs: CLOUD_INIT_TIMEOUT_MS },
      );
      const status = /cloud-init=(\S+)/.exec(ci.stdout)?.[1];
      if (status === 'none') say('SSH answers (no cloud-init on this image)');
      else if (status === '0' || status === '2')
        say(
          `SSH answers; cloud-init is done${status === '2' ? ' (with recoverable errors: see cloud-init status --long)' : ''}`,
        );
      else
        throw new CommandError(
          `${args.name}: cloud-init failed (exit ${status ?? '?'})`,
          `look at it with: ssh root@${d.address} cloud-init status --long`,
        );
    } finally {
      conn.close();
    }
    if (!args.provision) {
      say(`ready: ssh root@${d.address}   (provision later with: vps-provision up ${args.name} --yes)`);
      process.exitCode = EXIT.ok;
      return;
    }
    const ctx = await loadRunContext(args, {}, runInv);
    const r = await executeRun({ ...args, limit: undefined }, ctx, 'apply', false, {
      skipSourceCheck: args.skipSourceCheck,
    });
    process.stdout.write(`connect: vps-provision connect ${args.name}\n`);
    process.exitCode = r.code;
  },
};
