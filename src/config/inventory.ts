// Inventory: YAML -> validated, resolved hosts (SPEC §2). Reading only; no host is contacted.
import { expandHome } from './home-path.js';
import { pickShard, type Shard } from './shard.js';
import { resolve, dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { readYamlText, parseYamlText, validate, configErrorAt, type YamlFile } from './yaml-file.js';
import { inventorySchema, type InventoryYaml } from './inventory-schema.js';
import type { Vars } from './template.js';

export type { HostKeyPolicy } from './host-key-policy.js';
import type { HostKeyPolicy } from './host-key-policy.js';

// the thresholds and their defaults are the run files' (run.json records them): one owner
import { DEFAULT_THRESHOLDS, type AlertThresholds } from '../report/formats.js';
export type { AlertThresholds };

/** The state dir when steps run as root (root login or become) and none is set (SPEC §2). */
export const DEFAULT_STATE_DIR = '/var/lib/vps-provision';
/** Otherwise: under the login user's $XDG_STATE_HOME, else ~/.local/state (resolved on the host). */
export const USER_STATE_DIR = '${XDG_STATE_HOME:-~/.local/state}/vps-provision';

export interface HostSpec {
  name: string;
  /** What to connect to: the inventory address, else the name (may be an ssh_config alias). */
  address: string;
  /** Values set on the host itself: they win over ~/.ssh/config. */
  explicit: { user?: string; port?: number; identityFile?: string };
  /** Values from the inventory's defaults: ~/.ssh/config wins over them. */
  fallback: { user: string; port: number; identityFile?: string };
  become: boolean;
  vars: Vars;
  /**
   * state_dir as set in the inventory; when not set (stateDirDefault), DEFAULT_STATE_DIR
   * until the host session has resolved the default on the host (root or not, $HOME).
   */
  stateDir: string;
  stateDirDefault?: boolean;
  /** Line of the host's entry, for messages. */
  line?: number;
}

export interface Inventory {
  path: string;
  hosts: HostSpec[];
  groups: Record<string, string[]>;
  /** unset: StrictHostKeyChecking from ssh_config decides, else accept-new */
  hostKeyPolicy?: HostKeyPolicy;
  /** known_hosts to use instead of ~/.ssh/config's UserKnownHostsFile / ~/.ssh/known_hosts */
  knownHostsFile?: string;
  thresholds: AlertThresholds;
  /** the inventory's `digitalocean:` section, when it has one */
  digitalocean?: { tag?: string; region?: string; size?: string; image?: string };
  /** runs kept on each host and in the local reports dir (keep_runs, default 20) */
  keepRuns: number;
  /** A host made from the inventory's defaults (a droplet found by its tag, or made by `up`). */
  newHost(name: string, address: string): HostSpec;
}

export const DEFAULT_KEEP_RUNS = 20;

/** Droplets carrying the inventory's tag, found by the CLI before the inventory is read. */
const taggedDroplets = new Map<string, { name: string; address: string }[]>();

/** Called (by the CLI, after asking DigitalOcean) before loadInventory reads that file. */
export function provideTaggedDroplets(inventoryPath: string, droplets: { name: string; address: string }[]): void {
  taggedDroplets.set(resolve(inventoryPath), droplets);
}

/**
 * The inventory as inventoryTag parsed it, for loadInventory to take over (once) when the
 * file still holds the same text: a large inventory is parsed once per command, not twice.
 */
const parsedAhead = new Map<string, { text: string; file: YamlFile }>();

/** Whether the file asks for tagged droplets (read before the inventory is loaded). */
export function inventoryTag(path: string): string | undefined {
  const text = readYamlText(path, 'inventory');
  const file = parseYamlText(text, path);
  parsedAhead.set(path, { text, file });
  const d = (file.data as { digitalocean?: { tag?: unknown } } | null)?.digitalocean;
  return typeof d?.tag === 'string' ? d.tag : undefined;
}

/** An inventory with no file: `up` and `connect` work without one (SPEC §8). */
export function emptyInventory(path: string): Inventory {
  return {
    // no host_key_policy: ssh_config's StrictHostKeyChecking, else accept-new
    path,
    hosts: [],
    groups: {},
    thresholds: DEFAULT_THRESHOLDS,
    keepRuns: DEFAULT_KEEP_RUNS,
    newHost: (name, address) => ({
      name,
      address,
      explicit: {},
      fallback: { user: 'root', port: 22 },
      become: false,
      vars: { inventory_hostname: name },
      stateDir: DEFAULT_STATE_DIR,
    }),
  };
}

export function loadInventory(path: string): Inventory {
  const text = readYamlText(path, 'inventory');
  const ahead = parsedAhead.get(path);
  parsedAhead.delete(path);
  const file = ahead?.text === text ? ahead.file : parseYamlText(text, path);
  if (file.data === null || typeof file.data !== 'object') {
    throw new ConfigError(
      `${path}: the inventory is empty or not a mapping`,
      'it needs at least a "hosts:" mapping (see the README)',
      path,
      1,
    );
  }
  const inv = validate(file, inventorySchema, file.data);
  return resolveInventory(file, inv);
}

function resolveInventory(file: YamlFile, inv: InventoryYaml): Inventory {
  const d = inv.defaults ?? {};
  const baseDir = dirname(resolve(file.path));
  const fromFile = (p: string) => resolve(baseDir, expandHome(p));
  const fallback = {
    user: d.user ?? 'root',
    port: d.port ?? 22,
    identityFile: d.identity_file ? fromFile(d.identity_file) : undefined,
  };
  const newHost = (name: string, address: string): HostSpec => ({
    name,
    address,
    explicit: {},
    fallback,
    become: d.become ?? false,
    vars: { inventory_hostname: name, ...(d.vars ?? {}) },
    stateDir: d.state_dir ?? DEFAULT_STATE_DIR,
    stateDirDefault: d.state_dir === undefined,
  });
  const hosts: HostSpec[] = Object.entries(inv.hosts ?? {}).map(([name, h]) => {
    const host = h ?? {};
    const spec: Omit<HostSpec, 'line'> = {
      name,
      address: host.address ?? name,
      explicit: {
        user: host.user,
        port: host.port,
        identityFile: host.identity_file ? fromFile(host.identity_file) : undefined,
      },
      fallback: {
        user: d.user ?? 'root',
        port: d.port ?? 22,
        identityFile: d.identity_file ? fromFile(d.identity_file) : undefined,
      },
      become: host.become ?? d.become ?? false,
      vars: { inventory_hostname: name, ...(d.vars ?? {}), ...(host.vars ?? {}) },
      stateDir: host.state_dir ?? d.state_dir ?? DEFAULT_STATE_DIR,
      stateDirDefault: (host.state_dir ?? d.state_dir) === undefined,
    };
    // looked up only when a message needs it
    return Object.defineProperty(spec, 'line', {
      get: () => file.lineOf(['hosts', name]),
      enumerable: true,
    }) as HostSpec;
  });
  // droplets with the tag: an inventory entry of the same name wins (it may set more)
  for (const t of inv.digitalocean?.tag ? (taggedDroplets.get(resolve(file.path)) ?? []) : []) {
    if (!hosts.some((h) => h.name === t.name)) hosts.push(newHost(t.name, t.address));
  }
  // a digitalocean: section alone is an inventory for `up` (its defaults) or for tagged droplets
  if (hosts.length === 0 && !inv.digitalocean)
    throw configErrorAt(
      file,
      ['hosts'],
      'no hosts defined',
      'add at least one host under "hosts:", or digitalocean: { tag: ... } for your tagged droplets',
    );

  const names = new Set(hosts.map((h) => h.name));
  const groups = inv.groups ?? {};
  for (const [group, members] of Object.entries(groups)) {
    if (names.has(group))
      throw configErrorAt(
        file,
        ['groups', group],
        `group "${group}" has the name of a host`,
        'rename the group or the host',
      );
    members.forEach((m, i) => {
      if (!names.has(m))
        throw configErrorAt(
          file,
          ['groups', group, i],
          `group "${group}" names unknown host "${m}"`,
          `known hosts: ${[...names].join(', ')}`,
        );
    });
  }
  const a = inv.alerts ?? {};
  return {
    path: file.path,
    hosts,
    groups,
    hostKeyPolicy: inv.host_key_policy ?? d.host_key_policy,
    knownHostsFile: inv.known_hosts_file ? fromFile(inv.known_hosts_file) : undefined,
    digitalocean: inv.digitalocean,
    newHost,
    keepRuns: inv.keep_runs ?? DEFAULT_KEEP_RUNS,
    thresholds: {
      memAvailableMb: a.mem_available_mb ?? DEFAULT_THRESHOLDS.memAvailableMb,
      diskFreeGb: a.disk_free_gb ?? DEFAULT_THRESHOLDS.diskFreeGb,
      cpuPct: a.cpu_pct ?? DEFAULT_THRESHOLDS.cpuPct,
      cpuSustainedS: a.cpu_sustained_s ?? DEFAULT_THRESHOLDS.cpuSustainedS,
      phaseWarningPct: a.phase_warning_pct ?? DEFAULT_THRESHOLDS.phaseWarningPct,
      phaseCriticalPct: a.phase_critical_pct ?? DEFAULT_THRESHOLDS.phaseCriticalPct,
    },
  };
}

/** --limit: host names, group names, or comma lists of them (repeatable). */
/** The hosts --limit names (all without it), then this runner's part of them under --shard i/n. */
export function selectHosts(inv: Inventory, limits: readonly string[] | undefined, shard?: Shard): HostSpec[] {
  return pickShard(limitHosts(inv, limits), shard, (h) => h.name);
}

function limitHosts(inv: Inventory, limits: readonly string[] | undefined): HostSpec[] {
  const wanted = (limits ?? [])
    .flatMap((l) => l.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (wanted.length === 0) return inv.hosts;
  const byName = new Map(inv.hosts.map((h) => [h.name, h]));
  const chosen = new Set<string>();
  for (const w of wanted) {
    if (byName.has(w)) chosen.add(w);
    else if (inv.groups[w]) inv.groups[w]!.forEach((m) => chosen.add(m));
    else {
      throw new ConfigError(
        `--limit: "${w}" is neither a host nor a group of ${inv.path}`,
        `known hosts: ${[...byName.keys()].join(', ')}; groups: ${Object.keys(inv.groups).join(', ') || 'none'}`,
        inv.path,
      );
    }
  }
  return inv.hosts.filter((h) => chosen.has(h.name));
}
