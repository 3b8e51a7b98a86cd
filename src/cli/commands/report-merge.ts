// vps-provision report merge RUN...: the run folders of one run split with --shard (one
// per CI runner) -> one run folder and report, as if one run had done every host.
import type { CommandModule } from 'yargs';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadInventory } from '../../config/inventory.js';
import { newRunId } from '../../engine/fleet-runner.js';
import { mergeRunFolders } from '../../report/merge-run-folders.js';
import { isRunId, runDirPath } from '../../report/report-paths.js';
import { ConfigError } from '../../errors.js';
import type { CommonArgs } from '../run-context.js';
import { terminalLine } from '../ui/terminal-text.js';
import { jsonText } from '../ui/json-output.js';

/** A run id of the reports dir, or the path of a run folder. */
function runFolder(reportsDir: string, ref: string): string {
  const candidates = [ref, ...(isRunId(ref) ? [runDirPath(reportsDir, ref)] : [])];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isDirectory());
  if (!found)
    throw new ConfigError(
      `report merge: no run folder "${ref}"`,
      `give run ids from ${reportsDir}/ or paths of run folders (e.g. the reports/<run-id> of each shard's CI artifact)`,
      ref,
    );
  return found;
}

export const mergeCommand: CommandModule<CommonArgs, CommonArgs & { runs: string[] }> = {
  command: 'merge <runs..>',
  describe:
    'Merge the run folders of one run split with --shard (e.g. one per CI runner) into one run folder and report',
  builder: (y) =>
    y.positional('runs', {
      type: 'string',
      array: true,
      describe: 'run ids (in --reports-dir) or run folders',
    }) as never,
  handler: async (args) => {
    const reportsDir = args.reportsDir ?? 'reports';
    const dirs = args.runs.map((r) => runFolder(reportsDir, String(r)));
    // thresholds for hosts without run.json: the inventory's when there is one
    const thresholds = existsSync(args.inventory) ? loadInventory(args.inventory).thresholds : undefined;
    const merged = await mergeRunFolders(dirs, reportsDir, newRunId, { thresholds });
    const warnings = merged.report.hosts.flatMap((h) => h.warnings);
    if (args.json) {
      process.stdout.write(
        `${jsonText({ runId: merged.runId, mergedFrom: merged.mergedFrom, hosts: merged.report.summary.hosts, ...merged.files, warnings })}\n`,
      );
      return;
    }
    for (const w of warnings) process.stdout.write(`warning: ${terminalLine(w)}\n`);
    process.stdout.write(
      `run ${merged.runId}: ${merged.report.summary.hosts} host(s) from ${merged.mergedFrom.map((id) => terminalLine(id)).join(', ')}\n`,
    );
    process.stdout.write(`report: ${join(merged.files.dir, 'report.html')}\n`);
  },
};
