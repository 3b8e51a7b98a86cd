// Adjacent phases of one `parallel` group run at the same time on a host, each on a
// shell of its own, capped by --ide-concurrency.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

let fleet: TestFleet;
let pb: string;

beforeAll(async () => {
  fleet = await startTestFleet(1);
  pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [prep, ide-a, ide-b, ide-c, after]\n');
  writeFileSync(
    join(pb, 'prep.yml'),
    'name: prep\nestimate_s: 1\nsteps:\n  - name: folder\n    command: { run: "mkdir -p {{ work_root }}/spans", creates: "{{ work_root }}/spans" }\n',
  );
  for (const n of ['a', 'b', 'c']) {
    // each records when it started and ended (host clock, ns) so overlap can be checked; the
    // sleep outlasts a shell start-up (a login shell here pays ~0.7 s of ~/.bashrc, more under load)
    writeFileSync(
      join(pb, `ide-${n}.yml`),
      `name: ide-${n}\nestimate_s: 2\nparallel: ide\nneeds: [prep]\nsteps:\n  - name: install ${n}\n    command:\n      run: "date +%s%N > {{ work_root }}/spans/${n}; sleep 4; date +%s%N >> {{ work_root }}/spans/${n}"\n      creates: "{{ work_root }}/spans/${n}"\n`,
    );
  }
  writeFileSync(
    join(pb, 'after.yml'),
    'name: after\nestimate_s: 1\nneeds: [ide-a, ide-b, ide-c]\nsteps:\n  - name: done\n    command: { run: "touch {{ work_root }}/after", creates: "{{ work_root }}/after" }\n',
  );
});
afterAll(async () => {
  await fleet?.stop();
});

const spans = () =>
  ['a', 'b', 'c'].map((n) =>
    readFileSync(join(fleet.root(0), 'spans', n), 'utf8')
      .trim()
      .split('\n')
      .map((x) => BigInt(x)),
  );

test('a parallel group runs together, then the phases after it', async () => {
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json']);
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as RunResult;
  expect(run.hosts[0]!.phases.map((p) => [p.name, p.status])).toEqual([
    ['prep', 'changed'],
    ['ide-a', 'changed'],
    ['ide-b', 'changed'],
    ['ide-c', 'changed'],
    ['after', 'changed'],
  ]);
  const [a, b, c] = spans();
  // every one started before any other ended: they overlapped
  const latestStart = [a![0]!, b![0]!, c![0]!].reduce((x, y) => (x > y ? x : y));
  const earliestEnd = [a![1]!, b![1]!, c![1]!].reduce((x, y) => (x < y ? x : y));
  expect(latestStart < earliestEnd).toBe(true);
});

test('--ide-concurrency 1 runs them one after another', async () => {
  for (const n of ['a', 'b', 'c']) rmSync(join(fleet.root(0), 'spans', n));
  const r = await runCli([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    pb,
    '--yes',
    '--force',
    '--ide-concurrency',
    '1',
    '--only-phase',
    'ide-a,ide-b,ide-c',
  ]);
  expect(r.code).toBe(0);
  const sorted = spans().sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  expect(sorted[0]![1]! <= sorted[1]![0]! && sorted[1]![1]! <= sorted[2]![0]!).toBe(true);
});
