// The SSH set-up users already have: ~/.ssh/config aliases, encrypted keys, ssh-agent,
// become through sudo.
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import { startSshd, makeClientKey, type LocalSshd, type ClientKey } from '../support/local-sshd.js';
import { runCli, REPO } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

let dir: string;
let home: string;
let sshd: LocalSshd;
let plain: ClientKey;
let encrypted: ClientKey;
let agentKey: ClientKey;
let agent: ChildProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vps-habits-'));
  home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  plain = makeClientKey(dir, 'plain');
  encrypted = makeClientKey(dir, 'encrypted', 'correct horse');
  agentKey = makeClientKey(dir, 'agent-only');
  sshd = await startSshd({ authorizedKeys: [plain.publicKey, encrypted.publicKey, agentKey.publicKey] });
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
});
afterAll(async () => {
  if (agent?.pid) agent.kill('SIGTERM');
  await sshd?.stop();
});

function inventory(hosts: Record<string, unknown>, defaults: Record<string, unknown> = {}): string {
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      known_hosts_file: join(dir, 'known_hosts'),
      host_key_policy: 'strict',
      defaults: { state_dir: join(dir, 'state'), ...defaults },
      hosts,
    }),
  );
  return p;
}
// HOME points at an empty folder: no default keys, no ~/.ssh/config of this machine
const env = (extra: NodeJS.ProcessEnv = {}) => ({ HOME: home, SSH_AUTH_SOCK: '', ...extra });

test('a ~/.ssh/config alias gives HostName, Port, User and IdentityFile', async () => {
  writeFileSync(
    join(home, '.ssh/config'),
    `Host box\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ${plain.privateKeyPath}\n`,
  );
  const inv = inventory({ box: null });
  const r = await runCli(['check', '--skip-source-check', '-i', inv, '--json'], { env: env() });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { hosts: { host: string; ok: boolean }[] };
  expect(out.hosts).toEqual([expect.objectContaining({ host: 'box', ok: true })]);
  // the inventory's own port wins over ~/.ssh/config
  const wrong = inventory({ box: { port: 1 } });
  const refused = await runCli(['check', '--skip-source-check', '-i', wrong], { env: env() });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('box (root@127.0.0.1:1): connection refused');
  writeFileSync(join(home, '.ssh/config'), '');
});

test('an encrypted key: passphrase from the environment, a clear error otherwise', async () => {
  const inv = inventory(
    { h: { address: '127.0.0.1', port: sshd.port } },
    { identity_file: encrypted.privateKeyPath, user: 'root' },
  );
  const none = await runCli(['check', '--skip-source-check', '-i', inv], { env: env() });
  expect(none.code).toBe(5);
  expect(none.stderr).toContain(`private key ${encrypted.privateKeyPath} is encrypted`);
  expect(none.stderr).toContain('VPS_PROVISION_KEY_PASSPHRASE');
  const wrong = await runCli(['check', '--skip-source-check', '-i', inv], {
    env: env({ VPS_PROVISION_KEY_PASSPHRASE: 'wrong' }),
  });
  expect(wrong.code).toBe(5);
  expect(wrong.stderr).toContain(`wrong passphrase for private key ${encrypted.privateKeyPath}`);
  expect(wrong.stderr + wrong.stdout).not.toContain('wrong\n');
  const right = await runCli(['check', '--skip-source-check', '-i', inv], {
    env: env({ VPS_PROVISION_KEY_PASSPHRASE: 'correct horse' }),
  });
  expect(right.code).toBe(0);
  expect(right.stdout + right.stderr).not.toContain('correct horse');
});

test('ssh-agent: a key only the agent holds', async () => {
  const sock = join(dir, 'agent.sock');
  agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      break;
    } catch (e) {
      if ((e as { status?: number }).status === 1) break; // agent up, no keys yet
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  execFileSync('ssh-add', [agentKey.privateKeyPath], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
  const inv = inventory({ h: { address: '127.0.0.1', port: sshd.port } }, { user: 'root' });
  const without = await runCli(['check', '--skip-source-check', '-i', inv], { env: env() });
  expect(without.code).toBe(5);
  expect(without.stderr).toContain('no SSH key to offer');
  const r = await runCli(['check', '--skip-source-check', '-i', inv], { env: env({ SSH_AUTH_SOCK: sock }) });
  expect(r.code).toBe(0);
  agent.kill('SIGTERM');
  agent = undefined;
});

test('become: steps run through sudo -n', async () => {
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [who]\n');
  writeFileSync(
    join(pb, 'who.yml'),
    `name: who\nestimate_s: 1\nsteps:\n  - name: Record the user\n    command: { run: "id -un > {{ out }}; echo $SUDO_USER >> {{ out }}", creates: "{{ out }}" }\n`,
  );
  const out = join(dir, 'who.txt');
  const inv = inventory(
    { h: { address: '127.0.0.1', port: sshd.port, become: true, vars: { out } } },
    { user: 'root', identity_file: plain.privateKeyPath },
  );
  const reports = mkdtempSync(join(dir, 'reports-'));
  const sudoPassword = 'Sudo-Secret-Value-42';
  const r = await runCli(
    ['provision', '-i', inv, '--playbooks', pb, '--yes', '--json', '--reports-dir', reports, '--verbose'],
    { env: env({ VPS_PROVISION_SUDO_PASSWORD: sudoPassword }) },
  );
  expect(r.code).toBe(0);
  expect((JSON.parse(r.stdout) as RunResult).hosts[0]!.status).toBe('ok');
  // SUDO_USER is set only when the command went through sudo
  expect(readFileSync(out, 'utf8')).toBe('root\nroot\n');
  // the sudo password is in no output and no file the run wrote, here or on the host
  expect(r.stdout + r.stderr).not.toContain(sudoPassword);
  const grep = (where: string) => {
    try {
      return execFileSync('grep', ['-rl', '--', sudoPassword, where]).toString();
    } catch {
      return '';
    }
  };
  expect(grep(reports)).toBe('');
  expect(grep(join(dir, 'state'))).toBe('');
});

test('a sudo password sudo never asks for (root login) never reaches the remote driver', async () => {
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [count]\n');
  writeFileSync(
    join(pb, 'count.yml'),
    `name: count\nestimate_s: 1\nsteps:\n  - name: Count the runs\n    command: { run: "echo run >> {{ out }}" }\n`,
  );
  // shaped like the driver's "<id> <bytes>" header: sent anyway, it swallowed the next
  // script (hang) or ran part of it
  for (const [i, password] of ['1 40', '1 5', '2 0\necho injected'].entries()) {
    const out = join(dir, `runs-${i}.txt`);
    const inv = inventory(
      { h: { address: '127.0.0.1', port: sshd.port, become: true, vars: { out } } },
      { user: 'root', identity_file: plain.privateKeyPath },
    );
    const r = await runCli(['provision', '-i', inv, '--playbooks', pb, '--yes', '--json'], {
      env: env({ VPS_PROVISION_SUDO_PASSWORD: password }),
      timeoutMs: 120_000,
    });
    expect(`${r.code} ${r.stderr}`).toMatch(/^0 /);
    expect((JSON.parse(r.stdout) as RunResult).hosts[0]!.status).toBe('ok');
    expect(readFileSync(out, 'utf8')).toBe('run\n');
  }
}, 300_000);

test('ProxyJump through a bastion, and a hashed known_hosts', async () => {
  const bastion = await startSshd({ authorizedKeys: [plain.publicKey] });
  try {
    const kh = join(dir, 'known_hosts_hashed');
    writeFileSync(kh, `${sshd.knownHostsLine}\n${bastion.knownHostsLine}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
    expect(readFileSync(kh, 'utf8')).not.toContain('127.0.0.1');
    writeFileSync(
      join(home, '.ssh/config'),
      [
        'Host jumpbox',
        '  HostName 127.0.0.1',
        `  Port ${bastion.port}`,
        '  User root',
        `  IdentityFile ${plain.privateKeyPath}`,
        'Host inner',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        '  User root',
        `  IdentityFile ${plain.privateKeyPath}`,
        '  ProxyJump jumpbox',
        '',
      ].join('\n'),
    );
    const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
    writeFileSync(
      p,
      stringify({
        known_hosts_file: kh,
        host_key_policy: 'strict',
        defaults: { state_dir: join(dir, 'state') },
        hosts: { inner: null },
      }),
    );
    const ok = await runCli(['check', '--skip-source-check', '-i', p], { env: env() });
    expect(ok.code).toBe(0);
    // the target is reached through the bastion: without it, nothing gets through
    await bastion.stop();
    const down = await runCli(['check', '--skip-source-check', '-i', p], { env: env() });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/inner via jumpbox .*connection refused/);
  } finally {
    await bastion.stop();
    writeFileSync(join(home, '.ssh/config'), '');
  }
});

test('hosts shows the inventory as resolved', async () => {
  const inv = inventory({ a: { address: '10.9.9.9', vars: { x: 1 } }, b: null }, { user: 'dev', port: 2200 });
  const r = await runCli(['hosts', '-i', inv, '--json'], { env: env() });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as {
    hosts: { name: string; address: string; user: string; port: number; vars: Record<string, unknown> }[];
  };
  expect(out.hosts.map((h) => [h.name, h.address, h.user, h.port])).toEqual([
    ['a', '10.9.9.9', 'dev', 2200],
    ['b', 'b', 'dev', 2200],
  ]);
  expect(out.hosts[0]!.vars).toEqual({ inventory_hostname: 'a', x: 1 });
  void REPO;
});

test('hosts shows what a connection will use: an alias resolved through ~/.ssh/config and /etc/ssh/ssh_config', async () => {
  const etc = mkdtempSync(join(dir, 'etc-ssh-'));
  writeFileSync(
    join(etc, 'ssh_config'),
    'Host *\n  HashKnownHosts yes\n  StrictHostKeyChecking accept-new\n  Port 2222\n',
  );
  writeFileSync(
    join(home, '.ssh/config'),
    `Host box\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User deploy\n  IdentityFile ${plain.privateKeyPath}\n  ProxyJump jump@bastion:2200\nHost other\n  HostName 10.1.2.3\n`,
  );
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      hosts: {
        box: null,
        other: { become: true },
        pinned: { address: '10.0.0.9', state_dir: '/srv/state', user: 'root' },
      },
    }),
  );
  const r = await runCli(['hosts', '-i', p, '--json'], { env: env({ VPS_PROVISION_TEST_ETC_SSH: etc }) });
  expect(r.code).toBe(0);
  type Shown = Record<string, unknown> & { name: string };
  const hosts = (JSON.parse(r.stdout) as { hosts: Shown[] }).hosts;
  expect(hosts[0]).toMatchObject({
    name: 'box',
    address: '127.0.0.1',
    inventory_address: 'box',
    port: sshd.port,
    user: 'deploy',
    identity_files: [plain.privateKeyPath],
    proxy_jump: 'jump@bastion:2200',
    become: false,
    // not root, no become: the login user's own state dir
    state_dir: '${XDG_STATE_HOME:-~/.local/state}/vps-provision',
    host_key_policy: 'accept-new',
    host_key_policy_from: 'ssh_config',
    known_hosts_files: [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')],
    global_known_hosts_files: [join(etc, 'ssh_known_hosts'), join(etc, 'ssh_known_hosts2')],
    hash_known_hosts: true,
  });
  // the system file's Port applies where the user's sets none; become means root's state dir
  expect(hosts[1]).toMatchObject({
    name: 'other',
    address: '10.1.2.3',
    port: 2222,
    user: 'root',
    state_dir: '/var/lib/vps-provision',
    proxy_jump: null,
  });
  expect(hosts[2]).toMatchObject({ name: 'pinned', address: '10.0.0.9', state_dir: '/srv/state' });
  // the command line's policy wins
  const cli = await runCli(['hosts', '-i', p, '--json', '--host-key-policy', 'strict'], {
    env: env({ VPS_PROVISION_TEST_ETC_SSH: etc }),
  });
  expect((JSON.parse(cli.stdout) as { hosts: Shown[] }).hosts[0]).toMatchObject({
    host_key_policy: 'strict',
    host_key_policy_from: 'command line',
  });
  const text = await runCli(['hosts', '-i', p], { env: env({ VPS_PROVISION_TEST_ETC_SSH: etc }) });
  expect(text.code).toBe(0);
  expect(text.stdout).toContain(`box  deploy@127.0.0.1:${sshd.port}\n`);
  expect(text.stdout).toContain('    via ssh_config: box -> 127.0.0.1\n');
  expect(text.stdout).toContain(`    keys: ${plain.privateKeyPath}\n`);
  expect(text.stdout).toContain('    jump: jump@bastion:2200\n');
  expect(text.stdout).toContain('    state dir: ${XDG_STATE_HOME:-~/.local/state}/vps-provision\n');
  expect(text.stdout).toContain('    host key policy: accept-new (ssh_config)');
  writeFileSync(join(home, '.ssh/config'), '');
});
