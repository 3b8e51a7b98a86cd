// vps-provision plan: a dry run: for every host, phase and step what would change, and how.
import type { CommandModule } from 'yargs';
import { loadRunContext, type CommonArgs } from '../run-context.js';
import { executeRun } from '../execute-run.js';

interface Args extends CommonArgs {
  onlyPhase?: string[];
  skipPhase?: string[];
  force: boolean;
  skipSourceCheck: boolean;
}

export const planCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .option('only-phase', { type: 'string', array: true, describe: 'plan only these phases' })
      .option('skip-phase', { type: 'string', array: true, describe: 'leave out these phases' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'accepted for symmetry with provision: a plan always evaluates every phase, checkpointed or not',
      })
      .option('skip-source-check', {
        type: 'boolean',
        default: false,
        describe:
          'do not check that every key, apt repository and .deb URL of the selected phases resolves from each host (a plan says which would stop provision)',
      })
      .example('$0 plan --limit droplet-1', 'what provision would do on droplet-1') as never,
  handler: async (args) => {
    const ctx = await loadRunContext(args, { only: args.onlyPhase, skip: args.skipPhase });
    process.exitCode = (
      await executeRun(args, ctx, 'plan', args.force, { skipSourceCheck: args.skipSourceCheck })
    ).code;
  },
};
