// Bad input gets one clear message and exit 5 before anything is sent; a changed host
// key is refused naming both fingerprints; a held lock refuses a second controller.
import { mkdtempSync, writeFileSync, mkdirSync, cpSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { makeClientKey } from '../support/local-sshd.js';
import { runCli, REPO } from '../support/cli.js';

const PLAYBOOKS = join(REPO, 'test/fixtures/basic');
let fleet: TestFleet;
let scratch: string;

beforeAll(async () => {
  fleet = await startTestFleet(2);
  scratch = mkdtempSync(join(tmpdir(), 'vps-bad-'));
});
afterAll(async () => {
  await fleet?.stop();
});

function playbooksWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'pb-'));
  cpSync(PLAYBOOKS, dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function inventoryWith(text: string): string {
  const p = join(mkdtempSync(join(scratch, 'inv-')), 'hosts.yml');
  writeFileSync(p, text);
  return p;
}

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .*\.js:\d+/);

test.each([
  ['malformed YAML', 'hosts:\n  a: { address: [\n', /hosts\.yml:\d+: YAML syntax error/],
  ['unknown key', 'hosts:\n  a: { adress: 1.2.3.4 }\n', /hosts\.yml:2: .*adress/],
  [
    'wrong type',
    'defaults:\n  port: "twenty-two"\nhosts:\n  a: {}\n',
    /hosts\.yml:2: defaults\.port: expected a number \(e\.g\. 22\), found text\n/,
  ],
  ['missing hosts', 'defaults: {}\n', /hosts\.yml:1: no hosts defined at hosts/],
  ['unknown group member', 'hosts:\n  a: {}\ngroups:\n  g: [a, b]\n', /hosts\.yml:4: group "g" names unknown host "b"/],
  ['no hosts', 'hosts: {}\n', /no hosts defined/],
])('bad inventory (%s): one message with file and line, exit 5', async (_name, text, pattern) => {
  const r = await runCli(['plan', '-i', inventoryWith(text), '--playbooks', PLAYBOOKS]);
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toMatch(/\nhint: /);
  expect(r.stdout).toBe('');
  noStack(r.stderr);
});

test.each([
  [
    'unknown step type',
    { 'files.yml': 'name: files\nestimate_s: 1\nsteps:\n  - name: x\n    copy: { path: /tmp/x }\n' },
    /files\.yml:5: unknown step type "copy"/,
  ],
  [
    'two type keys',
    {
      'files.yml':
        'name: files\nestimate_s: 1\nsteps:\n  - name: x\n    file: { path: /a, content: b }\n    line: { path: /a, line: b }\n',
    },
    /files\.yml:4: step "x" must have exactly one step type key \(has file, line\)/,
  ],
  [
    'unknown variable',
    {
      'files.yml':
        'name: files\nestimate_s: 1\nsteps:\n  - name: x\n    file: { path: "/tmp/{{ nope }}", content: b }\n',
    },
    /files\.yml:5: unknown variable "nope" \(host host-1\)/,
  ],
  [
    'bad argument',
    { 'files.yml': 'name: files\nestimate_s: 1\nsteps:\n  - name: x\n    file: { path: relative, content: b }\n' },
    /files\.yml:5: .*an absolute path at steps\[0\]\.file\.path/,
  ],
  ['missing phase file', { 'site.yml': 'phases: [files, nothere]\n' }, /nothere\.yml: file not found/],
  [
    'needs a later phase',
    {
      'files.yml': 'name: files\nestimate_s: 1\nneeds: [commands]\nsteps:\n  - name: x\n    command: { run: "true" }\n',
    },
    /files\.yml:3: phase "files" needs "commands", which is not listed before it/,
  ],
  [
    'restart_on unknown step',
    {
      'commands.yml':
        'name: commands\nestimate_s: 1\nsteps:\n  - name: s\n    service: { name: x, restart_on: [ghost] }\n',
    },
    /commands\.yml:5: restart_on names "ghost"/,
  ],
])('bad playbook (%s): one message with file and line, exit 5', async (_name, files, pattern) => {
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', playbooksWith(files), '--yes']);
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(pattern);
  noStack(r.stderr);
  // nothing was sent to any host
  expect(existsSync(fleet.stateDir(0))).toBe(false);
});

test('unknown phase, unknown host in --limit, unsafe user name: exit 5', async () => {
  const phase = await runCli(['run', 'nosuch', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--yes']);
  expect(phase.code).toBe(5);
  expect(phase.stderr).toContain('unknown phase "nosuch"');
  expect(phase.stderr).toContain('files, config, commands');
  const limit = await runCli(['plan', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--limit', 'ghost']);
  expect(limit.code).toBe(5);
  expect(limit.stderr).toContain('"ghost" is neither a host nor a group');
  const user = await runCli(
    [
      'plan',
      '-i',
      fleet.inventoryPath,
      '--playbooks',
      playbooksWith({
        'files.yml': 'name: files\nestimate_s: 1\nsteps:\n  - name: dev\n    user: { name: "{{ who }}" }\n',
      }),
    ],
    { env: {} },
  );
  expect(user.code).toBe(5);
  expect(user.stderr).toMatch(/unknown variable "who"/);
  fleet.writeInventory({ hostVars: () => ({ who: 'root;reboot' }) });
  const hostile = await runCli([
    'plan',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    playbooksWith({
      'files.yml': 'name: files\nestimate_s: 1\nsteps:\n  - name: dev\n    user: { name: "{{ who }}" }\n',
    }),
  ]);
  expect(hostile.code).toBe(5);
  expect(hostile.stderr).toMatch(/files\.yml:5: a Linux user name/);
  fleet.writeInventory();
  for (const r of [phase, limit, user, hostile]) noStack(r.stderr);
});

test('without a terminal, commands that change hosts need --yes', async () => {
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS]);
  expect(r.code).toBe(5);
  expect(r.stderr).toContain('add --yes');
});

test('a changed host key is refused, naming the host and both fingerprints', async () => {
  const sshd = fleet.sshds[1]!;
  const fingerprint = (pub: string) => {
    const f = join(scratch, 'k.pub');
    writeFileSync(f, `${pub}\n`);
    return execFileSync('ssh-keygen', ['-lf', f]).toString().split(' ')[1]!;
  };
  const oldFp = fingerprint(sshd.hostPublicKey);
  sshd.rotateHostKey();
  await sshd.restart();
  const newFp = fingerprint(sshd.hostPublicKey);
  try {
    const check = await runCli(['check', '--skip-source-check', '-i', fleet.inventoryPath, '--limit', fleet.names[1]!]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(fleet.names[1]);
    expect(check.stdout).toContain(oldFp);
    expect(check.stdout).toContain(newFp);
    const prov = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--yes']);
    expect(prov.code).toBe(2);
    expect(prov.stdout).toMatch(new RegExp(`${fleet.names[1]} unreachable`));
    expect(prov.stdout).toContain(newFp);
    expect(prov.stdout).toMatch(new RegExp(`${fleet.names[0]} ok`));
    noStack(prov.stderr);
    // nothing happened on the host behind the new key
    expect(existsSync(join(fleet.root(1), 'greeting.txt'))).toBe(false);
  } finally {
    // trust the new key again for the tests after this one
    writeFileSync(fleet.knownHostsPath, fleet.sshds.map((s) => s.knownHostsLine).join('\n') + '\n');
  }
}, 180_000);

test('a state dir owned by another user, writable by group or others, or a symlink is refused with its path; nothing runs', async () => {
  const pb = playbooksWith({});
  const base = mkdtempSync(join(scratch, 'state-'));
  const cases: [string, () => void, RegExp][] = [
    [
      'other-owner',
      () => {
        mkdirSync(join(base, 'other-owner'), { mode: 0o700 });
        execFileSync('chown', ['65534:65534', join(base, 'other-owner')]);
      },
      /is owned by uid 65534, not by root \(uid 0\)/,
    ],
    [
      'group-writable',
      () => {
        mkdirSync(join(base, 'group-writable'));
        execFileSync('chmod', ['0775', join(base, 'group-writable')]);
      },
      /may be written by group or others \(mode 775\)/,
    ],
    [
      'world-writable',
      () => {
        mkdirSync(join(base, 'world-writable'));
        execFileSync('chmod', ['1777', join(base, 'world-writable')]);
      },
      /may be written by group or others \(mode 1777\)/,
    ],
    [
      'link',
      () => {
        mkdirSync(join(base, 'real'), { mode: 0o700 });
        execFileSync('ln', ['-s', join(base, 'real'), join(base, 'link')]);
      },
      /is a symbolic link/,
    ],
  ];
  try {
    for (const [name, make, message] of cases) {
      rmSync(join(fleet.root(0), 'greeting.txt'), { force: true });
      make();
      const dir = join(base, name);
      fleet.writeInventory({ host: (i) => (i === 0 ? { state_dir: dir } : {}) });
      const r = await runCli([
        'provision',
        '-i',
        fleet.inventoryPath,
        '--limit',
        fleet.names[0]!,
        '--playbooks',
        pb,
        '--yes',
      ]);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).toContain(`state dir ${dir} `);
      expect(r.stdout + r.stderr).toMatch(message);
      noStack(r.stderr);
      expect(existsSync(join(fleet.root(0), 'greeting.txt'))).toBe(false);
      expect(existsSync(join(dir, 'checkpoints'))).toBe(false);
    }
    // a state dir it creates is private
    const fresh = join(base, 'fresh', 'state');
    fleet.writeInventory({ host: (i) => (i === 0 ? { state_dir: fresh } : {}) });
    const ok = await runCli([
      'provision',
      '-i',
      fleet.inventoryPath,
      '--limit',
      fleet.names[0]!,
      '--playbooks',
      pb,
      '--yes',
    ]);
    expect(ok.code).toBe(0);
    expect(execFileSync('stat', ['-c', '%a', fresh, join(fresh, 'checkpoints')]).toString()).toBe('700\n700\n');
  } finally {
    fleet.writeInventory();
  }
}, 300_000);

test('a host refusing the key, another unreachable: the others finish, the summary says why', async () => {
  const stranger = makeClientKey(scratch, `stranger-${Date.now()}`);
  fleet.writeInventory({ host: (i) => (i === 1 ? { identity_file: stranger.privateKeyPath } : {}) });
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--yes', '--force']);
  expect(r.code).toBe(2);
  expect(r.stdout).toMatch(
    new RegExp(`${fleet.names[1]} unreachable.*\\n.*authentication refused \\(tried ${stranger.privateKeyPath}\\)`),
  );
  expect(r.stdout).toMatch(new RegExp(`${fleet.names[0]} ok`));
  fleet.writeInventory({ host: (i) => (i === 1 ? { port: 1 } : {}) });
  const down = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', PLAYBOOKS, '--yes', '--force']);
  expect(down.code).toBe(2);
  expect(down.stdout).toContain(`${fleet.names[1]} (root@127.0.0.1:1): connection refused`);
  expect(down.stdout).toMatch(new RegExp(`${fleet.names[0]} ok`));
  fleet.writeInventory();
});

test('accept-new records an unknown host key on first contact', async () => {
  writeFileSync(fleet.knownHostsPath, '');
  fleet.writeInventory({ top: { host_key_policy: 'accept-new' } });
  const r = await runCli(['check', '--skip-source-check', '-i', fleet.inventoryPath]);
  expect(r.code).toBe(0);
  // the login user is named (it used to be read before the remote shell had said it)
  expect(r.stdout).toContain(`login user ${userInfo().username}`);
  const known = readFileSync(fleet.knownHostsPath, 'utf8');
  for (const s of fleet.sshds) expect(known).toContain(`[127.0.0.1]:${s.port} ${s.hostPublicKey}`);
  fleet.writeInventory();
});

test('a second controller is refused while the lock is held; a stale lock is taken over', async () => {
  const lock = join(fleet.stateDir(0), 'lock');
  rmSync(fleet.root(0), { recursive: true, force: true });
  rmSync(join(fleet.stateDir(0), 'checkpoints'), { recursive: true, force: true });
  mkdirSync(lock, { recursive: true });
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // held by a live process (this test's jest worker) on this boot
  writeFileSync(
    join(lock, 'owner'),
    `run=20260101T000000Z-beef\nholder=ana@laptop (pid 42)\npid=${process.pid}\nboot=${boot}\nsince=2026-01-01T00:00:00Z\n`,
  );
  const held = await runCli([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    PLAYBOOKS,
    '--yes',
    '--limit',
    fleet.names[0]!,
  ]);
  expect(held.code).toBe(2);
  expect(held.stdout).toContain(
    'another vps-provision run holds the lock: ana@laptop (pid 42) since 2026-01-01T00:00:00Z',
  );
  expect(existsSync(join(fleet.root(0), 'greeting.txt'))).toBe(false);
  // the holder is gone: the lock is stale and taken over with a warning
  writeFileSync(
    join(lock, 'owner'),
    `run=20260101T000000Z-beef\nholder=ana@laptop (pid 42)\npid=999999999\nboot=${boot}\nsince=2026-01-01T00:00:00Z\n`,
  );
  const stale = await runCli([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    PLAYBOOKS,
    '--yes',
    '--limit',
    fleet.names[0]!,
  ]);
  expect(stale.code).toBe(0);
  expect(stale.stdout).toContain('took over a stale lock of ana@laptop (pid 42)');
  expect(existsSync(join(fleet.root(0), 'greeting.txt'))).toBe(true);
  expect(existsSync(lock)).toBe(false);
});
