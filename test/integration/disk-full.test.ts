// The host's disk fills during a step: a clear error, the run stops on that host, no
// half-written file is left, the other hosts finish.
import { writeFileSync, mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

let fleet: TestFleet;
let small: string;

beforeAll(async () => {
  fleet = await startTestFleet(2);
  // host 1 works on a 1 MiB filesystem of its own, mounted under the test's temp folder
  small = mkdtempSync(join(fleet.dir, 'small-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', small]);
});
afterAll(async () => {
  if (small) execFileSync('umount', [small]);
  await fleet?.stop();
});

test('a full disk stops that host with a clear message', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [data, after]\n');
  writeFileSync(
    join(pb, 'data.yml'),
    `name: data\nestimate_s: 5\ncritical: true\nsteps:\n  - name: big data file\n    file: { path: "{{ work_root }}/data.bin", content: "${'z'.repeat(3_000_000)}" }\n`,
  );
  writeFileSync(
    join(pb, 'after.yml'),
    'name: after\nestimate_s: 5\nsteps:\n  - name: marker\n    command: { run: "touch {{ work_root }}/after", creates: "{{ work_root }}/after" }\n',
  );
  fleet.writeInventory({ hostVars: (i) => (i === 0 ? { work_root: small } : {}) });
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 60_000,
  });
  expect(r.code).toBe(2);
  const run = JSON.parse(r.stdout) as RunResult;
  const [full, fine] = run.hosts;
  expect(full!.status).toBe('failed');
  const step = full!.phases[0]!.steps[0]!;
  expect(step.status).toBe('failed');
  expect(step.reason).toMatch(/^the disk is full on the host \(No space left on device\)/);
  expect(full!.phases[1]!.status).toBe('skipped');
  expect(full!.phases[1]!.reason).toBe('critical phase data failed');
  expect(readdirSync(small)).toEqual([]); // the temp file was removed, nothing half-written
  expect(fine!.status).toBe('ok');
  expect(existsSync(join(fleet.root(1), 'after'))).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
