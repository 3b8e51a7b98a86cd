// vps-provision run <phase>: re-run one phase now, ignoring its checkpoint.
import type { CommandModule } from 'yargs';
import { loadRunContext, type CommonArgs } from '../run-context.js';
import { executeRun, confirm } from '../execute-run.js';
import { loadPlaybook } from '../../config/playbook.js';
import { ConfigError } from '../../errors.js';
import { resolve } from 'node:path';
import { yesOption, rebootOption, sourceCheckBeforeChangeOption } from '../options.js';

interface Args extends CommonArgs {
  phase?: string;
  yes: boolean;
  reboot: boolean;
  skipSourceCheck: boolean;
}

export const runCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .positional('phase', { type: 'string', describe: 'phase name (see site.yml); without it the phases are listed' })
      .option('yes', yesOption)
      .option('reboot', rebootOption)
      .option('skip-source-check', sourceCheckBeforeChangeOption)
      .example('$0 run rdp --limit droplet-1 --yes', 'only the rdp phase on droplet-1') as never,
  handler: async (args) => {
    if (!args.phase) {
      const pb = loadPlaybook(args.playbooks);
      throw new ConfigError(
        `run: name a phase: ${pb.phases.map((p) => p.name).join(', ')}`,
        `e.g. vps-provision run ${pb.phases[0]?.name ?? '<phase>'} --limit <host>`,
        resolve(pb.dir, 'site.yml'),
      );
    }
    const ctx = await loadRunContext(args, { only: [args.phase], onlyLabel: 'run' });
    await confirm(
      `run phase ${args.phase} on ${ctx.hosts.length} host(s) (${ctx.hosts.map((h) => h.host.name).join(', ')})`,
      args.yes,
    );
    process.exitCode = (
      await executeRun(args, ctx, 'apply', true, { reboot: args.reboot, skipSourceCheck: args.skipSourceCheck })
    ).code;
  },
};
