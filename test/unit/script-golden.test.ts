// The generated scripts as exact text (test/golden/, rewritten only by `npm run golden:update`),
// each parsed by dash (Debian's /bin/sh, the hosts' shell), and the phase, session and monitor
// scripts run under dash in a temp folder.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { goldenScripts, fileSteps, phaseScripts, runFiles, NONCE, RUN_ID } from '../support/script-fixtures.js';
import { GOLDEN_DIR } from '../support/update-golden.js';
import { openSessionScript, releaseLockScript } from '../../src/shell/host-scripts.js';
import { timingFile } from '../../src/shell/phase-scripts.js';
import { startMonitorCommand, monitorStatusCommand, stopMonitorCommand } from '../../src/monitor/monitor-commands.js';

const scripts = goldenScripts();

function goldenFiles(dir = GOLDEN_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? goldenFiles(join(dir, e.name))
      : e.name.endsWith('.sh')
        ? [relative(GOLDEN_DIR, join(dir, e.name))]
        : [],
  );
}

test('the golden folder holds exactly the generated scripts', () => {
  expect(goldenFiles().sort()).toEqual(Object.keys(scripts).sort());
});

test.each(Object.keys(scripts))('%s is its golden text (npm run golden:update rewrites it on purpose)', (name) => {
  expect(scripts[name]).toBe(readFileSync(join(GOLDEN_DIR, name), 'utf8'));
});

test('the builders are deterministic: the same input gives the same text', () => {
  expect(goldenScripts()).toEqual(scripts);
});

test.each(Object.keys(scripts))('%s parses under dash', (name) => {
  const r = spawnSync('dash', ['-n', '-c', scripts[name]!], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

describe('run under dash', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vps-golden-dash-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a script as the remote driver does: a file in a folder of its own, under dash. */
  function dash(text: string, name = 'script'): string {
    const folder = mkdtempSync(join(dir, 'run-'));
    writeFileSync(join(folder, name), text);
    return execFileSync('dash', [join(folder, name)], { encoding: 'utf8', cwd: dir, timeout: 30_000 });
  }
  const records = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith(`\x1e${NONCE} `))
      .map((l) => l.slice(NONCE.length + 2));

  test('the file steps phase: probe, then apply, every step changed, timing rows and checkpoint on the "host"', () => {
    const root = join(dir, 'work');
    const state = join(dir, 'state');
    mkdirSync(root);
    mkdirSync(join(state, 'runs', RUN_ID), { recursive: true });
    mkdirSync(join(state, 'checkpoints'));
    const { probe, apply } = phaseScripts(fileSteps(root), state);
    const probed = records(dash(probe));
    expect(probed[0]).toMatch(/^U \d+$/);
    // each step with a probe has its answer: the same as the fixture's decisions were made on
    expect(probed.filter((r) => /^[BG] /.test(r)).length).toBeGreaterThan(0);

    const applied = records(dash(apply));
    expect(applied[0]).toMatch(/^PID \d+$/);
    expect(applied.filter((r) => r.startsWith('S ')).map((r) => r.split(' ').slice(0, 3).join(' '))).toEqual([
      'S 0 changed',
      'S 1 changed',
      'S 2 changed',
      'S 3 changed',
      'S 4 changed',
    ]);
    expect(applied.at(-1)).toBe('END');
    expect(readFileSync(join(root, 'a.conf'), 'utf8')).toBe("x=1\n%s $(id) 'q'\n");
    expect(statSync(join(root, 'a.conf')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, 'b.conf'), 'utf8')).toBe('y=2 % $HOME\n');
    expect(readFileSync(join(root, 'made'), 'utf8')).toBe('made\n');
    expect(readFileSync(join(root, 'log'), 'utf8')).toBe('guarded\nalways\n');
    const timing = readFileSync(timingFile(runFiles(state)), 'utf8')
      .trim()
      .split('\n');
    expect(timing[0]).toBe('timestamp,run_id,host,phase,step,start_epoch_s,duration_s,status');
    // the host name holds a comma and quotes: one CSV cell
    expect(timing.filter((l) => /,"web-1, ""east""",base,conf,[\d.]+,[\d.]+,changed$/.test(l))).toHaveLength(1);
    expect(timing).toHaveLength(1 + 5 + 1);
    expect(readFileSync(join(state, 'checkpoints', 'base'), 'utf8')).toMatch(
      new RegExp(`^${'f'.repeat(64)} \\S+Z ${RUN_ID}\\n$`),
    );
  });

  test('the session scripts: the lock taken, read back, released', () => {
    const state = join(dir, 'state');
    const opened = records(
      dash(openSessionScript(NONCE, state, { runId: RUN_ID, holder: "ana@laptop 'x'", since: '2026-11-28T02:21:00Z' })),
    );
    expect(opened).toContain('LOCK acquired ||');
    expect(opened.some((r) => r.startsWith('OS '))).toBe(true);
    expect(opened.at(-1)).toBe('END');
    expect(readFileSync(join(state, 'lock', 'owner'), 'utf8')).toMatch(/^run=.*\nholder=ana@laptop 'x'\n/);
    dash(releaseLockScript(state, RUN_ID));
    expect(existsSync(join(state, 'lock'))).toBe(false);
  });

  test('the monitor scripts: started, running, stopped', () => {
    const state = join(dir, 'state');
    mkdirSync(state, { mode: 0o700 });
    chmodSync(state, 0o700);
    const t = { stateDir: state, runId: RUN_ID };
    expect(dash(startMonitorCommand({ ...t, intervalS: 1, maxLifetimeS: 60, host: 'web-1' })).trim()).toMatch(
      /^monitor: (started|already-running) \d+$/,
    );
    expect(dash(monitorStatusCommand(t)).trim()).toMatch(/^monitor: running \d+$/);
    expect(dash(stopMonitorCommand(t, { waitS: 5 })).trim()).toMatch(/^monitor: stopped/);
    expect(dash(monitorStatusCommand(t)).trim()).toMatch(/^monitor: (stopped|not-running)/);
  });
});
