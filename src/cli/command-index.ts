// Every command's name, usage and one-line description, the one owner of them: the command
// modules hold only options and handlers, and are imported when the command line names them
// (they pull in ssh2, the engine, reports, listr2, the cloud client). Top-level --help and
// the unknown-command message are built from this table alone.
import type { CommandModule } from 'yargs';

export type LoadedCommand = CommandModule<never, never>;

interface CommandEntry {
  /** yargs usage: name and positionals */
  command: string;
  describe: string;
  load: () => Promise<LoadedCommand>;
}

const as = (m: unknown) => m as LoadedCommand;

export const COMMAND_INDEX: Record<string, CommandEntry> = {
  provision: {
    command: 'provision',
    describe: 'Bring hosts to the state the playbooks describe (phases done before are skipped)',
    load: async () => as((await import('./commands/provision.js')).provisionCommand),
  },
  run: {
    command: 'run [phase]',
    describe: 'Re-run one phase now, ignoring its checkpoint',
    load: async () => as((await import('./commands/run.js')).runCommand),
  },
  plan: {
    command: 'plan',
    describe:
      'Dry run: every selected phase (checkpointed or not), what would change and the exact commands; writes nothing on the hosts',
    load: async () => as((await import('./commands/plan.js')).planCommand),
  },
  check: {
    command: 'check',
    describe: 'Preflight: reachability, authentication, sudo, OS, disk, memory and the external sources of each host',
    load: async () => as((await import('./commands/check.js')).checkCommand),
  },
  hosts: {
    command: 'hosts',
    describe:
      'Show the hosts as they will be used: address, port, user, keys, jump host, state dir, host key policy (ssh_config applied)',
    load: async () => as((await import('./commands/hosts.js')).hostsCommand),
  },
  report: {
    command: 'report <command>',
    describe: 'Fetch and merge run reports; compare runs; prune old runs',
    load: async () => as((await import('./commands/report.js')).reportCommand),
  },
  bench: {
    command: 'bench',
    describe: 'Benchmark each host (CPU, disk, network) and compare with its baseline',
    load: async () => as((await import('./commands/bench.js')).benchCommand),
  },
  up: {
    command: 'up <name>',
    describe: 'Create a DigitalOcean droplet (or find it by name and tag), wait until it answers, provision it',
    load: async () => as((await import('./commands/up.js')).upCommand),
  },
  down: {
    command: 'down <name>',
    describe: 'Destroy a droplet that carries the tag, and forget its host key',
    load: async () => as((await import('./commands/down.js')).downCommand),
  },
  droplets: {
    command: 'droplets',
    describe: 'List the droplets that carry the tag (name, address, region, size, monthly price)',
    load: async () => as((await import('./commands/droplets.js')).dropletsCommand),
  },
  snapshot: {
    command: 'snapshot <name>',
    describe: 'Snapshot a droplet that carries the tag and wait until it is done',
    load: async () => as((await import('./commands/snapshot.js')).snapshotCommand),
  },
  connect: {
    command: 'connect <name>',
    describe: "The remote desktop through an SSH tunnel: a local port to the droplet's RDP, held until Ctrl-C",
    load: async () => as((await import('./commands/connect.js')).connectCommand),
  },
};

/**
 * The commands for yargs: those whose name is one of the command line's words are imported
 * (with the index's usage and description); the others are described only, enough for
 * top-level --help, and never run (a command yargs would run is always named). Shell
 * completion imports all (it completes the options of every command).
 */
export async function commandModules(args: readonly string[]): Promise<LoadedCommand[]> {
  const all = args.some((a) => a.startsWith('--get-yargs-completions'));
  return Promise.all(
    Object.entries(COMMAND_INDEX).map(async ([name, entry]): Promise<LoadedCommand> => {
      const head = { command: entry.command, describe: entry.describe };
      if (!all && !args.includes(name)) return { ...head, handler: () => undefined };
      return { ...(await entry.load()), ...head };
    }),
  );
}
