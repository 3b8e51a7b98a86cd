// The sampler and the benchmark over a real sshd on 127.0.0.1, started and stopped
// with the exact shell text the engine will send. The state dir is a temp folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { shQuote } from '../../src/shell/shell-quote.js';
import { benchmarkCommand } from '../../src/monitor/benchmark-commands.js';
import {
  monitorStatusCommand,
  parseMonitorReply,
  remoteRunPaths,
  startMonitorCommand,
  stopMonitorCommand,
  type MonitorTarget,
} from '../../src/monitor/monitor-commands.js';
import { resourceAlerts } from '../../src/report/alerts.js';
import { parseBenchmarkOutput } from '../../src/report/benchmark-results.js';
import { DEFAULT_THRESHOLDS, type ResourceSample } from '../../src/report/formats.js';
import { parseResourcesCsv } from '../../src/report/parse-csv.js';
import { makeClientKey, startSshd, type LocalSshd } from '../support/local-sshd.js';

let sshd: LocalSshd;
let work: string;
let keyPath: string;
let knownHosts: string;
const started: number[] = [];
const children = new Set<ChildProcess>();

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sshArgs(): string[] {
  return [
    '-i',
    keyPath,
    '-p',
    String(sshd.port),
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=10',
    'root@127.0.0.1',
  ];
}

/** Runs shell text under the remote /bin/sh (dash) as the engine does; bounded. */
function ssh(text: string, timeoutMs = 30_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...sshArgs(), `exec sh -c ${shQuote(text)}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ssh timed out after ${timeoutMs} ms: ${text.slice(0, 80)}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while the process runs; a zombie (exited, not yet reaped by init) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

let runCounter = 0;
function target(): MonitorTarget {
  runCounter += 1;
  return { stateDir: join(work, 'state'), runId: `20261128T0221${String(runCounter).padStart(2, '0')}Z-test` };
}

async function start(t: MonitorTarget, intervalS: number, maxLifetimeS: number, host = 'droplet-t'): Promise<number> {
  const r = await ssh(startMonitorCommand({ ...t, intervalS, maxLifetimeS, host }));
  expect(r.stderr).toBe('');
  const reply = parseMonitorReply(r.stdout);
  expect(reply.state).toBe('started');
  started.push(reply.pid!);
  return reply.pid!;
}

function samplesOf(t: MonitorTarget): ResourceSample[] {
  const file = remoteRunPaths(t.stateDir, t.runId).resourcesCsv;
  return parseResourcesCsv(readFileSync(file, 'utf8'), file).rows;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vps-monitor-it-'));
  const key = makeClientKey(work);
  keyPath = key.privateKeyPath;
  sshd = await startSshd({ authorizedKeys: [key.publicKey] });
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, sshd.knownHostsLine + '\n');
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  // every sampler (and session holder) this suite started is stopped by its PID, whatever the test outcome
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('resource sampler over SSH', () => {
  it('records samples while something runs, and is gone after stop', async () => {
    const t = target();
    const pid = await start(t, 1, 120);
    expect(parseMonitorReply((await ssh(monitorStatusCommand(t))).stdout)).toEqual({ state: 'running', pid });
    // something to see: 2 s of writes
    const work1 = await ssh(
      `dd if=/dev/zero of=${shQuote(join(work, 'load.bin'))} bs=1M count=64 conv=fsync 2>/dev/null; sleep 3; rm -f ${shQuote(join(work, 'load.bin'))}`,
    );
    expect(work1.code).toBe(0);
    const stop = parseMonitorReply((await ssh(stopMonitorCommand(t))).stdout);
    expect(stop).toEqual({ state: 'stopped', pid });
    expect(alive(pid)).toBe(false);
    expect(parseMonitorReply((await ssh(monitorStatusCommand(t))).stdout)).toEqual({ state: 'stopped' });
    expect(existsSync(remoteRunPaths(t.stateDir, t.runId).pidFile)).toBe(false);

    const rows = samplesOf(t);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < rows.length; i++) {
      const gap = rows[i].t - rows[i - 1].t;
      expect(gap).toBeGreaterThanOrEqual(900);
      expect(gap).toBeLessThan(2500);
    }
    for (const r of rows) {
      expect(r.host).toBe('droplet-t');
      expect(r.cpuPct).toBeLessThanOrEqual(100);
      expect(r.memAvailableMb).toBeGreaterThan(0);
      expect(r.diskAvailMb).toBeGreaterThan(0);
      expect(r.procs).toBeGreaterThan(1);
      expect(Math.abs(r.t - Date.now())).toBeLessThan(60_000);
    }
    // the 64 MiB written with fsync show up as disk writes
    expect(Math.max(...rows.map((r) => r.diskWriteKbps))).toBeGreaterThan(1000);
    // no row appears after the stop
    const count = rows.length;
    await sleep(1500);
    expect(samplesOf(t).length).toBe(count);
    expect(readFileSync(remoteRunPaths(t.stateDir, t.runId).logFile, 'utf8')).toBe('');
  });

  it('stops by itself after its max lifetime', async () => {
    const t = target();
    const pid = await start(t, 1, 4);
    const t0 = Date.now();
    await waitFor(() => !alive(pid), 10_000, 'the sampler to exit at its max lifetime');
    expect(Date.now() - t0).toBeGreaterThan(2500);
    expect(existsSync(remoteRunPaths(t.stateDir, t.runId).pidFile)).toBe(false);
    const rows = samplesOf(t);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeLessThanOrEqual(6);
    expect(parseMonitorReply((await ssh(stopMonitorCommand(t))).stdout)).toEqual({ state: 'not-running' });
  });

  it('keeps sampling after the SSH connection that started it is killed, and after sshd restarts', async () => {
    const t = target();
    // start it inside a session that stays open (the holder), then kill the client: the connection drops
    const text = `${startMonitorCommand({ ...t, intervalS: 1, maxLifetimeS: 120, host: 'h' })}echo "holder $$"\nexec sleep 30`;
    const child = spawn('ssh', [...sshArgs(), `exec sh -c ${shQuote(text)}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.add(child);
    const closed = new Promise((r) => child.once('close', r));
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    await waitFor(() => /holder \d+/.test(out), 15_000, 'the start reply');
    const pid = parseMonitorReply(out).pid!;
    started.push(pid);
    started.push(Number(/holder (\d+)/.exec(out)![1]));
    expect(child.exitCode).toBeNull(); // the session is still open
    child.kill('SIGKILL');
    await closed;
    children.delete(child);

    await sleep(2500);
    expect(alive(pid)).toBe(true);
    const before = samplesOf(t).length;
    await sshd.restart(); // the "droplet's" sshd goes down and up again
    await sleep(2500);
    expect(alive(pid)).toBe(true);
    expect(samplesOf(t).length).toBeGreaterThan(before);
    expect(parseMonitorReply((await ssh(stopMonitorCommand(t))).stdout)).toEqual({ state: 'stopped', pid });
    expect(alive(pid)).toBe(false);
  });

  it('a CPU burner raises the CPU alert; memory and disk alerts follow their thresholds', async () => {
    const t = target();
    const pid = await start(t, 1, 120);
    await sleep(1500); // a quiet sample or two first
    const burnStart = Date.now();
    const burn = await ssh(
      "timeout 8 sh -c 'while :; do :; done' & timeout 8 sh -c 'while :; do :; done' & wait",
      20_000,
    );
    const burnEnd = Date.now();
    expect(burn.code).toBe(0);
    expect(parseMonitorReply((await ssh(stopMonitorCommand(t))).stdout)).toEqual({ state: 'stopped', pid });
    const rows = samplesOf(t);

    const th = { ...DEFAULT_THRESHOLDS, cpuSustainedS: 4 };
    const cpu = resourceAlerts('h', rows, th).filter((a) => a.kind === 'cpu');
    expect(cpu).toHaveLength(1);
    const at = Date.parse(cpu[0].at);
    expect(at).toBeGreaterThanOrEqual(burnStart + 3000);
    expect(at).toBeLessThanOrEqual(burnEnd + 1500);
    expect(cpu[0].value).toBeGreaterThan(95);
    // with a window longer than the burn there is none
    expect(resourceAlerts('h', rows, { ...th, cpuSustainedS: 30 }).filter((a) => a.kind === 'cpu')).toEqual([]);

    // thresholds just under / over what was measured
    const minMem = Math.min(...rows.map((r) => r.memAvailableMb));
    const minDisk = Math.min(...rows.map((r) => r.diskAvailMb));
    const quiet = { ...th, memAvailableMb: minMem - 1, diskFreeGb: (minDisk - 1) / 1024 };
    expect(resourceAlerts('h', rows, quiet).filter((a) => a.kind !== 'cpu')).toEqual([]);
    const low = { ...th, memAvailableMb: minMem + 1000, diskFreeGb: (minDisk + 1024) / 1024 };
    const kinds = resourceAlerts('h', rows, low)
      .filter((a) => a.kind !== 'cpu')
      .map((a) => [a.kind, a.severity]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['memory', 'warning'],
        ['disk', 'warning'],
      ]),
    );
  });
});

describe('benchmark over SSH', () => {
  let server: Server;
  let url: string;
  const payload = Buffer.alloc(8 * 1024 * 1024, 7);

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
      res.end(req.method === 'HEAD' ? undefined : payload);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/file.bin`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('measures CPU, disk and network, and its output parses', async () => {
    const dir = join(work, 'bench');
    const r = await ssh(benchmarkCommand({ workDir: dir, diskMb: 16, url, maxTimeS: 10 }), 60_000);
    expect(r.code).toBe(0);
    const result = parseBenchmarkOutput(r.stdout, 'droplet-t');
    const byName = Object.fromEntries(result.metrics.map((m) => [m.name, m]));
    expect(Object.keys(byName).sort()).toEqual(['cpu', 'disk_read', 'disk_write', 'net_download', 'net_latency']);
    for (const m of result.metrics) {
      expect(m.status).toBe('ok');
      expect(m.value).toBeGreaterThan(0);
    }
    expect(byName.disk_write.detail).toMatch(/O_DIRECT\+fsync/);
    expect(byName.disk_read.detail).toMatch(/O_DIRECT/);
    expect(byName.net_download.detail).toBe(`${payload.length} bytes`);
    expect(byName.net_latency.value).toBeLessThan(100); // loopback
    // the machine's facts come with the figures
    expect(result.system).toEqual({
      kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
      cpuModel: expect.any(String),
      cores: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
      ramMb: expect.any(Number),
      diskTotalGb: expect.any(Number),
      fs: expect.any(String),
    });
    expect(result.system!.ramMb).toBeGreaterThan(100);
    expect(result.system!.diskTotalGb).toBeGreaterThan(0);
    // the test file is removed
    expect(readdirSafe(dir).filter((f) => f.startsWith('vps-bench'))).toEqual([]);
  });

  it('says when it does without O_DIRECT, and skips the network without a URL', async () => {
    const dir = mkdtempSync('/dev/shm/vps-bench-it-');
    try {
      const r = await ssh(benchmarkCommand({ workDir: dir, diskMb: 8, direct: false }), 60_000);
      const m = Object.fromEntries(parseBenchmarkOutput(r.stdout, 'h').metrics.map((x) => [x.name, x]));
      expect(m.disk_write).toMatchObject({
        status: 'ok',
        detail: expect.stringMatching(/^8 MiB, fsync \(O_DIRECT not used on tmpfs\), fs tmpfs$/),
      });
      expect(m.disk_read).toMatchObject({
        status: 'ok',
        detail: expect.stringMatching(/from memory: tmpfs has no disk/),
      });
      expect(m.net_download).toMatchObject({ status: 'skipped', value: null, detail: 'no URL configured' });
      expect(m.net_latency).toMatchObject({ status: 'skipped', detail: 'no URL configured' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a download that fails', async () => {
    const r = await ssh(
      benchmarkCommand({ workDir: join(work, 'bench2'), diskMb: 1, url: url.replace(/:\d+\//, ':1/'), maxTimeS: 3 }),
      60_000,
    );
    const m = Object.fromEntries(parseBenchmarkOutput(r.stdout, 'h').metrics.map((x) => [x.name, x]));
    expect(m.net_download).toMatchObject({ status: 'failed', detail: expect.stringMatching(/^curl exit 7/) });
    expect(m.net_latency.status).toBe('failed');
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
