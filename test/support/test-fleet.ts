// A fleet of real sshd targets on 127.0.0.1 plus an inventory for them, all in a temp dir.
// Each host gets its own state_dir and work folder under the temp dir: tests change
// nothing else on this machine.
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startFleet, makeClientKey, type LocalSshd, type ClientKey } from './local-sshd.js';

export interface TestFleet {
  dir: string;
  key: ClientKey;
  sshds: LocalSshd[];
  names: string[];
  inventoryPath: string;
  knownHostsPath: string;
  /** the work folder of host i (its `work_root` var) */
  root(i: number): string;
  stateDir(i: number): string;
  /** Rewrite the inventory; `extra` is merged into each host's entry. */
  writeInventory(opts?: {
    hostVars?: (i: number) => Record<string, unknown>;
    top?: Record<string, unknown>;
    host?: (i: number) => Record<string, unknown>;
  }): void;
  stop(): Promise<void>;
}

export async function startTestFleet(
  count: number,
  opts: { prefix?: string; trustHostKeys?: boolean; sshdConfig?: string[] } = {},
): Promise<TestFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'vps-fleet-'));
  const key = makeClientKey(dir);
  const sshds = await startFleet(count, { authorizedKeys: [key.publicKey], extraConfig: opts.sshdConfig });
  const names = sshds.map((_, i) => `${opts.prefix ?? 'host'}-${i + 1}`);
  const knownHostsPath = join(dir, 'known_hosts');
  if (opts.trustHostKeys !== false) writeFileSync(knownHostsPath, sshds.map((s) => s.knownHostsLine).join('\n') + '\n');
  const root = (i: number) => join(dir, 'hosts', names[i]!);
  const stateDir = (i: number) => join(dir, 'state', names[i]!);
  names.forEach((_, i) => mkdirSync(root(i), { recursive: true }));
  const fleet: TestFleet = {
    dir,
    key,
    sshds,
    names,
    knownHostsPath,
    inventoryPath: join(dir, 'inventory.yml'),
    root,
    stateDir,
    writeInventory(o = {}) {
      const inv = {
        known_hosts_file: knownHostsPath,
        host_key_policy: 'strict',
        ...(o.top ?? {}),
        defaults: { user: 'root', identity_file: key.privateKeyPath },
        hosts: Object.fromEntries(
          names.map((n, i) => [
            n,
            {
              address: '127.0.0.1',
              port: sshds[i]!.port,
              state_dir: stateDir(i),
              vars: { work_root: root(i), ...(o.hostVars?.(i) ?? {}) },
              ...(o.host?.(i) ?? {}),
            },
          ]),
        ),
        groups: { all_hosts: names, first: [names[0]] },
      };
      writeFileSync(fleet.inventoryPath, stringify(inv));
    },
    async stop() {
      await Promise.all(sshds.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  fleet.writeInventory();
  return fleet;
}
