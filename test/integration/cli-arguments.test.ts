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
  const r = await runCli([
    'run',
    '-l',
    fleet.names[0]!,
    'files',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    PLAYBOOKS,
    '--yes',
    '--json',
  ]);
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as { hosts: { host: string; phases: { name: string }[] }[] };
  expect(run.hosts.map((h) => [h.host, h.phases.map((p) => p.name)])).toEqual([[fleet.names[0], ['files']]]);
});

test('--color forces colour even into a pipe with NO_COLOR set; --no-color turns it off', async () => {
  const colour = await runCli(['plan', '--color', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS]);
  expect(colour.code).toBe(0);
  expect(colour.stdout).toContain('\x1b[');
  const plain = await runCli(['plan', '--no-color', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS], {
    env: { NO_COLOR: '' },
  });
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
  const noConfig = await runCli([
    'plan',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    PLAYBOOKS,
    '--ssh-config',
    join(fleet.dir, 'no-such-config'),
  ]);
  expect(noConfig.stderr).toContain(`error: --ssh-config ${join(fleet.dir, 'no-such-config')}: file not found`);
  expect(noConfig.code).toBe(5);
  const missingKey = join(fleet.dir, 'no-such-key');
  fleet.writeInventory({ host: () => ({ identity_file: missingKey }) });
  try {
    const noKey = await runCli(['plan', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS], {
      env: { SSH_AUTH_SOCK: '' },
    });
    expect(noKey.stderr).toContain(`identity file ${missingKey} not used: no such file`);
    expect(noKey.code).toBe(5);
    noStack(noKey.stderr);
  } finally {
    fleet.writeInventory();
  }
});

test('npm run demo without OpenSSH says what to install, no stack trace', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(REPO, 'dist/demo/run-demo.js')], {
    env: { ...process.env, VPS_PROVISION_SSHD: join(fleet.dir, 'no-sshd') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.stderr).toMatch(
    /^demo: OpenSSH's server is not installed \(.*no-sshd not found\): install it with "sudo apt-get install openssh-server"/,
  );
  noStack(r.stderr);
  expect(r.status).toBe(1);
});

test('output into a pipe its reader closes (| head -1) is dropped: no EPIPE stack trace, the exit code is the command’s', async () => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { CLI } = await import('../support/cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'vps-closed-pipe-'));
  try {
    // far more than a pipe's 64 KiB: the CLI is still writing when the reader goes
    const hosts = Array.from({ length: 3000 }, (_, i) => `  h${i}:\n    address: 10.1.${i >> 8}.${(i & 255) + 1}\n`);
    writeFileSync(join(dir, 'hosts.yml'), `hosts:\n${hosts.join('')}`);
    for (const args of [['hosts'], ['hosts', '--json'], ['--help']]) {
      const child = spawn(process.execPath, [CLI, ...args, '-i', join(dir, 'hosts.yml')], {
        cwd: dir,
        env: { ...process.env, CI: 'true', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let first = '';
      let stderr = '';
      child.stdout.once('data', (d: Buffer) => {
        first = String(d);
        child.stdout.destroy(); // the reader's end of the pipe is closed, as `head` does
      });
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
      clearTimeout(timer);
      expect(first.length).toBeGreaterThan(0);
      expect(stderr).toBe('');
      expect(code).toBe(0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--version alone is answered from package.json; --help lists every command; each command has its own help', async () => {
  const { spawnSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { CLI } = await import('../support/cli.js');
  const { COMMAND_INDEX } = await import('../../src/cli/command-index.js');
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  for (const args of [['--version'], ['--version', '--verbose']]) {
    const r = cli(args);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `${version}\n`, '']);
  }
  // top-level help from the index alone, one line per command
  const help = cli(['--help']);
  expect(help.status).toBe(0);
  const flat = help.stdout.replace(/\s+/g, ' '); // wrapped to 100 columns
  for (const entry of Object.values(COMMAND_INDEX))
    expect(flat).toContain(` vps-provision ${entry.command} ${entry.describe} `);
  // a command's help: its module is loaded, with the index's usage and description and its own options
  const own: Record<string, string> = {
    provision: '--skip-phase',
    run: 'phase name',
    plan: '--only-phase',
    check: '--min-mem-mb',
    hosts: '--ssh-config',
    report: 'report compare',
    bench: '--save-baseline',
    up: '--region',
    down: 'droplet name',
    droplets: '--tag',
    snapshot: 'droplet name',
    connect: '--launch',
  };
  expect(Object.keys(own).sort()).toEqual(Object.keys(COMMAND_INDEX).sort());
  for (const [name, entry] of Object.entries(COMMAND_INDEX)) {
    const r = cli([name, '--help']);
    expect([name, r.status, r.stderr]).toEqual([name, 0, '']);
    expect(r.stdout.replace(/\s+/g, ' ').startsWith(`vps-provision ${entry.command} ${entry.describe} `)).toBe(true);
    expect(r.stdout).toContain(own[name]);
  }
});
