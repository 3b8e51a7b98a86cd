// Step and phase timeout_s against real sshd: past the limit the action's process group is
// killed on the host and the step fails "timed out after N s"; a later step or phase of a
// critical phase does not run; the lock is released.
import { writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';
import { running } from '../support/running.js';

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startTestFleet(1);
});
afterAll(async () => {
  await fleet?.stop();
});

test('a step past its timeout_s, and a phase past its own: killed, "timed out after N s"', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  const marker = `vpsp-hang-${Date.now()}`;
  writeFileSync(join(pb, 'site.yml'), 'phases: [hang, slow, after]\n');
  writeFileSync(join(pb, 'hang.yml'), `name: hang\nestimate_s: 5\nsteps:\n  - name: hangs\n    timeout_s: 2\n    command: { run: "sh -c 'sleep 120' ${marker}-a; touch {{ work_root }}/hung" }\n`);
  writeFileSync(join(pb, 'slow.yml'), `name: slow\nestimate_s: 1\ntimeout_s: 3\ncritical: true\nsteps:\n  - name: first\n    command: { run: "sleep 1" }\n  - name: second\n    command: { run: "sh -c 'sleep 120' ${marker}-b; touch {{ work_root }}/slow" }\n`);
  writeFileSync(join(pb, 'after.yml'), 'name: after\nestimate_s: 1\nsteps:\n  - name: marker\n    command: { run: "touch {{ work_root }}/after" }\n');
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], { timeoutMs: 120_000 });
  expect(r.code).toBe(2);
  const run = JSON.parse(r.stdout) as RunResult;
  const [hang, slow, after] = run.hosts[0]!.phases;
  expect(hang!.steps[0]).toMatchObject({ status: 'failed', reason: 'timed out after 2 s' });
  expect(slow!.steps[0]!.status).toBe('changed');
  expect(slow!.steps[1]).toMatchObject({ status: 'failed', reason: 'timed out after 3 s (the phase limit)' });
  expect(after!.status).toBe('skipped');
  expect(running(marker)).toBe(0);
  expect(existsSync(join(fleet.root(0), 'hung'))).toBe(false);
  expect(existsSync(join(fleet.root(0), 'slow'))).toBe(false);
  expect(existsSync(join(fleet.stateDir(0), 'lock'))).toBe(false);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}, 180_000);
