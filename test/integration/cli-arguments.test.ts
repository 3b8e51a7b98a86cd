// Bad options are refused when parsed (exit 5, one clear line); -l never eats the phase;
// run without a phase lists them; "did you mean"; --color; completion scripts.
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli, REPO } from '../support/cli.js';

const PLAYBOOKS = join(REPO, 'test/fixtures/basic');
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startTestFleet(1);
});
afterAll(async () => {
  await fleet?.stop();
});

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .*\.js:\d+|unexpected/);

test.each([
  [['plan', '--concurrency', 'abc'], /^error: --concurrency "abc": expected a positive whole number/],
  [['plan', '--concurrency', '0'], /^error: --concurrency "0": expected a positive whole number/],
  [['plan', '--sample-interval', 'abc'], /^error: --sample-interval "abc": expected a positive whole number/],
  [['plan', '--ide-concurrency', '2.5'], /^error: --ide-concurrency "2.5": expected a positive whole number/],
  [['provison'], /^error: unknown command "provison"; did you mean provision\?/],
  [['run'], /^error: run: name a phase: files, config, commands\n/],
  [['run', 'fils'], /^error: run: unknown phase "fils"; did you mean files\?\n/],
  [['plan', '--only-phase', 'confg'], /^error: --only-phase: unknown phase "confg"; did you mean config\?\n/],
  [['completion', 'fish'], /^error: completion: no completion script for "fish"\nhint: supported shells: bash, zsh/],
])('%j is refused with exit 5', async (args, message) => {
  const r = await runCli([...args, '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS]);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(2); // the error and its hint
  noStack(r.stderr);
  expect(r.code).toBe(5);
});

test('-l before the phase does not take the phase name; repeated -l adds hosts', async () => {
  const r = await runCli(['run', '-l', fleet.names[0]!, 'files', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--yes', '--json']);
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as { hosts: { host: string; phases: { name: string }[] }[] };
  expect(run.hosts.map((h) => [h.host, h.phases.map((p) => p.name)])).toEqual([[fleet.names[0], ['files']]]);
});

test('--color forces colour even into a pipe with NO_COLOR set; --no-color turns it off', async () => {
  const colour = await runCli(['plan', '--color', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS]);
  expect(colour.code).toBe(0);
  expect(colour.stdout).toContain('\x1b[');
  const plain = await runCli(['plan', '--no-color', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS], { env: { NO_COLOR: '' } });
  expect(plain.stdout).not.toContain('\x1b[');
});

test('completion zsh prints a zsh script, completion bash a bash one', async () => {
  const zsh = await runCli(['completion', 'zsh']);
  expect(zsh.code).toBe(0);
  expect(zsh.stdout).toMatch(/^#compdef vps-provision\n/);
  expect(zsh.stdout).toContain('compdef _vps-provision_yargs_completions vps-provision');
  const bash = await runCli(['completion', 'bash'], { env: { SHELL: '/bin/zsh' } });
  expect(bash.stdout).toContain('complete -o bashdefault -o default -F _vps-provision_yargs_completions vps-provision');
});

test('a missing --ssh-config file is an error; a missing key file is named', async () => {
  const noConfig = await runCli(['plan', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--ssh-config', join(fleet.dir, 'no-such-config')]);
  expect(noConfig.stderr).toContain(`error: --ssh-config ${join(fleet.dir, 'no-such-config')}: file not found`);
  expect(noConfig.code).toBe(5);
  const missingKey = join(fleet.dir, 'no-such-key');
  fleet.writeInventory({ host: () => ({ identity_file: missingKey }) });
  try {
    const noKey = await runCli(['plan', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS], { env: { SSH_AUTH_SOCK: '' } });
    expect(noKey.stderr).toContain(`identity file ${missingKey} not used: no such file`);
    expect(noKey.code).toBe(5);
    noStack(noKey.stderr);
  } finally {
    fleet.writeInventory();
  }
});

test('npm run demo without OpenSSH says what to install, no stack trace', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(REPO, 'dist/demo/run-demo.js')], { env: { ...process.env, VPS_PROVISION_SSHD: join(fleet.dir, 'no-sshd') }, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toMatch(/^demo: OpenSSH's server is not installed \(.*no-sshd not found\): install it with "sudo apt-get install openssh-server"/);
  noStack(r.stderr);
  expect(r.status).toBe(1);
});
