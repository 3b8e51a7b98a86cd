// The engine's hard parts without sshd: the real remote driver runs in a local sh
// (LocalConnector), the state dir and every file the steps touch live in a temp folder.
// Stale re-checks, resume after a drop, parallel groups, deferred checkpoints.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostSpec } from '../../src/config/inventory.js';
import { instantiatePhase, loadPlaybook } from '../../src/config/playbook.js';
import type { EngineEvent, HostResult } from '../../src/engine/events.js';
import { runHost, type HostRunOptions } from '../../src/engine/host-runner.js';
import { LocalConnector } from '../../src/transport/local-connector.js';

let dir: string;
let work: string;
let connector: LocalConnector;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vps-engine-local-'));
  work = join(dir, 'work');
  mkdirSync(work);
  mkdirSync(join(dir, 'tmp'));
  connector = new LocalConnector({ env: { TMPDIR: join(dir, 'tmp') } });
});
afterEach(() => {
  for (const c of connector.connections) c.close();
  rmSync(dir, { recursive: true, force: true });
});

function host(): HostSpec {
  return {
    name: 'local-1',
    address: '127.0.0.1',
    explicit: {},
    fallback: { user: 'root', port: 22 },
    become: false,
    vars: { work_root: work },
    stateDir: join(dir, 'state'),
  };
}

/** Writes a playbook folder: site.yml and one file per phase (YAML text). */
function playbook(site: string, phases: Record<string, string>): string {
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), site);
  for (const [name, text] of Object.entries(phases)) writeFileSync(join(pb, `${name}.yml`), text);
  return pb;
}

async function run(
  pb: string,
  extra: Partial<HostRunOptions> = {},
): Promise<{ result: HostResult; events: EngineEvent[] }> {
  const loaded = loadPlaybook(pb);
  const h = host();
  const events: EngineEvent[] = [];
  const phases = loaded.phases.map((p) => instantiatePhase(loaded, p, h.vars, h.name));
  const result = await runHost(connector, h, {
    mode: 'apply',
    runId: `20261130T000000Z-${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`,
    holder: 'test (pid 1)',
    phases,
    force: false,
    emit: (e) => events.push(e),
    ...extra,
  });
  return { result, events };
}

const stepStatuses = (r: HostResult) => r.phases.flatMap((p) => p.steps.map((s) => `${p.name}/${s.name}: ${s.status}`));
const warnings = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
const file = (name: string) => readFileSync(join(work, name), 'utf8');

test('apply changes, a second run skips by checkpoint, --force re-checks and changes nothing', async () => {
  const pb = playbook('phases: [one]\n', {
    one:
      'name: one\nestimate_s: 5\nsteps:\n' +
      '  - name: conf\n    file: { path: "{{ work_root }}/a.conf", content: "x=1\\n" }\n' +
      '  - name: line\n    line: { path: "{{ work_root }}/b.conf", line: "y=2" }\n',
  });
  const first = await run(pb);
  expect(first.result.status).toBe('ok');
  expect(stepStatuses(first.result)).toEqual(['one/conf: changed', 'one/line: changed']);
  expect([file('a.conf'), file('b.conf')]).toEqual(['x=1\n', 'y=2\n']);

  const second = await run(pb);
  expect(second.result.phases[0]!.status).toBe('skipped');
  expect(second.result.phases[0]!.reason).toMatch(/^done .* --force/);

  const forced = await run(pb, { force: true });
  expect(stepStatuses(forced.result)).toEqual(['one/conf: ok', 'one/line: ok']);
  expect([file('a.conf'), file('b.conf')]).toEqual(['x=1\n', 'y=2\n']);
});

test('a step whose state an earlier step changed is decided again before it acts', async () => {
  // probed before anything ran, "b.conf" is absent; the command then creates it, so the
  // line step's first decision (create the file with the line) is stale: the re-check
  // stops the script, the state is read again and the line is added to what is there
  const pb = playbook('phases: [stale]\n', {
    stale:
      'name: stale\nestimate_s: 5\nsteps:\n' +
      '  - name: make\n    command: { run: "printf \'first\\\\n\' > {{ work_root }}/b.conf", creates: "{{ work_root }}/b.conf" }\n' +
      '  - name: add\n    line: { path: "{{ work_root }}/b.conf", line: "second" }\n',
  });
  const { result } = await run(pb);
  expect(result.status).toBe('ok');
  expect(stepStatuses(result)).toEqual(['stale/make: changed', 'stale/add: changed']);
  expect(file('b.conf')).toBe('first\nsecond\n');
});

test('a dropped connection mid-phase is resumed: every side effect once, the end state whole', async () => {
  const steps = Array.from(
    { length: 12 },
    (_, i) =>
      `  - name: step ${i}\n    command: { run: "sleep 0.2; echo ${i} >> {{ work_root }}/log && touch {{ work_root }}/done-${i}", creates: "{{ work_root }}/done-${i}" }\n`,
  );
  // a step already in place: ok in every attempt, and still one row in timing.csv
  const ready = '  - name: ready\n    command: { run: "true", creates: "{{ work_root }}" }\n';
  const pb = playbook('phases: [slow]\n', { slow: `name: slow\nestimate_s: 10\nsteps:\n${ready}${steps.join('')}` });
  // three drops (bounded), each once the resumed phase has made progress on a new
  // connection: the step running at a drop still ends (its script outlives the driver,
  // as on a host), so two more lines are needed for progress of the resumed phase
  let drops = 0;
  let seen = 0;
  let connectsAtDrop = 0;
  const injector = setInterval(() => {
    const now = existsSync(join(work, 'log')) ? file('log').split('\n').length : 0;
    if (drops < 3 && now >= seen + 2 && now < 11 && connector.connects > connectsAtDrop && connector.drop('local-1')) {
      seen = now;
      connectsAtDrop = connector.connects;
      drops++;
    }
  }, 100);
  const { result, events } = await run(pb).finally(() => clearInterval(injector));
  expect(drops).toBeGreaterThan(0);
  expect(result.status).toBe('ok');
  expect(warnings(events).filter((w) => /connection lost during phase slow; reconnecting/.test(w)).length).toBe(drops);
  expect(connector.connects).toBeGreaterThan(drops);
  // each command ran once: the log has each number once, in order
  expect(file('log').trim().split('\n')).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
  expect(result.phases[0]!.steps.map((s) => s.status)).toEqual(['ok', ...steps.map(() => 'changed')]);
  // timing.csv on the "host": each step is recorded exactly once (none again as ok after a resume)
  const runs = readdirSync(join(dir, 'state', 'runs'));
  const timing = readFileSync(join(dir, 'state', 'runs', runs[0]!, 'timing.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const stepRows = timing
    .filter((l) => /,slow,[^,]+,/.test(l))
    .map((l) => `${l.split(',')[4]}: ${l.split(',').at(-1)}`);
  expect(stepRows).toEqual(['ready: ok', ...Array.from({ length: 12 }, (_, i) => `step ${i}: changed`)]);
  // and the phase's own row once, even when the drop came after it was written
  expect(timing.filter((l) => /,slow,,/.test(l)).map((l) => l.split(',').at(-1))).toEqual(['changed']);
}, 120_000);

test('phases of a parallel group run side by side; with a group concurrency of 1, one after another', async () => {
  const phase = (n: string) =>
    `name: ${n}\nestimate_s: 5\nparallel: ides\nsteps:\n` +
    `  - name: span\n    command: { run: "date +%s%N >> {{ work_root }}/span-${n}; sleep 1; date +%s%N >> {{ work_root }}/span-${n}" }\n`;
  const pb = playbook('phases: [a, b, c, after]\n', {
    a: phase('a'),
    b: phase('b'),
    c: phase('c'),
    after:
      'name: after\nestimate_s: 5\nsteps:\n  - name: stamp\n    command: { run: "date +%s%N > {{ work_root }}/after" }\n',
  });
  const spans = () =>
    ['a', 'b', 'c'].map((n) =>
      file(`span-${n}`)
        .trim()
        .split('\n')
        .map((x) => BigInt(x)),
    );

  const together = await run(pb, { groupConcurrency: 3 });
  expect(together.result.status).toBe('ok');
  let s = spans();
  const latestStart = s.map((x) => x[0]!).reduce((x, y) => (x > y ? x : y));
  const earliestEnd = s.map((x) => x[1]!).reduce((x, y) => (x < y ? x : y));
  expect(latestStart < earliestEnd).toBe(true);
  // the phase after the group starts once all of the group has ended
  const after = BigInt(file('after').trim());
  expect(s.every((x) => x[1]! <= after)).toBe(true);

  for (const n of ['a', 'b', 'c']) rmSync(join(work, `span-${n}`));
  const oneByOne = await run(pb, { groupConcurrency: 1, force: true });
  expect(oneByOne.result.status).toBe('ok');
  s = spans().sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  expect(s[0]![1]! <= s[1]![0]! && s[1]![1]! <= s[2]![0]!).toBe(true);
}, 60_000);

test('a phase found satisfied defers its checkpoint into the next round trip, and the last one into the closing one', async () => {
  const pb = playbook('phases: [p1, p2]\n', {
    p1: 'name: p1\nestimate_s: 5\nsteps:\n  - name: f1\n    file: { path: "{{ work_root }}/f1", content: "1\\n" }\n',
    p2: 'name: p2\nestimate_s: 5\nsteps:\n  - name: f2\n    file: { path: "{{ work_root }}/f2", content: "2\\n" }\n',
  });
  await run(pb);
  const ck = (name: string) =>
    readFileSync(join(dir, 'state', 'checkpoints', name), 'utf8')
      .trim()
      .split(' ');
  const firstRun = ck('p1');
  // everything is in place: --force probes both phases, both are satisfied, nothing changes
  const forced = await run(pb, { force: true });
  expect(stepStatuses(forced.result)).toEqual(['p1/f1: ok', 'p2/f2: ok']);
  // both checkpoints were written by this run: p1's with p2's probe, p2's in the closing script
  const runId = ck('p1')[2];
  expect(runId).not.toBe(firstRun[2]);
  expect(ck('p2')[2]).toBe(runId);
  // and no round trip of its own: one satisfied phase more costs its probe's round trip only
  const justP1 = playbook('phases: [p1]\n', { p1: readFileSync(join(pb, 'p1.yml'), 'utf8') });
  const one = await run(justP1, { force: true });
  expect(forced.result.roundTrips - one.result.roundTrips).toBe(1);
});
