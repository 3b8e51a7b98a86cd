// End to end against three real sshd processes: provision, idempotent re-run, plan,
// run <phase>, checkpoints, one host failing, hostile values.
import { readFileSync, statSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli, REPO } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

const PLAYBOOKS = join(REPO, 'test/fixtures/basic');
let fleet: TestFleet;

const common = () => ['-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS];
async function provisionJson(...extra: string[]): Promise<{ code: number | null; run: RunResult; stderr: string }> {
  const r = await runCli(['provision', ...common(), '--yes', '--json', ...extra]);
  return { code: r.code, run: JSON.parse(r.stdout) as RunResult, stderr: r.stderr };
}
const steps = (run: RunResult) =>
  run.hosts.flatMap((h) => h.phases.flatMap((p) => p.steps.map((s) => ({ host: h.host, phase: p.name, ...s }))));

beforeAll(async () => {
  fleet = await startTestFleet(3);
});
afterAll(async () => {
  await fleet?.stop();
});

test('provisions three hosts, every step changed, files as described', async () => {
  const { code, run, stderr } = await provisionJson();
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(code).toBe(0);
  expect(run.hosts.map((h) => h.status)).toEqual(['ok', 'ok', 'ok']);
  expect(steps(run).every((s) => s.status === 'changed')).toBe(true);
  for (let i = 0; i < 3; i++) {
    const root = fleet.root(i);
    expect(readFileSync(join(root, 'greeting.txt'), 'utf8')).toBe(`hello from ${fleet.names[i]}\n`);
    expect(statSync(join(root, 'greeting.txt')).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(root, 'etc/app.conf'), 'utf8')).toBe(
      `# for ${fleet.names[i]}\ngreeting=hello\nmarker=plain\n`,
    );
    expect(readFileSync(join(root, 'etc/env'), 'utf8')).toBe('PORT=8080\nMODE=plain\n');
    expect(readFileSync(join(root, 'built/appended.log'), 'utf8')).toBe('plain\n');
    // timing rows were written on the host as the run went
    const runDir = join(fleet.stateDir(i), 'runs', run.runId);
    const timing = readFileSync(join(runDir, 'timing.csv'), 'utf8').trim().split('\n');
    expect(timing[0]).toBe('timestamp,run_id,host,phase,step,start_epoch_s,duration_s,status');
    expect(timing.filter((l) => l.includes(',changed'))).toHaveLength(6 + 3); // 6 steps + 3 phase rows
    // the lock is released
    expect(existsSync(join(fleet.stateDir(i), 'lock'))).toBe(false);
  }
});

test('second provision skips every phase by checkpoint; --force re-checks and changes nothing', async () => {
  const skipped = await provisionJson();
  expect(skipped.code).toBe(0);
  expect(steps(skipped.run).every((s) => s.status === 'skipped' && /done .* --force/.test(s.reason))).toBe(true);

  const mtime = statSync(join(fleet.root(0), 'greeting.txt')).mtimeMs;
  const forced = await provisionJson('--force');
  expect(forced.code).toBe(0);
  const all = steps(forced.run);
  expect(all).toHaveLength(18);
  expect(all.filter((s) => s.status !== 'ok')).toEqual([]);
  expect(all.every((s) => s.reason.length > 0)).toBe(true);
  expect(statSync(join(fleet.root(0), 'greeting.txt')).mtimeMs).toBe(mtime);
  expect(readFileSync(join(fleet.root(0), 'built/appended.log'), 'utf8')).toBe('plain\n');
  // satisfied phases cost one round trip each, plus opening and closing the session
  for (const h of forced.run.hosts) expect(h.roundTrips).toBeLessThanOrEqual(1 + 1 + 3 + 1);
});

test('plan shows the exact change and changes nothing', async () => {
  const env = join(fleet.root(1), 'etc/env');
  writeFileSync(env, 'PORT=9999\nMODE=plain\n');
  const before = readFileSync(env, 'utf8');
  const r = await runCli(['plan', ...common(), '--force', '--limit', fleet.names[1]!]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('~ will change Port line [line]: replace line 1 ("PORT=9999")');
  expect(r.stdout).toContain(`replace ${env}:1 with "PORT=8080"`);
  expect(r.stdout).toMatch(
    /= ok Greeting \[file\]: content \(sha256 [0-9a-f]{12}\), mode 640 and owner root:root match/,
  );
  expect(readFileSync(env, 'utf8')).toBe(before);
  expect(r.stdout).not.toContain(fleet.names[0]);
  const json = await runCli(['plan', ...common(), '--force', '--limit', fleet.names[1]!, '--json']);
  const plan = JSON.parse(json.stdout) as RunResult;
  const changed = steps(plan).filter((s) => s.status === 'changed');
  expect(changed.map((s) => s.name)).toEqual(['Port line']);
  expect(changed[0]!.commands).toEqual([`replace ${env}:1 with "PORT=8080"`]);
  expect(readFileSync(env, 'utf8')).toBe(before);
});

test('run <phase> re-runs only that phase, ignoring its checkpoint', async () => {
  const r = await runCli(['run', 'config', ...common(), '--yes', '--json', '--limit', fleet.names[1]!]);
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as RunResult;
  expect(run.hosts).toHaveLength(1);
  expect(run.hosts[0]!.phases.map((p) => p.name)).toEqual(['config']);
  expect(run.hosts[0]!.phases[0]!.steps.map((s) => [s.name, s.status])).toEqual([
    ['Port line', 'changed'],
    ['Mode line', 'ok'],
  ]);
  expect(readFileSync(join(fleet.root(1), 'etc/env'), 'utf8')).toBe('PORT=8080\nMODE=plain\n');
});

test('one host failing leaves the others done; the summary says where and why', async () => {
  // host 3's work folder is a file: its first phase cannot write there
  fleet.writeInventory({
    hostVars: (i) =>
      i === 2 ? { work_root: join(fleet.root(2), 'greeting.txt'), marker: 'second' } : { marker: 'second' },
  });
  const r = await runCli(['provision', ...common(), '--yes']);
  expect(r.code).toBe(2);
  expect(r.stdout).toMatch(new RegExp(`${fleet.names[2]} failed .*\\n.*failed in phase files, step "Greeting"`));
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const i of [0, 1]) {
    expect(readFileSync(join(fleet.root(i), 'etc/env'), 'utf8')).toBe('PORT=8080\nMODE=second\n');
    expect(readFileSync(join(fleet.root(i), 'built/appended.log'), 'utf8')).toBe('plain\nsecond\n');
  }
  // the critical phase failed: nothing later ran on host 3, and it holds no lock
  expect(existsSync(join(fleet.stateDir(2), 'lock'))).toBe(false);
  fleet.writeInventory();
});

test('hostile inventory values stay data', async () => {
  const canary = join(fleet.dir, 'pwned');
  const hostile = `x'; touch ${canary}; echo '$(touch ${canary})\`touch ${canary}\`\nnext`;
  fleet.writeInventory({ hostVars: () => ({ marker: hostile }) });
  const r = await runCli(['run', 'commands', ...common(), '--yes', '--limit', fleet.names[0]!]);
  expect(r.code).toBe(0);
  expect(existsSync(canary)).toBe(false);
  expect(readFileSync(join(fleet.root(0), 'built/appended.log'), 'utf8')).toContain(`${hostile}\n`);
  // a value climbing out of its folder is refused before anything is sent
  fleet.writeInventory({ hostVars: () => ({ work_root: `${fleet.root(0)}/../../escape` }) });
  const esc = await runCli(['provision', ...common(), '--yes']);
  expect(esc.code).toBe(5);
  expect(esc.stderr).toMatch(/files\.yml:\d+: variable "work_root" is not a safe path part/);
  expect(readdirSync(fleet.dir)).not.toContain('escape');
  fleet.writeInventory();
});
