// Everything a command needs before the first byte goes to a host: inventory,
// playbooks, the selected hosts and phases, each phase rendered for each host.
import { resolve } from 'node:path';
import { loadInventory, selectHosts, type Inventory, type HostSpec } from '../config/inventory.js';
import { loadPlaybook, instantiatePhase, type Playbook, type PhaseInstance } from '../config/playbook.js';
import { ConfigError } from '../errors.js';
import { withRdpAccess, RdpAccessError } from '../config/rdp-access.js';
import { closest } from './options.js';

export interface CommonArgs {
  inventory: string;
  playbooks: string;
  limit?: string[];
  concurrency: number;
  ideConcurrency?: number;
  sampleInterval?: number;
  reportsDir?: string;
  json: boolean;
  color?: boolean;
  verbose: boolean;
  hostKeyPolicy?: 'accept-new' | 'strict' | 'off';
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
      throw new ConfigError(`${option}: unknown phase "${n}"${guess ? `; did you mean ${guess}?` : ''}`, `phases in ${resolve(pb.dir, 'site.yml')}: ${known.join(', ')}`, resolve(pb.dir, 'site.yml'));
    }
  }
}

/** A host's vars over the playbooks' defaults, with rdp_access checked and its derived values. */
export function hostVars(inventory: Inventory, host: HostSpec, defaults: Playbook['vars']): Playbook['vars'] {
  try {
    return withRdpAccess({ ...defaults, ...host.vars });
  } catch (err) {
    if (err instanceof RdpAccessError) throw new ConfigError(`${inventory.path}: host ${host.name}: ${err.message}`, err.hint, inventory.path, host.line);
    throw err;
  }
}

export function loadRunContext(args: CommonArgs, sel: PhaseSelection = {}, inventory: Inventory = loadInventory(args.inventory)): RunContext {
  const playbook = loadPlaybook(args.playbooks);
  const only = (sel.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const skip = (sel.skip ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  checkPhaseNames(playbook, only, sel.onlyLabel ?? '--only-phase');
  checkPhaseNames(playbook, skip, '--skip-phase');
  const phases = playbook.phases.filter((p) => (!only.length || only.includes(p.name)) && !skip.includes(p.name));
  const hosts = selectHosts(inventory, args.limit).map((host) => {
    // the playbooks' own vars are defaults; the inventory's win
    const vars = hostVars(inventory, host, playbook.vars);
    return { host, phases: phases.map((p) => instantiatePhase(playbook, p, vars, host.name)) };
  });
  return { inventory, playbook, hosts };
}
