// vps-provision provision: all phases (or a selection), in order, hosts in parallel.
import type { CommandModule } from 'yargs';
import { loadRunContext, type CommonArgs } from '../run-context.js';
import { executeRun, confirm } from '../execute-run.js';
import { yesOption, rebootOption, sourceCheckBeforeChangeOption } from '../options.js';

interface Args extends CommonArgs {
  onlyPhase?: string[];
  skipPhase?: string[];
  force: boolean;
  yes: boolean;
  reboot: boolean;
  skipSourceCheck: boolean;
}

export const provisionCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .option('only-phase', {
        type: 'string',
        array: true,
        describe: 'run only these phases (repeatable, or comma list)',
      })
      .option('skip-phase', { type: 'string', array: true, describe: 'leave out these phases' })
      .option('force', { type: 'boolean', default: false, describe: 'ignore checkpoints: check every phase again' })
      .option('yes', yesOption)
      .option('reboot', rebootOption)
      .option('skip-source-check', sourceCheckBeforeChangeOption)
      .example('$0 provision -i inventory/hosts.yml --yes', 'provision every host')
      .example('$0 provision --limit web --skip-phase desktop', 'one group, without the desktop') as never,
  handler: async (args) => {
    const ctx = await loadRunContext(args, { only: args.onlyPhase, skip: args.skipPhase });
    await confirm(`provision ${ctx.hosts.length} host(s) (${ctx.hosts.map((h) => h.host.name).join(', ')})`, args.yes);
    process.exitCode = (
      await executeRun(args, ctx, 'apply', args.force, { reboot: args.reboot, skipSourceCheck: args.skipSourceCheck })
    ).code;
  },
};
