// vps-provision bench: CPU, disk and network figures of each host, saved per host and
// compared with the saved baseline (the same 20 % rule as runs).
import { resolveStateDir } from '../../engine/host-session.js';
import type { CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { loadInventory, selectHosts } from '../../config/inventory.js';
import { onEachHost, preparedConnector, hostFailureText } from '../each-host.js';
import { benchmarkCommand } from '../../monitor/benchmark-commands.js';
import { newRunId } from '../../engine/fleet-runner.js';
import {
  parseBenchmarkOutput,
  compareBenchmarks,
  saveBenchmarkResult,
  loadBenchmarkResult,
  benchmarkResultPath,
  BENCHMARK_METRICS,
  type BenchmarkResult,
  type BenchmarkComparison,
} from '../../report/benchmark-results.js';
import { ConfigError } from '../../errors.js';
import type { CommonArgs } from '../run-context.js';
import { makePaint, colorWanted } from '../ui/color.js';
import { EXIT } from '../exit-codes.js';
import { terminalLine } from '../ui/terminal-text.js';
import { jsonText } from '../ui/json-output.js';

interface Args extends CommonArgs {
  saveBaseline: boolean;
  url?: string;
  diskMb: number;
  failOnRegression: boolean;
}

export const benchCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .option('save-baseline', { type: 'boolean', default: false, describe: 'also save these results as the baseline' })
      .option('url', { type: 'string', describe: 'file to download for the network test (none: skipped)' })
      .option('disk-mb', { type: 'number', default: 256, describe: 'size of the disk test file' })
      .option('fail-on-regression', {
        type: 'boolean',
        default: false,
        describe: 'exit 2 when a metric regressed more than 20 %',
      })
      .example(
        '$0 bench --url http://mirror.example/100M.bin --save-baseline',
        'measure and keep as baseline',
      ) as never,
  handler: async (args) => {
    if (args.url && !/^https?:\/\/[^\s'"]+$/.test(args.url))
      throw new ConfigError(`--url ${args.url}: not an http(s) URL`, 'give a URL such as https://host/file');
    if (!(args.diskMb >= 1 && args.diskMb <= 100_000))
      throw new ConfigError(`--disk-mb ${args.diskMb}: out of range`, 'give a size in MiB between 1 and 100000');
    const inv = loadInventory(args.inventory);
    const hosts = selectHosts(inv, args.limit, args.shard);
    const reportsDir = args.reportsDir ?? 'reports';
    const label = newRunId();
    const connector = await preparedConnector(
      inv,
      args,
      hosts.map((h) => h.name),
    );
    const results = await onEachHost(
      connector,
      hosts,
      { concurrency: args.concurrency },
      async (
        conn,
        h,
      ): Promise<{ host: string; result?: BenchmarkResult; comparison?: BenchmarkComparison; error?: string }> => {
        const shell = await conn.openShell({ become: h.become });
        await resolveStateDir(shell, h, conn.loginUser);
        const lines: string[] = [];
        await shell.run(
          benchmarkCommand({ workDir: `${h.stateDir}/bench`, diskMb: Math.round(args.diskMb), url: args.url }),
          (l) => lines.push(l),
        );
        shell.close();
        const result = parseBenchmarkOutput(lines.join('\n'), h.name, undefined, {
          url: args.url ?? null,
          diskMb: Math.round(args.diskMb),
          maxTimeS: 30,
        });
        await saveBenchmarkResult(benchmarkResultPath(reportsDir, label, h.name), result);
        const baselinePath = benchmarkResultPath(reportsDir, 'baseline', h.name);
        const comparison = existsSync(baselinePath)
          ? compareBenchmarks(await loadBenchmarkResult(baselinePath), result)
          : undefined;
        if (args.saveBaseline) await saveBenchmarkResult(baselinePath, result);
        return { host: h.name, result, comparison };
      },
      (h, err) => ({ host: h.name, error: hostFailureText(err) }),
    );
    if (args.json) {
      process.stdout.write(`${jsonText({ label, hosts: results })}\n`);
    } else {
      const paint = makePaint(colorWanted(args.color, process.stdout));
      for (const r of results) {
        if (r.error) {
          process.stdout.write(`${paint.bold(r.host)} ${paint.red('failed')}: ${terminalLine(r.error)}\n`);
          continue;
        }
        const sys = r.result!.system;
        process.stdout.write(
          `${paint.bold(r.host)}${sys ? paint.dim(terminalLine(`  ${sys.cores} cores ${sys.cpuModel}, ${sys.ramMb} MB RAM, ${sys.diskTotalGb} GB ${sys.fs}, kernel ${sys.kernel}`)) : ''}\n`,
        );
        if (r.comparison && !r.comparison.comparable) {
          process.stdout.write(
            `  ${paint.yellow('baseline not comparable')} (figures shown, no verdict): ${terminalLine(r.comparison.mismatches.join('; '))}\n`,
          );
        }
        for (const m of r.result!.metrics) {
          const cmp = r.comparison?.rows.find((x) => x.name === m.name);
          const vs = cmp?.verdict
            ? `  vs baseline ${cmp.baseline} (${cmp.variancePct! > 0 ? '+' : ''}${cmp.variancePct} %) ${cmp.verdict === 'regression' ? paint.red('REGRESSION') : cmp.verdict}`
            : cmp && cmp.baseline !== null && !r.comparison!.comparable
              ? paint.dim(`  (baseline ${cmp.baseline}, not comparable)`)
              : '';
          const value = m.status === 'ok' ? `${m.value} ${m.unit}` : paint.dim(`${m.status}: ${m.detail}`);
          process.stdout.write(`  ${BENCHMARK_METRICS[m.name].label.padEnd(32)} ${value}${vs}\n`);
        }
      }
      process.stdout.write(
        `saved under ${reportsDir}/bench/${label}/${args.saveBaseline ? ` and as ${reportsDir}/bench/baseline/` : ''}\n`,
      );
    }
    const failed = results.some((r) => r.error);
    const regressed = results.some((r) => r.comparison?.hasRegression);
    process.exitCode = failed || (args.failOnRegression && regressed) ? EXIT.failed : EXIT.ok;
  },
};
