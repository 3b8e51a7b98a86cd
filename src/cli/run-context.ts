// Everything a command needs before the first byte goes to a host: inventory,
// playbooks, the selected hosts and phases, each phase rendered for each host.
import type { Shard } from '../config/shard.js';
import type { HostKeyPolicy } from '../config/host-key-policy.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../monitor/script-files.js';
import { loadInventory, selectHosts, type Inventory, type HostSpec } from '../config/inventory.js';
import { loadPlaybook, instantiatePhase, type Playbook, type PhaseInstance } from '../config/playbook.js';
import { ConfigError } from '../errors.js';
import { withRdpAccess, RdpAccessError } from '../config/rdp-access.js';
import { closest } from './options.js';
import { loginKeyFinder } from '../transport/login-public-key.js';

/** A workstation variable whose default is found on the laptop (README: "Workstation variables"). */
const DEVELOPER_SSH_KEY = 'developer_ssh_key';

export interface CommonArgs {
  inventory: string;
  playbooks: string;
  limit?: string[];
  /** this runner's part of the selected hosts (--shard i/n) */
  shard?: Shard;
  concurrency: number;
  ideConcurrency?: number;
  sampleInterval?: number;
  reportsDir?: string;
  /** runs kept on hosts and in the reports dir (default: the inventory's keep_runs, 20) */
  keepRuns?: number;
  json: boolean;
  color?: boolean;
  verbose: boolean;
  hostKeyPolicy?: HostKeyPolicy;
  sshConfig?: string;
}

export interface PhaseSelection {
  only?: string[];
  /** how the user named `only` in messages (default --only-phase) */
  onlyLabel?: string;
  skip?: string[];
}

export interface RunContext {
  inventory: Inventory;
  playbook: Playbook;
  hosts: { host: HostSpec; phases: PhaseInstance[] }[];
}

function checkPhaseNames(pb: Playbook, names: readonly string[], option: string): void {
  const known = pb.phases.map((p) => p.name);
  for (const n of names) {
    if (!known.includes(n)) {
      const guess = closest(n, known);
      throw new ConfigError(
        `${option}: unknown phase "${n}"${guess ? `; did you mean ${guess}?` : ''}`,
        `phases in ${resolve(pb.dir, 'site.yml')}: ${known.join(', ')}`,
        resolve(pb.dir, 'site.yml'),
      );
    }
  }
}

/** A host's vars over the playbooks' defaults, with rdp_access checked and its derived values. */
export function hostVars(inventory: Inventory, host: HostSpec, defaults: Playbook['vars']): Playbook['vars'] {
  try {
    return withRdpAccess({ ...defaults, ...host.vars });
  } catch (err) {
    if (err instanceof RdpAccessError)
      throw new ConfigError(
        `${inventory.path}: host ${host.name}: ${err.message}`,
        err.hint,
        inventory.path,
        host.line,
      );
    throw err;
  }
}

/** The default `playbooks` folder, else (none here: an installed package) the package's own. */
function playbooksDir(option: string): string {
  if (option !== 'playbooks' || existsSync(join(option, 'site.yml'))) return option;
  const bundled = join(packageRoot(), 'playbooks');
  return existsSync(join(bundled, 'site.yml')) ? bundled : option;
}

export async function loadRunContext(
  args: CommonArgs,
  sel: PhaseSelection = {},
  inventory: Inventory = loadInventory(args.inventory),
): Promise<RunContext> {
  const playbook = loadPlaybook(playbooksDir(args.playbooks));
  const only = (sel.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const skip = (sel.skip ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  checkPhaseNames(playbook, only, sel.onlyLabel ?? '--only-phase');
  checkPhaseNames(playbook, skip, '--skip-phase');
  const phases = playbook.phases.filter((p) => (!only.length || only.includes(p.name)) && !skip.includes(p.name));
  const selected = selectHosts(inventory, args.limit, args.shard);
  // developer_ssh_key, when neither the playbooks nor the inventory set it: the public half
  // of the key the tool logs in with (identity_file + .pub, else the agent's first key)
  const needKey = selected.map((host) => !Object.hasOwn({ ...playbook.vars, ...host.vars }, DEVELOPER_SSH_KEY));
  // ssh_config, key files and the agent read once for all hosts
  const loginKeyOf = needKey.some(Boolean) ? loginKeyFinder(args.sshConfig) : undefined;
  const loginKeys = await Promise.all(selected.map((host, i) => (needKey[i] ? loginKeyOf!(host) : undefined)));
  const hosts = selected.map((host, i) => {
    const key = loginKeys[i];
    // the playbooks' own vars are defaults; the inventory's win
    const vars = hostVars(inventory, host, { ...playbook.vars, ...(key ? { [DEVELOPER_SSH_KEY]: key.line } : {}) });
    try {
      return { host, phases: phases.map((p) => instantiatePhase(playbook, p, vars, host.name)) };
    } catch (err) {
      if (err instanceof ConfigError && !key && err.message.includes(`unknown variable "${DEVELOPER_SSH_KEY}"`)) {
        throw new ConfigError(
          err.message,
          `set ${DEVELOPER_SSH_KEY} in the inventory's vars (a public key line), or give ${host.name} an identity_file with its .pub beside it, or load your key into ssh-agent`,
          err.file,
          err.line,
        );
      }
      throw err;
    }
  });
  return { inventory, playbook, hosts };
}
