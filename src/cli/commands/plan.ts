// vps-provision plan: a dry run: for every host, phase and step what would change, and how.
import type { CommandModule } from 'yargs';
import { loadRunContext, type CommonArgs } from '../run-context.js';
import { executeRun } from '../execute-run.js';

interface Args extends CommonArgs { onlyPhase?: string[]; skipPhase?: string[]; force: boolean }

export const planCommand: CommandModule<CommonArgs, Args> = {
  command: 'plan',
  describe: 'Dry run: show what would change and the exact commands; changes nothing',
  builder: (y) => y
    .option('only-phase', { type: 'string', array: true, describe: 'plan only these phases' })
    .option('skip-phase', { type: 'string', array: true, describe: 'leave out these phases' })
    .option('force', { type: 'boolean', default: false, describe: 'include phases that have a checkpoint' })
    .example('$0 plan --limit droplet-1', 'what provision would do on droplet-1') as never,
  handler: async (args) => {
    const ctx = loadRunContext(args, { only: args.onlyPhase, skip: args.skipPhase });
    process.exitCode = (await executeRun(args, ctx, 'plan', args.force)).code;
  },
};
