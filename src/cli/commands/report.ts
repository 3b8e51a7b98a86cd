// vps-provision report fetch | merge | compare | prune: pull a run's CSVs back from the hosts
// and merge them; merge the runs of --shard parts (report-merge.ts); compare a run with a
// baseline (per phase and total, trend over recent runs).
import { resolveStateDir } from '../../engine/host-session.js';
import type { CommandModule, Argv } from 'yargs';
import { existsSync, readdirSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadInventory, selectHosts } from '../../config/inventory.js';
import { onEachHost, preparedConnector, hostFailureText } from '../each-host.js';
import { recordReader } from '../../engine/records.js';
import { fetchRunScript, RUN_FILES, type RunFileName } from '../../shell/host-scripts.js';
import { isRunId, runDirPath, hostDirPath, RUN_ID_ERE } from '../../report/report-paths.js';
import type { WrittenReport } from '../../report/write-report.js';
import type { Connection } from '../../transport/connection.js';
import { DEFAULT_KEEP_RUNS, type HostSpec } from '../../config/inventory.js';
import { buildReport, readReportJson } from '../../report/build-report.js';
import {
  compareRuns,
  runTrend,
  isCompletedRun,
  samePhases,
  pickLatestComparable,
  DEFAULT_MIN_DELTA_S,
  DEFAULT_TOLERANCE_PCT,
  type ComparisonRow,
  type Trend,
} from '../../report/compare-runs.js';
import type { RunReport } from '../../report/merge-hosts.js';
import { pruneLocalRuns, checkKeep } from '../../report/prune-runs.js';
import { ConfigError, ProvisionError } from '../../errors.js';
import type { CommonArgs } from '../run-context.js';
import { makePaint, colorWanted, type Paint } from '../ui/color.js';
import { EXIT } from '../exit-codes.js';
import { terminalLine } from '../ui/terminal-text.js';
import { jsonText } from '../ui/json-output.js';
import { mergeCommand } from './report-merge.js';

/** Run folders in the reports dir, oldest first. */
function localRuns(reportsDir: string): string[] {
  if (!existsSync(reportsDir)) return [];
  return readdirSync(reportsDir)
    .filter((d) => isRunId(d) && statSync(join(reportsDir, d)).isDirectory())
    .sort();
}

/** A run id, a run folder or a report.json path -> the report.json path. */
function reportFile(reportsDir: string, ref: string): string {
  const candidates = [
    ref,
    join(ref, 'report.json'),
    ...(isRunId(ref) ? [join(runDirPath(reportsDir, ref), 'report.json')] : []),
  ];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  if (!found) {
    const known = localRuns(reportsDir).slice(-5).join(', ') || 'none yet';
    throw new ConfigError(
      `no report found for "${ref}"`,
      `give a run id from ${reportsDir}/ (recent: ${known}), a run folder or a report.json path; \`report fetch\` makes one`,
    );
  }
  return resolve(found);
}

interface FetchedHost {
  host: string;
  runId?: string;
  files?: string[];
  error?: string;
}

/** One round trip per host: which run (the given one or the newest), then its files. */
async function fetchHost(
  conn: Connection,
  h: HostSpec,
  reportsDir: string,
  wanted: string | undefined,
): Promise<FetchedHost> {
  const shell = await conn.openShell({ become: h.become });
  await resolveStateDir(shell, h, conn.loginUser);
  const n = randomBytes(6).toString('hex');
  const runs = `${h.stateDir}/runs`;
  const files: Partial<Record<RunFileName, string>> = {};
  let answered: string | undefined;
  const probe = fetchRunScript(n, runs, wanted, RUN_ID_ERE);
  await shell.run(
    probe,
    recordReader(n, (r) => {
      if (r.tag === 'RUN') answered = r.args[0] ?? '';
      if (r.tag === 'B' && (RUN_FILES as readonly string[]).includes(r.args[0] ?? ''))
        files[r.args[0] as RunFileName] = `${r.body?.replace(/\n+$/, '') ?? ''}\n`;
    }),
  );
  shell.close();
  if (!answered)
    return {
      host: h.name,
      error: wanted ? `run ${wanted} is not recorded in ${runs}` : `no runs recorded in ${runs}`,
    };
  // the host's answer is data: a run id or nothing, and the one asked for
  if (!isRunId(answered) || (wanted && answered !== wanted))
    return {
      host: h.name,
      error: `the host answered ${JSON.stringify(answered.slice(0, 80))}, not a run id: ignored`,
    };
  const names = Object.keys(files) as RunFileName[];
  if (!names.length)
    return { host: h.name, runId: answered, files: [], error: `run ${answered} has no files on the host` };
  const dir = hostDirPath(reportsDir, answered, h.name);
  mkdirSync(dir, { recursive: true });
  for (const f of names) writeFileSync(join(dir, f), files[f]!);
  return { host: h.name, runId: answered, files: names.sort() };
}

const fetchCommand: CommandModule<CommonArgs, CommonArgs & { run?: string }> = {
  command: 'fetch',
  describe: "Pull a run's files (CSVs and the run's record) back from the hosts and build reports/<run-id>/",
  builder: (y) =>
    y.option('run', { type: 'string', describe: 'run id (default: the latest run on each host)' }) as never,
  handler: async (args) => {
    const inv = loadInventory(args.inventory);
    const hosts = selectHosts(inv, args.limit, args.shard);
    const reportsDir = args.reportsDir ?? 'reports';
    if (args.run !== undefined && !isRunId(args.run))
      throw new ConfigError(`--run ${args.run}: not a run id`, 'run ids look like 20261128T022100Z-a1b2c3d4e5f60718');
    const connector = await preparedConnector(
      inv,
      args,
      hosts.map((h) => h.name),
    );
    const fetched = await onEachHost(
      connector,
      hosts,
      { concurrency: args.concurrency },
      (conn, h) => fetchHost(conn, h, reportsDir, args.run),
      (h, err): FetchedHost => ({ host: h.name, error: hostFailureText(err) }),
    );
    const paint = makePaint(colorWanted(args.color, process.stdout));
    const runIds = [...new Set(fetched.flatMap((f) => (f.runId && f.files?.length ? [f.runId] : [])))];
    const built: { runId: string; files?: WrittenReport; warnings: string[]; error?: string }[] = [];
    for (const id of runIds) {
      try {
        const b = await buildReport(runDirPath(reportsDir, id), { thresholds: inv.thresholds });
        built.push({ runId: id, files: b.files, warnings: b.report.hosts.flatMap((h) => h.warnings) });
      } catch (err) {
        built.push({
          runId: id,
          warnings: [],
          error: err instanceof ProvisionError ? `${err.message} (${err.hint})` : String(err),
        });
      }
    }
    if (args.json) {
      process.stdout.write(
        `${jsonText({ hosts: fetched, reports: built.map((b) => ({ runId: b.runId, ...(b.files ?? {}), warnings: b.warnings, error: b.error })) })}\n`,
      );
    } else {
      for (const f of fetched) {
        process.stdout.write(
          f.error
            ? `${f.host}: ${paint.red('not fetched')}: ${termLine(f.error)}\n`
            : `${f.host}: run ${f.runId}: ${f.files!.join(', ')}\n`,
        );
      }
      for (const b of built) {
        for (const w of b.warnings) process.stdout.write(`${paint.yellow('warning')}: ${termLine(w)}\n`);
        process.stdout.write(
          b.files
            ? `report: ${b.files.reportHtml}\n`
            : `run ${b.runId}: ${paint.red('no report')}: ${termLine(b.error ?? '')}\n`,
        );
      }
    }
    process.exitCode = fetched.every((f) => !f.error) && built.every((b) => !b.error) ? EXIT.ok : EXIT.failed;
  },
};

const termLine = terminalLine;

const secs = (v: number) => `${v.toFixed(2)} s`;

function row(name: string, r: ComparisonRow, paint: Paint): string {
  const v = r.variancePct === null ? 'n/a' : `${r.variancePct > 0 ? '+' : ''}${r.variancePct.toFixed(1)} %`;
  const verdict =
    r.verdict === 'regression'
      ? paint.red('REGRESSION')
      : r.verdict === 'improved'
        ? paint.green('improved')
        : 'accepted';
  return `  ${name.padEnd(22)} ${secs(r.baseline).padStart(11)} ${secs(r.current).padStart(11)} ${v.padStart(10)}  ${verdict}`;
}

/** Reads report.json of a local run, or undefined when it has none or a damaged one. */
async function tryReport(reportsDir: string, id: string): Promise<RunReport | undefined> {
  const f = join(runDirPath(reportsDir, id), 'report.json');
  if (!existsSync(f)) return undefined;
  return readReportJson(f).catch(() => undefined);
}

interface CompareArgs extends CommonArgs {
  baseline: string;
  run?: string;
  failOnRegression: boolean;
  tolerance: number;
  minDeltaS: number;
  trend: number;
}

const compareCommand: CommandModule<CommonArgs, CompareArgs> = {
  command: 'compare <baseline> [run]',
  describe: 'Compare a run with a baseline: per phase and total; > 20 % and > 1 s slower is a regression',
  builder: (y) =>
    (y as Argv<CommonArgs>)
      .positional('baseline', { type: 'string', demandOption: true, describe: 'run id, run folder or report.json' })
      .positional('run', {
        type: 'string',
        describe: 'run to judge (default: the latest completed run of the same phases)',
      })
      .option('fail-on-regression', { type: 'boolean', default: false, describe: 'exit 2 when a regression is found' })
      .option('tolerance', {
        type: 'number',
        default: DEFAULT_TOLERANCE_PCT,
        describe: 'percent slower still accepted',
      })
      .option('min-delta-s', {
        type: 'number',
        default: DEFAULT_MIN_DELTA_S,
        describe: 'seconds slower still accepted, whatever the percent',
      })
      .option('trend', {
        type: 'number',
        default: 5,
        describe: 'show the trend over this many recent comparable runs (0: none)',
      }) as never,
  handler: async (args) => {
    const reportsDir = args.reportsDir ?? 'reports';
    if (!(args.tolerance >= 0))
      throw new ConfigError(`--tolerance ${args.tolerance}: not a percentage >= 0`, 'e.g. --tolerance 20');
    if (!(args.minDeltaS >= 0))
      throw new ConfigError(`--min-delta-s ${args.minDeltaS}: not a number of seconds >= 0`, 'e.g. --min-delta-s 1');
    const rule = { tolerancePct: args.tolerance, minDeltaS: args.minDeltaS };
    const baseline = await readReportJson(reportFile(reportsDir, args.baseline));
    const ids = localRuns(reportsDir).reverse();
    let current: RunReport | undefined;
    if (args.run) current = await readReportJson(reportFile(reportsDir, args.run));
    else {
      for (const id of ids) {
        const r = await tryReport(reportsDir, id);
        if (r && pickLatestComparable(baseline, [r])) {
          current = r;
          break;
        }
      }
      if (!current) {
        throw new ConfigError(
          `no completed run of the same phases as ${baseline.runId} in ${reportsDir}/ to compare with`,
          `runs that skipped every phase, failed on every host or ran other phases (${baseline.phaseNames.join(', ')}) are passed over; name the run to compare`,
        );
      }
    }
    const cmp = compareRuns(baseline, current, rule);
    let trend: Trend | undefined;
    if (args.trend > 0) {
      const recent: RunReport[] = [];
      for (const id of ids) {
        if (recent.length >= args.trend) break;
        const r = await tryReport(reportsDir, id);
        if (r && isCompletedRun(r) && samePhases(baseline, r)) recent.push(r);
      }
      if (recent.length >= 2) trend = runTrend(recent, rule);
    }
    if (args.json) {
      process.stdout.write(`${jsonText({ ...cmp, trend })}\n`);
    } else {
      const paint = makePaint(colorWanted(args.color, process.stdout));
      const out = [
        `run ${cmp.runId} against baseline ${cmp.baselineRunId} (a regression is > ${cmp.tolerancePct} % and > ${cmp.minDeltaS} s slower)`,
        `  ${'phase'.padEnd(22)} ${'baseline'.padStart(11)} ${'run'.padStart(11)} ${'variance'.padStart(10)}`,
      ];
      for (const p of cmp.phases) out.push(row(termLine(p.name), p, paint));
      if (cmp.total) out.push(row('total', cmp.total, paint));
      if (cmp.unmatched.length) out.push(`  measured in one run only: ${termLine(cmp.unmatched.join(', '))}`);
      out.push(cmp.hasRegression ? paint.red(`${cmp.regressions} regression(s)`) : paint.green('no regression'));
      if (trend) {
        out.push(
          '',
          `trend over ${trend.labels.length} runs (${trend.labels[0]} .. ${trend.labels.at(-1)}), durations in seconds:`,
        );
        for (const t of trend.series) {
          const values = t.values.map((v) => (v === null ? '-' : `${v.toFixed(1)} s`)).join(' -> ');
          out.push(
            `  ${termLine(t.name).padEnd(22)} ${values}${t.changePct === null ? '' : `  (${t.changePct > 0 ? '+' : ''}${t.changePct} % first to last)`}`,
          );
        }
      }
      process.stdout.write(`${out.join('\n')}\n`);
    }
    process.exitCode = args.failOnRegression && cmp.hasRegression ? EXIT.failed : EXIT.ok;
  },
};

const pruneCommand: CommandModule<CommonArgs, CommonArgs & { keep?: number; dryRun: boolean }> = {
  command: 'prune',
  describe: `Delete all but the newest runs in the reports dir (keep_runs of the inventory, else ${DEFAULT_KEEP_RUNS}); runs holding a .keep file stay`,
  builder: (y) =>
    y
      .option('keep', {
        type: 'number',
        describe: `runs to keep (default: --keep-runs, keep_runs of the inventory, else ${DEFAULT_KEEP_RUNS})`,
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'only list what would be deleted' }) as never,
  handler: async (args) => {
    const reportsDir = args.reportsDir ?? 'reports';
    let keep = args.keep ?? args.keepRuns;
    if (keep === undefined)
      keep = existsSync(args.inventory) ? loadInventory(args.inventory).keepRuns : DEFAULT_KEEP_RUNS;
    checkKeep(keep, args.keep !== undefined ? '--keep' : '--keep-runs');
    const r = await pruneLocalRuns(reportsDir, keep, { dryRun: args.dryRun });
    if (args.json) process.stdout.write(`${jsonText({ reportsDir, keep, dryRun: args.dryRun, ...r })}\n`);
    else {
      const verb = args.dryRun ? 'would delete' : 'deleted';
      process.stdout.write(
        `${verb} ${r.removed.length} run(s) in ${reportsDir}/, kept ${r.kept.length}${r.pinned.length ? ` and ${r.pinned.length} marked .keep` : ''}\n`,
      );
      for (const id of r.removed) process.stdout.write(`  ${id}\n`);
    }
  },
};

export const reportCommand: CommandModule<CommonArgs, CommonArgs> = {
  builder: (y) =>
    y
      .command(fetchCommand as never)
      .command(mergeCommand as never)
      .command(compareCommand as never)
      .command(pruneCommand as never)
      .demandCommand(1) as never,
  handler: () => undefined,
};
