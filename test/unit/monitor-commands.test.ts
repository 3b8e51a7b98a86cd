import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  monitorStatusCommand,
  parseMonitorReply,
  readSamplesCommand,
  remoteRunPaths,
  samplerScript,
  startMonitorCommand,
  stopMonitorCommand,
} from '../../src/monitor/monitor-commands.js';
import { benchmarkCommand, benchmarkScript } from '../../src/monitor/benchmark-commands.js';
import { monitorScriptPath, packageRoot } from '../../src/monitor/script-files.js';
import { parseResourcesCsv } from '../../src/report/parse-csv.js';

const RUN = '20261128T022100Z-a1b2';

describe('script files', () => {
  it('are found from dist/ through the package root', () => {
    expect(existsSync(join(packageRoot(), 'package.json'))).toBe(true);
    expect(monitorScriptPath('sampler.sh')).toBe(join(packageRoot(), 'src', 'monitor', 'sampler.sh'));
    expect(samplerScript()).toMatch(/^#!\/bin\/sh\n/);
    expect(benchmarkScript()).toMatch(/^#!\/bin\/sh\n/);
  });

  it('are valid POSIX sh (dash -n)', () => {
    for (const name of ['sampler.sh', 'benchmark.sh'] as const) {
      expect(() => execFileSync('dash', ['-n', monitorScriptPath(name)])).not.toThrow();
    }
  });
});

describe('remoteRunPaths', () => {
  it('lays out $STATE_DIR/runs/<run-id>', () => {
    expect(remoteRunPaths('/var/lib/vps-provision/', RUN)).toEqual({
      dir: `/var/lib/vps-provision/runs/${RUN}`,
      timingCsv: `/var/lib/vps-provision/runs/${RUN}/timing.csv`,
      resourcesCsv: `/var/lib/vps-provision/runs/${RUN}/resources.csv`,
      pidFile: `/var/lib/vps-provision/runs/${RUN}/monitor.pid`,
      logFile: `/var/lib/vps-provision/runs/${RUN}/monitor.log`,
      samplerScript: '/var/lib/vps-provision/bin/sampler.sh',
    });
  });

  it.each(['../etc', 'a/b', '', 'x y', '-rf', 'a\nb'])('refuses run id %p', (id) => {
    expect(() => remoteRunPaths('/s', id)).toThrow(/invalid run id/);
  });
});

describe('command builders', () => {
  const base = { stateDir: '/var/lib/vps provision', runId: RUN };

  it('quote hostile values once, as data', () => {
    const cmd = startMonitorCommand({ ...base, intervalS: 10, maxLifetimeS: 7200, host: `x'; rm -rf / #$(id)` });
    expect(cmd).toContain(`'x'\\''; rm -rf / #$(id)'`);
    expect(cmd).toContain(`d='/var/lib/vps provision/runs/${RUN}'`);
    expect(cmd).toContain('setsid sh "$s"');
    expect(cmd).toContain(' 10 7200 ');
  });

  it.each([
    [{ intervalS: 0, maxLifetimeS: 10, host: 'h' }, /intervalS must be a positive whole number/],
    [{ intervalS: 1.5, maxLifetimeS: 10, host: 'h' }, /intervalS must be a positive whole number/],
    [{ intervalS: 1, maxLifetimeS: -1, host: 'h' }, /maxLifetimeS/],
    [{ intervalS: 1, maxLifetimeS: 10, host: 'a\nb' }, /invalid host name/],
  ])('refuse bad options %p', (o, message) => {
    expect(() => startMonitorCommand({ ...base, ...o })).toThrow(message);
  });

  it('benchmark command passes options as quoted arguments', () => {
    const cmd = benchmarkCommand({
      workDir: '/tmp/b x',
      diskMb: 64,
      url: 'http://127.0.0.1:8080/f?a=1&b=2',
      maxTimeS: 5,
      direct: false,
    });
    expect(cmd).toMatch(/^VPS_BENCH_DIRECT=no sh -c '/);
    expect(cmd).toMatch(/ vps-benchmark '\/tmp\/b x' 64 'http:\/\/127\.0\.0\.1:8080\/f\?a=1&b=2' 5 <\/dev\/null$/);
    expect(() => benchmarkCommand({ workDir: '/b', url: 'file:///etc/passwd' })).toThrow(/http\(s\) or ftp/);
    expect(() => benchmarkCommand({ workDir: '/b', diskMb: 0 })).toThrow(/diskMb/);
  });

  it.each([
    ['monitor: started 4242\n', { state: 'started', pid: 4242 }],
    ['noise\nmonitor: already-running 17\n', { state: 'already-running', pid: 17 }],
    ['monitor: stopped\n', { state: 'stopped' }],
    ['monitor: stale 99', { state: 'stale', pid: 99 }],
    [
      'monitor: failed no pid file after 5 s, see /x/monitor.log\n',
      { state: 'failed', detail: 'no pid file after 5 s, see /x/monitor.log' },
    ],
  ])('parseMonitorReply(%p)', (out, reply) => {
    expect(parseMonitorReply(out)).toEqual(reply);
  });

  it('parseMonitorReply rejects other output', () => {
    expect(() => parseMonitorReply('sh: 1: setsid: not found\n')).toThrow(/no "monitor:" line/);
    expect(() => parseMonitorReply('monitor: exploded 1\n')).toThrow(/unknown monitor state/);
  });
});

// sampler.sh run directly by dash: how it stops without the stop command.
describe('sampler.sh stop conditions', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vps-sampler-unit-'));
  });
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function run(intervalS: number, lifeS: number): { pidFile: string; csv: string; exited: Promise<number | null> } {
    const pidFile = join(dir, 'monitor.pid');
    const csv = join(dir, 'resources.csv');
    child = spawn('dash', [monitorScriptPath('sampler.sh'), csv, String(intervalS), String(lifeS), 'u', pidFile], {
      stdio: 'ignore',
    });
    const c = child;
    return { pidFile, csv, exited: new Promise((r) => c.once('exit', (code) => r(code))) };
  }
  const until = async (cond: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end && !cond();) await new Promise((r) => setTimeout(r, 50));
    return cond();
  };
  const within = <T>(p: Promise<T>, ms: number) =>
    Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);

  it.each([
    ['its PID file is removed', (f: string) => unlinkSync(f)],
    ['its PID file holds another PID', (f: string) => writeFileSync(f, '12345\n')],
  ])('exits when %s', async (_n, tamper) => {
    const { pidFile, exited } = run(1, 60);
    expect(await until(() => existsSync(pidFile), 3000)).toBe(true);
    tamper(pidFile);
    expect(await within(exited, 3000)).toBe(0);
    // a PID file that is not its own is left alone
    if (existsSync(pidFile)) expect(readFileSync(pidFile, 'utf8')).toBe('12345\n');
  });

  it('exits at once on TERM, writing no half row', async () => {
    const { pidFile, csv, exited } = run(10, 60);
    expect(await until(() => existsSync(pidFile), 3000)).toBe(true);
    // the first row comes after 1 s; then the sampler sleeps 10 s, and TERM comes in that sleep
    const rows = () => (existsSync(csv) ? readFileSync(csv, 'utf8').split('\n').length - 2 : 0);
    expect(await until(() => rows() === 1, 5000)).toBe(true);
    child!.kill('SIGTERM');
    expect(await within(exited, 1500)).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    const text = readFileSync(csv, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(parseResourcesCsv(text, csv).rows).toHaveLength(1);
  });

  it('refuses bad arguments', async () => {
    const c = spawn('dash', [monitorScriptPath('sampler.sh'), join(dir, 'r.csv'), '0', '10', 'h', join(dir, 'p')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr!.on('data', (d) => {
      err += d;
    });
    const code = await new Promise((r) => c.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/INTERVAL_S must be a positive integer/);
  });
});

// The builders' shell text run by the local dash (no SSH here: that is the
// integration suite), in a temp state dir.
describe('start, status, read, stop through sh', () => {
  let stateDir: string;
  const sh = (cmd: string) => execFileSync('dash', ['-c', cmd], { encoding: 'utf8', timeout: 15_000 });
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'vps-monitor-unit-'));
  });
  afterEach(() => {
    // never leave a sampler behind, even when an assertion failed
    try {
      sh(stopMonitorCommand({ stateDir, runId: RUN }, { waitS: 2 }));
    } catch {
      /* already gone */
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs the whole cycle', async () => {
    const t = { stateDir, runId: RUN };
    expect(parseMonitorReply(sh(monitorStatusCommand(t)))).toEqual({ state: 'stopped' });
    const started = parseMonitorReply(sh(startMonitorCommand({ ...t, intervalS: 1, maxLifetimeS: 60, host: 'unit' })));
    expect(started.state).toBe('started');
    const again = parseMonitorReply(sh(startMonitorCommand({ ...t, intervalS: 1, maxLifetimeS: 60, host: 'unit' })));
    expect(again).toEqual({ state: 'already-running', pid: started.pid });
    expect(parseMonitorReply(sh(monitorStatusCommand(t)))).toEqual({ state: 'running', pid: started.pid });
    await new Promise((r) => setTimeout(r, 3500));
    const tail = sh(readSamplesCommand(t, 1));
    expect(tail.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(tail).not.toContain('timestamp,host');
    expect(parseMonitorReply(sh(stopMonitorCommand(t)))).toEqual({ state: 'stopped', pid: started.pid });
    expect(parseMonitorReply(sh(monitorStatusCommand(t)))).toEqual({ state: 'stopped' });
    expect(parseMonitorReply(sh(stopMonitorCommand(t)))).toEqual({ state: 'not-running' });
    const paths = remoteRunPaths(stateDir, RUN);
    const rows = parseResourcesCsv(readFileSync(paths.resourcesCsv, 'utf8'), paths.resourcesCsv).rows;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.host === 'unit')).toBe(true);
    expect(existsSync(paths.pidFile)).toBe(false);
  });

  it('reports a PID file left by a dead process as stale, and start replaces it', () => {
    const t = { stateDir, runId: RUN };
    const paths = remoteRunPaths(stateDir, RUN);
    sh(`mkdir -p '${paths.dir}' && echo 1 > '${paths.pidFile}'`); // PID 1 is no sampler
    expect(parseMonitorReply(sh(monitorStatusCommand(t)))).toEqual({ state: 'stale', pid: 1 });
    const started = parseMonitorReply(sh(startMonitorCommand({ ...t, intervalS: 1, maxLifetimeS: 30, host: 'u' })));
    expect(started.state).toBe('started');
    expect(started.pid).not.toBe(1);
    expect(parseMonitorReply(sh(stopMonitorCommand(t)))).toEqual({ state: 'stopped', pid: started.pid });
    expect(existsSync(paths.pidFile)).toBe(false);
    sh(`echo 1 > '${paths.pidFile}'`);
    expect(parseMonitorReply(sh(stopMonitorCommand(t)))).toEqual({ state: 'not-running' });
    expect(existsSync(paths.pidFile)).toBe(false);
  });
});

describe('commands inside a long-lived shell', () => {
  it('never end the shell that runs them (each is one subshell)', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'vps-monitor-embed-'));
    try {
      const t = { stateDir, runId: RUN };
      // what an engine feeding one remote sh on stdin does: several commands, then a marker
      const script = [monitorStatusCommand(t), readSamplesCommand(t, 0), stopMonitorCommand(t), 'echo still-here'].join(
        '',
      );
      const out = execFileSync('dash', ['-s'], { input: script, encoding: 'utf8', timeout: 10_000 });
      expect(out.trim().split('\n')).toEqual(['monitor: stopped', 'monitor: not-running', 'still-here']);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
