// Pure builder of the remote command that runs benchmark.sh. The script is passed
// as the argument of `sh -c`, so nothing is left behind on the droplet but the
// disk test file, which the script removes itself.
import { sh, raw } from '../shell/sh.js';
import { monitorScript } from './script-files.js';

export interface BenchmarkOptions {
  /** folder on the droplet for the disk test file, e.g. $STATE_DIR/bench */
  workDir: string;
  /** disk test size in MiB (default 256) */
  diskMb?: number;
  /** file to download for the network test; absent = network tests skipped */
  url?: string;
  /** cap on the download in seconds (default 30) */
  maxTimeS?: number;
  /** false: do not try O_DIRECT (the script then says which method it used) */
  direct?: boolean;
}

/** The benchmark script text (src/monitor/benchmark.sh). */
export function benchmarkScript(): string {
  return monitorScript('benchmark.sh');
}

/** Shell text that runs the benchmark; its stdout goes to parseBenchmarkOutput. */
export function benchmarkCommand(o: BenchmarkOptions): string {
  const diskMb = o.diskMb ?? 256;
  const maxTimeS = o.maxTimeS ?? 30;
  for (const [name, v] of [
    ['diskMb', diskMb],
    ['maxTimeS', maxTimeS],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number, got ${v}`);
  }
  if (o.workDir === '') throw new Error('workDir must not be empty');
  if (o.url !== undefined && o.url !== '' && !/^(https?|ftp):\/\//i.test(o.url)) {
    throw new Error(`benchmark URL must be http(s) or ftp, got ${JSON.stringify(o.url)}`);
  }
  const env = raw(o.direct === false ? 'VPS_BENCH_DIRECT=no ' : '');
  const args = [o.workDir, String(diskMb), o.url ?? '', String(maxTimeS)];
  return sh`${env}sh -c ${benchmarkScript()} vps-benchmark ${args} </dev/null`.text;
}
