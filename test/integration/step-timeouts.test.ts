// Step and phase timeout_s against real sshd: past the limit the action's process group is
// killed on the host and the step fails "timed out after N s"; a later step or phase of a
// critical phase does not run; the lock is released. Reading a step's state (its probe, an
// `unless` guard, the re-check before acting) is bounded the same way.
import { writeFileSync, mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli, spawnCli } from '../support/cli.js';
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
  writeFileSync(
    join(pb, 'hang.yml'),
    `name: hang\nestimate_s: 5\nsteps:\n  - name: hangs\n    timeout_s: 2\n    command: { run: "sh -c 'sleep 120' ${marker}-a; touch {{ work_root }}/hung" }\n`,
  );
  writeFileSync(
    join(pb, 'slow.yml'),
    `name: slow\nestimate_s: 1\ntimeout_s: 3\ncritical: true\nsteps:\n  - name: first\n    command: { run: "sleep 1" }\n  - name: second\n    command: { run: "sh -c 'sleep 120' ${marker}-b; touch {{ work_root }}/slow" }\n`,
  );
  writeFileSync(
    join(pb, 'after.yml'),
    'name: after\nestimate_s: 1\nsteps:\n  - name: marker\n    command: { run: "touch {{ work_root }}/after" }\n',
  );
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 120_000,
  });
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

// A read that hangs (an `unless` guard here: the author's shell) is killed on the host by its
// script's watchdog past the step's limit, or what is left of the phase's; the step fails
// "timed out ... while checking its state", its phase stops there, and the driver answers
// the next script as usual (the phases after it run).
test('an unless guard or a probe that hangs: the step fails "timed out ... while checking its state", the run goes on', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  const marker = `vpsp-guard-${Date.now()}`;
  const w = '{{ work_root }}';
  const hang = (k: string) => `sh -c 'sleep 1000' ${marker}-${k}`;
  writeFileSync(join(pb, 'site.yml'), 'phases: [guard, phaseguard, recheck, batched, after]\n');
  // in the probe round trip, the step's own limit; under become the guard runs (and is killed) as root through sudo
  writeFileSync(
    join(pb, 'guard.yml'),
    `name: guard\nestimate_s: 1\nbecome: true\nsteps:\n  - name: guarded by a hang\n    timeout_s: 2\n    command: { run: "touch ${w}/guarded", unless: "echo $SUDO_USER > ${w}/guard-user; ${hang('a')}" }\n`,
  );
  // no step limit: the phase's own
  writeFileSync(
    join(pb, 'phaseguard.yml'),
    `name: phaseguard\nestimate_s: 1\ntimeout_s: 3\nsteps:\n  - name: a quick one\n    command: { run: "true", unless: "true" }\n  - name: hangs in the phase\n    command: { run: "touch ${w}/phaseguarded", unless: "${hang('b')}" }\n`,
  );
  // quick when probed, hangs when re-checked right before acting (step 1 changed the host meanwhile)
  writeFileSync(
    join(pb, 'recheck.yml'),
    `name: recheck\nestimate_s: 1\nsteps:\n  - name: flag\n    command: { run: "touch ${w}/flag", creates: "${w}/flag" }\n  - name: hangs when re-checked\n    timeout_s: 2\n    command: { run: "touch ${w}/rechecked", unless: "[ ! -e ${w}/flag ] || ${hang('c')}" }\n  - name: not reached\n    command: { run: "touch ${w}/reached" }\n`,
  );
  // batched reads (stat, sha256sum, awk, a creates guard) around a step that hangs, not the first
  writeFileSync(
    join(pb, 'batched.yml'),
    `name: batched\nestimate_s: 1\nsteps:\n  - name: a file\n    file: { path: "${w}/batched.txt", content: "x" }\n  - name: a line\n    line: { path: "${w}/batched.txt", line: "y" }\n` +
      `  - name: a creates guard\n    command: { run: "touch ${w}/made", creates: "${w}/made" }\n  - name: the fourth hangs\n    timeout_s: 2\n    command: { run: "touch ${w}/fourth", unless: "${hang('d')}" }\n  - name: a last file\n    file: { path: "${w}/last.txt", content: "z" }\n`,
  );
  writeFileSync(
    join(pb, 'after.yml'),
    `name: after\nestimate_s: 1\nsteps:\n  - name: marker\n    command: { run: "touch ${w}/after" }\n`,
  );
  const plan = await runCli(['plan', '-i', fleet.inventoryPath, '--playbooks', pb, '--json'], { timeoutMs: 120_000 });
  expect((JSON.parse(plan.stdout) as RunResult).hosts[0]!.phases[0]!.steps[0]).toMatchObject({
    status: 'failed',
    reason: 'timed out after 2 s while checking its state',
  });
  expect(running(marker)).toBe(0);

  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 120_000,
  });
  expect(r.code).toBe(2);
  const run = JSON.parse(r.stdout) as RunResult;
  const [guard, phaseguard, recheck, batched, after] = run.hosts[0]!.phases;
  expect(guard).toMatchObject({
    status: 'failed',
    reason: 'step "guarded by a hang" timed out after 2 s while checking its state',
  });
  expect(readFileSync(join(fleet.root(0), 'guard-user'), 'utf8')).toBe('root\n');
  // the probe round trip was cut short: no step of the phase was decided
  expect(phaseguard!.steps.map((s) => s.status)).toEqual(['skipped', 'failed']);
  expect(phaseguard!.steps[1]!.reason).toBe('timed out after 3 s (the phase limit) while checking its state');
  expect(recheck!.steps.map((s) => s.status)).toEqual(['changed', 'failed', 'skipped']);
  expect(recheck!.steps[1]!.reason).toBe('timed out after 2 s while checking its state');
  expect(batched!.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped', 'failed', 'skipped']);
  expect(batched!.reason).toBe('step "the fourth hangs" timed out after 2 s while checking its state');
  // the driver stayed in step: the next phase ran
  expect(after!.status).toBe('changed');
  expect(running(marker)).toBe(0);
  for (const f of ['guarded', 'phaseguarded', 'rechecked', 'reached', 'batched.txt', 'made', 'fourth'])
    expect([f, existsSync(join(fleet.root(0), f))]).toEqual([f, false]);
  expect(existsSync(join(fleet.root(0), 'after'))).toBe(true);
  expect(existsSync(join(fleet.stateDir(0), 'lock'))).toBe(false);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}, 240_000);

test('Ctrl-C while a guard hangs (become, no limit of its own): exit 130 within seconds, the guard is stopped', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  const marker = `vpsp-guard-int-${Date.now()}`;
  writeFileSync(join(pb, 'site.yml'), 'phases: [stuck]\n');
  writeFileSync(
    join(pb, 'stuck.yml'),
    `name: stuck\nestimate_s: 100\nbecome: true\nsteps:\n  - name: a file\n    file: { path: "{{ work_root }}/stuck.txt", content: "x" }\n` +
      `  - name: hangs\n    command: { run: "touch {{ work_root }}/unstuck", unless: "sh -c 'sleep 1000' ${marker}" }\n`,
  );
  const child = spawnCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes']);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  // bounded wait (a login costs ~0.7 s here) for the guard to be running on the host
  for (let i = 0; i < 600 && running(marker) === 0; i++) await new Promise((res) => setTimeout(res, 100));
  expect(running(marker)).toBeGreaterThan(0);
  const sent = Date.now();
  child.kill('SIGINT');
  expect(await closed).toBe(130);
  expect(Date.now() - sent).toBeLessThan(15_000); // "within seconds": the phase limit is 600 s
  expect(out).toMatch(/interrupted during phase stuck/);
  expect(running(marker)).toBe(0);
  expect(existsSync(join(fleet.root(0), 'unstuck'))).toBe(false);
  expect(existsSync(join(fleet.stateDir(0), 'lock'))).toBe(false);
}, 120_000);
