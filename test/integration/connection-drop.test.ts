// Dropped connections mid-phase: the run reconnects with backoff and resumes at the step
// that was running; every side effect happens exactly once; the end state equals an
// uninterrupted run.
import { readFileSync, writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

const STEPS = 60;
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startTestFleet(3);
});
afterAll(async () => {
  await fleet?.stop();
});

/** Kill the per-connection sshd processes: the TCP connections die, the listener stays. */
function dropConnections(sshdPid: number): number {
  let pids: string[] = [];
  try {
    pids = execFileSync('pgrep', ['-P', String(sshdPid)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    /* none right now */
  }
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids.length;
}

test('20 connection drops across 3 hosts: all resumed, every side effect once', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [slow]\n');
  const steps = Array.from(
    { length: STEPS },
    (_, i) =>
      `  - name: step ${i}\n    command: { run: "sleep 0.12; echo ${i} >> {{ work_root }}/log && touch {{ work_root }}/done-${i}", creates: "{{ work_root }}/done-${i}" }\n`,
  );
  writeFileSync(join(pb, 'slow.yml'), `name: slow\nestimate_s: 10\nsteps:\n${steps.join('')}`);

  // 20 drops spread over the hosts (7, 7, 6), one every 250 ms, round robin
  const quota = [7, 7, 6];
  let drops = 0;
  let turn = 0;
  // a host is dropped again only once its phase has made progress since the last drop:
  // the drops land mid-phase, not on connection set-up (which pays the login shell's
  // start-up files and can take longer than the interval on a busy machine)
  const progressAtDrop = [-1, -1, -1];
  const progress = (i: number): number => {
    try {
      return readFileSync(join(fleet.root(i), 'log'), 'utf8').split('\n').length;
    } catch {
      return 0;
    }
  };
  const injector = setInterval(() => {
    const i = turn++ % 3;
    const now = progress(i);
    if (quota[i]! > 0 && now > 0 && now > progressAtDrop[i]! && dropConnections(fleet.sshds[i]!.pid) > 0) {
      progressAtDrop[i] = now;
      quota[i]!--;
      drops++;
    }
  }, 250);
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 170_000,
  });
  clearInterval(injector);

  if (r.code !== 0)
    process.stderr.write(
      `${r.stderr
        .split('\n')
        .filter((l) => !/ changed - /.test(l))
        .join('\n')}\n`,
    );
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as RunResult;
  expect(run.hosts.map((h) => h.status)).toEqual(['ok', 'ok', 'ok']);
  const resumed = (r.stderr.match(/connection lost during phase slow; reconnecting/g) ?? []).length;
  // a drop can also hit a connection being set up (first contact or a reconnect)
  const retried = (r.stderr.match(/connection dropped while connecting|reconnect failed/g) ?? []).length;
  expect(drops).toBe(20);
  expect(resumed).toBeGreaterThanOrEqual(1);
  // every drop was noticed and survived (a kill can land between two connections and hit none)
  expect(resumed + retried).toBeGreaterThanOrEqual(drops - 5);
  for (let i = 0; i < 3; i++) {
    const lines = readFileSync(join(fleet.root(i), 'log'), 'utf8')
      .trim()
      .split('\n');
    // each step appended exactly once, in order
    expect(lines).toEqual(Array.from({ length: STEPS }, (_, k) => String(k)));
    for (let k = 0; k < STEPS; k++) expect(existsSync(join(fleet.root(i), `done-${k}`))).toBe(true);
    // every step reported changed (in the attempt that made it), none failed
    expect(run.hosts[i]!.phases[0]!.steps.every((s) => s.status === 'changed')).toBe(true);
    // the host's timing.csv holds every step once: no row lost, none doubled
    const rows = readFileSync(join(fleet.stateDir(i), 'runs', run.runId, 'timing.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    const stepRows = rows.filter((l) => /,slow,step \d+,/.test(l));
    expect(stepRows.map((l) => l.split(',')[4]).sort()).toEqual(
      Array.from({ length: STEPS }, (_, k) => `step ${k}`).sort(),
    );
    expect(stepRows.every((l) => l.endsWith(',changed'))).toBe(true);
    expect(rows.filter((l) => /,slow,,/.test(l))).toHaveLength(1);
    // the lock was released at the end
    expect(existsSync(join(fleet.stateDir(i), 'lock'))).toBe(false);
  }
  process.stdout.write(
    `connection drops injected: ${drops}; phases resumed: ${resumed}; connection set-ups retried: ${retried}\n`,
  );
}, 180_000);
