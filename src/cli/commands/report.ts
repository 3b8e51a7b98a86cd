// vps-provision report fetch | compare: pull a run's CSVs back from the hosts and merge
// them; compare a run with a baseline (per phase and total, trend over recent runs).
import type { CommandModule, Argv } from 'yargs';
import { existsSync, readdirSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { loadInventory, selectHosts } from '../../config/inventory.js';
import { createSshConnector } from '../../transport/ssh-connector.js';
import { recordReader } from '../../engine/records.js';
import { shQuote } from '../../commands/shell-quote.js';
import { runCsvsScript } from '../../commands/host-scripts.js';
import { buildReport, readReportJson } from '../../report/build-report.js';
import { compareRuns, runTrend, type ComparisonRow } from '../../report/compare-runs.js';
import { ConfigError, ProvisionError } from '../../errors.js';
import type { CommonArgs } from '../run-context.js';
import { makePaint, colorWanted, type Paint } from '../ui/color.js';
import { EXIT } from '../exit-codes.js';
import { terminalText } from '../ui/terminal-text.js';

// 16 hex digits since run ids carry 64 random bits; 4 in runs recorded before
const RUN_ID = /^\d{8}T\d{6}Z-(?:[0-9a-f]{16}|[0-9a-f]{4})$/;

/** Run folders in the reports dir, oldest first. */
function localRuns(reportsDir: string): string[] {
  if (!existsSync(reportsDir)) return [];
  return readdirSync(reportsDir).filter((d) => RUN_ID.test(d) && statSync(join(reportsDir, d)).isDirectory()).sort();
}

/** A run id, a run folder or a report.json path -> the report.json path. */
function reportFile(reportsDir: string, ref: string): string {
  const candidates = [ref, join(ref, 'report.json'), join(reportsDir, ref, 'report.json')];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  if (!found) {
    const known = localRuns(reportsDir).slice(-5).join(', ') || 'none yet';
    throw new ConfigError(`no report found for "${ref}"`, `give a run id from ${reportsDir}/ (recent: ${known}), a run folder or a report.json path; \`report fetch\` makes one`);
  }
  return resolve(found);
}

const fetchCommand: CommandModule<CommonArgs, CommonArgs & { run?: string }> = {
  command: 'fetch',
  describe: "Pull a run's timing and resource CSVs back from the hosts and build reports/<run-id>/",
  builder: (y) => y.option('run', { type: 'string', describe: 'run id (default: the latest run on each host)' }) as never,
  handler: async (args) => {
    const inv = loadInventory(args.inventory);
    const hosts = selectHosts(inv, args.limit);
    const reportsDir = args.reportsDir ?? 'reports';
    if (args.run && !RUN_ID.test(args.run)) throw new ConfigError(`--run ${args.run}: not a run id`, 'run ids look like 20261128T022100Z-a1b2c3d4e5f60718');
    const connector = createSshConnector({ inventory: inv, hostKeyPolicy: args.hostKeyPolicy, sshConfigPath: args.sshConfig });
    await connector.prepare(hosts.map((h) => h.name));
    const limit = pLimit(Math.max(1, args.concurrency));
    const fetched = await Promise.all(hosts.map((h) => limit(async () => {
      let conn;
      try {
        conn = await connector.connect(h.name);
        const shell = await conn.openShell({ become: h.become });
        // one round trip: which run (the given one or the newest), then its two CSVs
        const n = randomBytes(6).toString('hex');
        const runs = `${h.stateDir}/runs`;
        const pick = args.run ? `R=${shQuote(args.run)}` : `R=$(ls -1 ${shQuote(runs)} 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}Z-([0-9a-f]{16}|[0-9a-f]{4})$' | sort | tail -n 1)`;
        const files: Record<string, string> = {};
        let runId = args.run ?? '';
        const probe = `${pick}; printf '\\036%s RUN %s\\n' ${n} "$R"; [ -n "$R" ] || exit 0\n` + runCsvsScript(n, `${shQuote(runs)}/"$R"`);
        await shell.run(probe, recordReader(n, (r) => {
          if (r.tag === 'RUN') runId = r.args[0] ?? '';
          if (r.tag === 'B') files[r.args[0]!] = `${r.body?.replace(/\n+$/, '') ?? ''}\n`;
        }));
        shell.close();
        if (!runId) return { host: h.name, error: `no runs recorded in ${runs}` };
        const dir = join(reportsDir, runId, h.name);
        mkdirSync(dir, { recursive: true });
        if (files.timing) writeFileSync(join(dir, 'timing.csv'), files.timing);
        if (files.resources) writeFileSync(join(dir, 'resources.csv'), files.resources);
        return { host: h.name, runId, files: Object.keys(files) };
      } catch (err) {
        return { host: h.name, error: err instanceof ProvisionError ? `${err.message} (${err.hint})` : String(err) };
      } finally {
        conn?.close();
      }
    })));
    const paint = makePaint(colorWanted(args.color, process.stdout));
    const runIds = [...new Set(fetched.flatMap((f) => (f.runId ? [f.runId] : [])))];
    const built = [];
    for (const id of runIds) built.push(await buildReport(join(reportsDir, id), { thresholds: inv.thresholds }));
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ hosts: fetched, reports: built.map((b) => b.files) }, null, 2)}\n`);
    } else {
      for (const f of fetched) process.stdout.write(f.error ? `${f.host}: ${paint.red('not fetched')}: ${terminalText(f.error)}\n` : `${f.host}: run ${terminalText(f.runId ?? '')}: ${f.files!.join(', ') || 'no CSVs'}\n`);
      for (const b of built) process.stdout.write(`report: ${b.files.reportHtml}\n`);
    }
    process.exitCode = fetched.every((f) => !f.error) ? EXIT.ok : EXIT.failed;
  },
};

function row(name: string, r: ComparisonRow, paint: Paint): string {
  const v = r.variancePct === null ? 'n/a' : `${r.variancePct > 0 ? '+' : ''}${r.variancePct.toFixed(1)} %`;
  const verdict = r.verdict === 'regression' ? paint.red('REGRESSION') : r.verdict === 'improved' ? paint.green('improved') : 'accepted';
  return `  ${name.padEnd(22)} ${r.baseline.toFixed(2).padStart(9)} s ${r.current.toFixed(2).padStart(9)} s ${v.padStart(10)}  ${verdict}`;
}

const compareCommand: CommandModule<CommonArgs, CommonArgs & { baseline: string; run?: string; failOnRegression: boolean; tolerance: number; trend: number }> = {
  command: 'compare <baseline> [run]',
  describe: 'Compare a run with a baseline: per phase and total; > 20 % slower is a regression',
  builder: (y) => (y as Argv<CommonArgs>)
    .positional('baseline', { type: 'string', demandOption: true, describe: 'run id, run folder or report.json' })
    .positional('run', { type: 'string', describe: 'run to judge (default: the latest in the reports dir)' })
    .option('fail-on-regression', { type: 'boolean', default: false, describe: 'exit 2 when a regression is found' })
    .option('tolerance', { type: 'number', default: 20, describe: 'percent slower still accepted' })
    .option('trend', { type: 'number', default: 5, describe: 'show the trend over this many recent runs (0: none)' }) as never,
  handler: async (args) => {
    const reportsDir = args.reportsDir ?? 'reports';
    const runRef = args.run ?? localRuns(reportsDir).at(-1);
    if (!runRef) throw new ConfigError(`no runs in ${reportsDir}/`, 'provision or `report fetch` first, or name the run');
    const baseline = await readReportJson(reportFile(reportsDir, args.baseline));
    const current = await readReportJson(reportFile(reportsDir, runRef));
    const cmp = compareRuns(baseline, current, { tolerancePct: args.tolerance });
    const recent = args.trend > 0 ? localRuns(reportsDir).slice(-args.trend).map((id) => join(reportsDir, id, 'report.json')).filter((f) => existsSync(f)) : [];
    const trend = recent.length >= 2 ? runTrend(await Promise.all(recent.map((f) => readReportJson(f))), { tolerancePct: args.tolerance }) : undefined;
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...cmp, trend }, null, 2)}\n`);
    } else {
      const paint = makePaint(colorWanted(args.color, process.stdout));
      const out = [`run ${cmp.runId} against baseline ${cmp.baselineRunId} (tolerance ${cmp.tolerancePct} %)`, `  ${'phase'.padEnd(22)} ${'baseline'.padStart(11)} ${'run'.padStart(11)} ${'variance'.padStart(10)}`];
      for (const p of cmp.phases) out.push(row(p.name, p, paint));
      if (cmp.total) out.push(row('total', cmp.total, paint));
      if (cmp.unmatched.length) out.push(`  measured in one run only: ${cmp.unmatched.join(', ')}`);
      out.push(cmp.hasRegression ? paint.red(`${cmp.regressions} regression(s)`) : paint.green('no regression'));
      if (trend) {
        out.push('', `trend over ${trend.labels.length} runs (${trend.labels[0]} .. ${trend.labels.at(-1)}):`);
        for (const s of trend.series) out.push(`  ${s.name.padEnd(22)} ${s.values.map((v) => (v === null ? '-' : v.toFixed(1))).join(' -> ')}${s.changePct === null ? '' : `  (${s.changePct > 0 ? '+' : ''}${s.changePct} %)`}`);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    }
    process.exitCode = args.failOnRegression && cmp.hasRegression ? EXIT.failed : EXIT.ok;
  },
};

export const reportCommand: CommandModule<CommonArgs, CommonArgs> = {
  command: 'report <command>',
  describe: 'Fetch and merge run reports; compare runs',
  builder: (y) => y.command(fetchCommand as never).command(compareCommand as never).demandCommand(1) as never,
  handler: () => undefined,
};
