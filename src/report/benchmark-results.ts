// Benchmark results: a pure parser of benchmark.sh output, the comparison with a
// baseline (same 20 % rule as runs; throughputs are better higher, latency lower),
// and one JSON file per host.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as z from '../zod.js';
import { ConfigError } from '../errors.js';
import { classifyChange, DEFAULT_TOLERANCE_PCT, type Verdict } from './compare-runs.js';

export const BENCHMARK_METRICS = {
  cpu: { unit: 'ops/s', higherIsBetter: true, label: 'CPU (sha256 of 1 MiB, 1 core)' },
  disk_write: { unit: 'MB/s', higherIsBetter: true, label: 'disk write' },
  disk_read: { unit: 'MB/s', higherIsBetter: true, label: 'disk read' },
  net_download: { unit: 'Mbps', higherIsBetter: true, label: 'network download' },
  net_latency: { unit: 'ms', higherIsBetter: false, label: 'network latency (TCP connect)' },
} as const;
type BenchmarkMetricName = keyof typeof BENCHMARK_METRICS;
const NAMES = Object.keys(BENCHMARK_METRICS) as BenchmarkMetricName[];

const MetricSchema = z.object({
  name: z.enum(NAMES as [BenchmarkMetricName, ...BenchmarkMetricName[]]),
  status: z.enum(['ok', 'skipped', 'failed']),
  value: z.nullable(z.number()),
  unit: z.string(),
  /** how it was measured, or why it was skipped / failed */
  detail: z.string(),
});
type BenchmarkMetric = z.infer<typeof MetricSchema>;

/** The machine the figures were measured on (benchmark.sh's "fact" lines). */
const SystemSchema = z.object({
  kernel: z.string(),
  cpuModel: z.string(),
  cores: z.number(),
  ramMb: z.number(),
  diskTotalGb: z.number(),
  fs: z.string(),
});
type BenchmarkSystem = z.infer<typeof SystemSchema>;

/** How it was measured: the same parameters are needed for a comparison. */
const ParamsSchema = z.object({
  url: z.nullable(z.string()),
  diskMb: z.number(),
  maxTimeS: z.number(),
});
export type BenchmarkParams = z.infer<typeof ParamsSchema>;

const BenchmarkResultSchema = z.object({
  schemaVersion: z.literal(1),
  host: z.string().check(z.minLength(1)),
  at: z.string(),
  /** absent in results of older versions: such a baseline is flagged as not comparable */
  system: z.optional(SystemSchema),
  params: z.optional(ParamsSchema),
  metrics: z.array(MetricSchema),
});
export type BenchmarkResult = z.infer<typeof BenchmarkResultSchema>;

const LINE = /^bench (\S+) (ok|skipped|failed) (\S+) (\S+) ?(.*)$/;

/**
 * Parses benchmark.sh stdout. Lines not starting with "bench " are ignored (stray
 * output); a malformed "bench" line or an unknown metric throws, naming the line.
 */
export function parseBenchmarkOutput(
  stdout: string,
  host: string,
  at: string = new Date().toISOString(),
  params?: BenchmarkParams,
): BenchmarkResult {
  const metrics: BenchmarkMetric[] = [];
  const facts = new Map<string, string>();
  stdout.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const fact = /^fact (\w+) ?(.*)$/.exec(line);
    if (fact) facts.set(fact[1]!, fact[2]!.trim());
    if (!line.startsWith('bench ')) return;
    const m = LINE.exec(line);
    if (!m) throw new Error(`benchmark output of ${host}, line ${i + 1}: cannot parse ${JSON.stringify(line)}`);
    const [, name, status, valueText, unit, detail] = m;
    if (!(name in BENCHMARK_METRICS))
      throw new Error(`benchmark output of ${host}, line ${i + 1}: unknown metric ${JSON.stringify(name)}`);
    let value: number | null = null;
    if (status === 'ok') {
      value = Number(valueText);
      if (!Number.isFinite(value) || value < 0)
        throw new Error(
          `benchmark output of ${host}, line ${i + 1}: ${name} value ${JSON.stringify(valueText)} is not a number`,
        );
    }
    metrics.push({
      name: name as BenchmarkMetricName,
      status: status as BenchmarkMetric['status'],
      value,
      unit: unit === '-' ? BENCHMARK_METRICS[name as BenchmarkMetricName].unit : unit,
      detail,
    });
  });
  if (metrics.length === 0) throw new Error(`benchmark output of ${host}: no "bench" lines (did the script run?)`);
  const num = (k: string) => (Number.isFinite(Number(facts.get(k))) && facts.get(k) !== '' ? Number(facts.get(k)) : 0);
  const system: BenchmarkSystem | undefined = facts.size
    ? {
        kernel: facts.get('kernel') ?? '',
        cpuModel: facts.get('cpu_model') ?? '',
        cores: num('cores'),
        ramMb: num('ram_mb'),
        diskTotalGb: num('disk_total_gb'),
        fs: facts.get('fs') ?? '',
      }
    : undefined;
  return { schemaVersion: 1, host, at, ...(system ? { system } : {}), ...(params ? { params } : {}), metrics };
}

const within = (a: number, b: number, pct: number) =>
  Math.abs(a - b) <= (Math.max(Math.abs(a), Math.abs(b)) * pct) / 100;

/**
 * Why a baseline cannot be compared with a result: other parameters (URL, disk test
 * size, download cap) or another machine (kernel, CPU, cores, RAM and disk size within
 * 5 %, filesystem). Empty when they match.
 */
function benchmarkMismatches(baseline: BenchmarkResult, current: BenchmarkResult): string[] {
  const out: string[] = [];
  const b = baseline.system;
  const c = current.system;
  if (!b || !c) out.push(`the ${b ? 'result' : 'baseline'} has no system facts (measured by an older version)`);
  else {
    const facts: [string, string | number, string | number, boolean][] = [
      ['kernel', b.kernel, c.kernel, b.kernel === c.kernel],
      ['CPU', b.cpuModel, c.cpuModel, b.cpuModel === c.cpuModel],
      ['cores', b.cores, c.cores, b.cores === c.cores],
      ['RAM', `${b.ramMb} MB`, `${c.ramMb} MB`, within(b.ramMb, c.ramMb, 5)],
      ['disk size', `${b.diskTotalGb} GB`, `${c.diskTotalGb} GB`, within(b.diskTotalGb, c.diskTotalGb, 5)],
      ['filesystem', b.fs, c.fs, b.fs === c.fs],
    ];
    for (const [name, x, y, same] of facts) if (!same) out.push(`${name}: baseline ${x}, now ${y}`);
  }
  const bp = baseline.params;
  const cp = current.params;
  if (!bp || !cp) out.push(`the ${bp ? 'result' : 'baseline'} does not say how it was measured (older version)`);
  else {
    if (bp.url !== cp.url) out.push(`download URL: baseline ${bp.url ?? 'none'}, now ${cp.url ?? 'none'}`);
    if (bp.diskMb !== cp.diskMb) out.push(`disk test size: baseline ${bp.diskMb} MiB, now ${cp.diskMb} MiB`);
    if (bp.maxTimeS !== cp.maxTimeS) out.push(`download cap: baseline ${bp.maxTimeS} s, now ${cp.maxTimeS} s`);
  }
  return out;
}

interface BenchmarkComparisonRow {
  name: BenchmarkMetricName;
  unit: string;
  baseline: number | null;
  current: number | null;
  variancePct: number | null;
  /** null when either side has no value */
  verdict: Verdict | null;
}

export interface BenchmarkComparison {
  host: string;
  tolerancePct: number;
  /** false when the baseline was measured with other parameters or on another machine */
  comparable: boolean;
  /** what differs (empty when comparable) */
  mismatches: string[];
  rows: BenchmarkComparisonRow[];
  hasRegression: boolean;
}

/** Compares a host's benchmark with its baseline, metric by metric. */
export function compareBenchmarks(
  baseline: BenchmarkResult,
  current: BenchmarkResult,
  opts: { tolerancePct?: number } = {},
): BenchmarkComparison {
  const tolerancePct = opts.tolerancePct ?? DEFAULT_TOLERANCE_PCT;
  const value = (r: BenchmarkResult, n: BenchmarkMetricName) => {
    const m = r.metrics.find((x) => x.name === n);
    return m && m.status === 'ok' ? m.value : null;
  };
  const mismatches = benchmarkMismatches(baseline, current);
  const comparable = mismatches.length === 0;
  const rows: BenchmarkComparisonRow[] = NAMES.map((name) => {
    const b = value(baseline, name);
    const c = value(current, name);
    const { unit, higherIsBetter } = BENCHMARK_METRICS[name];
    if (b === null || c === null) return { name, unit, baseline: b, current: c, variancePct: null, verdict: null };
    const ch = classifyChange(b, c, { tolerancePct, higherIsBetter });
    // not comparable: the figures are shown side by side, without a verdict
    return {
      name,
      unit,
      baseline: b,
      current: c,
      variancePct: ch.variancePct,
      verdict: comparable ? ch.verdict : null,
    };
  });
  return {
    host: current.host,
    tolerancePct,
    comparable,
    mismatches,
    rows,
    hasRegression: rows.some((r) => r.verdict === 'regression'),
  };
}

/**
 * Where a host's result lives: reports/bench/<label>/<host>.json, label being a run
 * id or "baseline" (what `bench --save-baseline` writes and `compare` reads).
 */
export function benchmarkResultPath(reportsDir: string, label: string, host: string): string {
  for (const [what, v] of [
    ['label', label],
    ['host', host],
  ] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v))
      throw new Error(`benchmark ${what} ${JSON.stringify(v)} cannot be a file name`);
  }
  return join(reportsDir, 'bench', label, `${host}.json`);
}

/** Writes one host's result as JSON (temp file + rename). */
export async function saveBenchmarkResult(file: string, result: BenchmarkResult): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(result, null, 2) + '\n');
  await rename(tmp, file);
}

/** Reads a result written by saveBenchmarkResult; a damaged file names itself. */
export async function loadBenchmarkResult(file: string): Promise<BenchmarkResult> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read a benchmark result (${(err as Error).message})`,
      'run `bench` again (with --save-baseline for a baseline)',
      file,
      undefined,
      { cause: err },
    );
  }
  const r = BenchmarkResultSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(
      `${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      'the file is damaged: run `bench` again',
      file,
    );
  }
  return r.data;
}
