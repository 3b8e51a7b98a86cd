import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  benchmarkResultPath,
  compareBenchmarks,
  loadBenchmarkResult,
  parseBenchmarkOutput,
  saveBenchmarkResult,
  type BenchmarkResult,
} from '../../src/report/benchmark-results.js';

const OUTPUT = `some stray line from a login script
fact kernel 6.12.48+deb13-amd64
fact cpu_model Intel(R) Xeon(R) CPU E5-2650 v4 @ 2.20GHz
fact cores 2
fact ram_mb 3915
fact disk_total_gb 77.4
fact fs ext2/ext3
bench cpu ok 336.2 ops/s sha256 of 1 MiB x 256, 1 core of 2
bench disk_write ok 1450.5 MB/s 256 MiB, O_DIRECT+fsync, fs ext2/ext3
bench disk_read ok 856.8 MB/s 256 MiB, O_DIRECT, fs ext2/ext3
bench net_download skipped - - no URL configured
bench net_latency failed - - no connection to the URL host
`;

describe('parseBenchmarkOutput', () => {
  it('reads one metric per line, ignoring other output', () => {
    expect(parseBenchmarkOutput(OUTPUT, 'droplet-1', '2026-11-28T03:00:00.000Z')).toEqual({
      schemaVersion: 1,
      host: 'droplet-1',
      at: '2026-11-28T03:00:00.000Z',
      system: {
        kernel: '6.12.48+deb13-amd64',
        cpuModel: 'Intel(R) Xeon(R) CPU E5-2650 v4 @ 2.20GHz',
        cores: 2,
        ramMb: 3915,
        diskTotalGb: 77.4,
        fs: 'ext2/ext3',
      },
      metrics: [
        { name: 'cpu', status: 'ok', value: 336.2, unit: 'ops/s', detail: 'sha256 of 1 MiB x 256, 1 core of 2' },
        {
          name: 'disk_write',
          status: 'ok',
          value: 1450.5,
          unit: 'MB/s',
          detail: '256 MiB, O_DIRECT+fsync, fs ext2/ext3',
        },
        { name: 'disk_read', status: 'ok', value: 856.8, unit: 'MB/s', detail: '256 MiB, O_DIRECT, fs ext2/ext3' },
        { name: 'net_download', status: 'skipped', value: null, unit: 'Mbps', detail: 'no URL configured' },
        { name: 'net_latency', status: 'failed', value: null, unit: 'ms', detail: 'no connection to the URL host' },
      ],
    });
  });

  it.each([
    ['an unknown metric', 'bench gpu ok 1 x y', /line 1: unknown metric "gpu"/],
    ['a value that is not a number', 'bench cpu ok fast ops/s x', /line 1: cpu value "fast" is not a number/],
    ['a malformed line', 'bench cpu', /line 1: cannot parse/],
    ['no bench line at all', 'sh: 1: curl: not found', /no "bench" lines/],
  ])('rejects %s', (_n, text, message) => {
    expect(() => parseBenchmarkOutput(text, 'h')).toThrow(message);
  });
});

function result(
  values: Partial<Record<'cpu' | 'disk_write' | 'disk_read' | 'net_download' | 'net_latency', number>>,
): BenchmarkResult {
  const units = {
    cpu: 'ops/s',
    disk_write: 'MB/s',
    disk_read: 'MB/s',
    net_download: 'Mbps',
    net_latency: 'ms',
  } as const;
  return {
    schemaVersion: 1,
    host: 'h',
    at: '2026-11-28T03:00:00.000Z',
    system: { kernel: '6.12', cpuModel: 'Xeon', cores: 2, ramMb: 3915, diskTotalGb: 77.4, fs: 'ext4' },
    params: { url: 'https://mirror.example/100M.bin', diskMb: 256, maxTimeS: 30 },
    metrics: (Object.keys(units) as (keyof typeof units)[]).map((name) =>
      values[name] === undefined
        ? { name, status: 'skipped', value: null, unit: units[name], detail: 'n/a' }
        : { name, status: 'ok', value: values[name]!, unit: units[name], detail: '' },
    ),
  };
}

describe('compareBenchmarks', () => {
  it('throughput lower by 25 % is a regression, latency higher by 25 % too; 15 % is accepted', () => {
    const base = result({ cpu: 400, disk_write: 1000, disk_read: 1000, net_download: 800, net_latency: 20 });
    const cur = result({ cpu: 300, disk_write: 850, disk_read: 1300, net_download: 800, net_latency: 25 });
    const c = compareBenchmarks(base, cur);
    expect(c.rows.map((r) => [r.name, r.variancePct, r.verdict])).toEqual([
      ['cpu', -25, 'regression'],
      ['disk_write', -15, 'accepted'],
      ['disk_read', 30, 'improved'],
      ['net_download', 0, 'accepted'],
      ['net_latency', 25, 'regression'],
    ]);
    expect(c.hasRegression).toBe(true);
  });

  it('a metric missing on either side has no verdict', () => {
    const c = compareBenchmarks(result({ cpu: 400 }), result({ cpu: 390, net_latency: 3 }));
    expect(c.rows.find((r) => r.name === 'net_latency')).toMatchObject({ baseline: null, current: 3, verdict: null });
    expect(c.hasRegression).toBe(false);
  });
});

describe('a baseline measured otherwise', () => {
  const base = result({ cpu: 400, disk_write: 1000 });
  it.each([
    [
      'another download URL',
      { params: { ...base.params!, url: 'https://other.example/1G.bin' } },
      /download URL: baseline https:\/\/mirror\.example\/100M\.bin, now https:\/\/other\.example\/1G\.bin/,
    ],
    [
      'another disk test size',
      { params: { ...base.params!, diskMb: 1024 } },
      /disk test size: baseline 256 MiB, now 1024 MiB/,
    ],
    ['more cores', { system: { ...base.system!, cores: 4 } }, /cores: baseline 2, now 4/],
    ['more RAM', { system: { ...base.system!, ramMb: 7900 } }, /RAM: baseline 3915 MB, now 7900 MB/],
    ['another kernel', { system: { ...base.system!, kernel: '6.13' } }, /kernel: baseline 6\.12, now 6\.13/],
    ['another disk', { system: { ...base.system!, diskTotalGb: 160 } }, /disk size: baseline 77\.4 GB, now 160 GB/],
    ['no facts (an older version)', { system: undefined }, /has no system facts/],
  ] as const)('is flagged, not compared: %s', (_n, change, message) => {
    const cur = { ...result({ cpu: 200, disk_write: 500 }), ...change } as BenchmarkResult;
    const c = compareBenchmarks(base, cur);
    expect(c.comparable).toBe(false);
    expect(c.mismatches.join('\n')).toMatch(message);
    expect(c.rows.every((r) => r.verdict === null)).toBe(true);
    expect(c.hasRegression).toBe(false);
    expect(c.rows.find((r) => r.name === 'cpu')).toMatchObject({ baseline: 400, current: 200 });
  });

  it('RAM a few MB apart (another kernel reserve) is the same machine', () => {
    const cur = { ...result({ cpu: 200 }), system: { ...base.system!, ramMb: 3900 } };
    expect(compareBenchmarks(base, cur)).toMatchObject({ comparable: true, mismatches: [], hasRegression: true });
  });
});

describe('benchmark result files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vps-bench-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through JSON', async () => {
    const r = parseBenchmarkOutput(OUTPUT, 'droplet-1', '2026-11-28T03:00:00.000Z');
    const file = join(dir, 'baseline', 'droplet-1.json');
    await saveBenchmarkResult(file, r);
    expect(await loadBenchmarkResult(file)).toEqual(r);
  });

  it.each([
    ['not JSON', '{', /cannot read a benchmark result/],
    [
      'a wrong field',
      JSON.stringify({
        schemaVersion: 1,
        host: 'h',
        at: 'x',
        metrics: [{ name: 'cpu', status: 'great', value: 1, unit: 'u', detail: '' }],
      }),
      /metrics\.0\.status/,
    ],
  ])('a damaged file (%s) names itself', async (_n, text, message) => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, text);
    const err = await loadBenchmarkResult(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(message);
    expect((err as ConfigError).message).toContain(file);
  });
});

describe('benchmarkResultPath', () => {
  it('lays results out per label and host', () => {
    expect(benchmarkResultPath('reports', 'baseline', 'droplet-1')).toBe(
      join('reports', 'bench', 'baseline', 'droplet-1.json'),
    );
    expect(() => benchmarkResultPath('reports', '../x', 'h')).toThrow(/cannot be a file name/);
  });
});
