// A non-root login user with sudo, on a fake droplet (real accounts, real sudo): without a
// working sudo on every host nothing is changed anywhere; with NOPASSWD, or with the one
// password given (sent over stdin, never shown), steps run as root.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startDroplets, stopAll, type FakeDroplet } from '../support/droplet/fake-droplet.js';
import { makeClientKey, type ClientKey } from '../support/local-sshd.js';
import { runCli, spawnCli } from '../support/cli.js';

const run = promisify(execFile);
const PASSWORD = 'Sudo-Pw-Secret-7731';
let dir: string;
let key: ClientKey;
let droplet: FakeDroplet;
let known: string;

async function asRoot(command: string): Promise<string> {
  const r = await run(
    'ssh',
    [
      '-i',
      key.privateKeyPath,
      '-o',
      `UserKnownHostsFile=${known}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      `root@${droplet.address}`,
      command,
    ],
    { timeout: 60_000 },
  );
  return r.stdout;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vps-sudo-'));
  key = makeClientKey(dir);
  [droplet] = await startDroplets(1, { authorizedKey: key.publicKey, namePrefix: 'sudo', nat: false });
  known = join(dir, 'known_hosts');
  writeFileSync(known, `${droplet.knownHostsLine}\n`);
  const setup = ['nopw', 'withpw', 'nosudo', 'plain'].map(
    (u) =>
      `useradd -m -s /bin/sh ${u} && install -d -m 700 -o ${u} /home/${u}/.ssh && install -m 600 -o ${u} /root/.ssh/authorized_keys /home/${u}/.ssh/authorized_keys`,
  );
  await asRoot(
    [
      ...setup,
      `echo 'withpw:${PASSWORD}' | chpasswd`,
      `echo 'nopw ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/nopw`,
      `echo 'withpw ALL=(ALL:ALL) ALL' > /etc/sudoers.d/withpw`,
      'chmod 440 /etc/sudoers.d/nopw /etc/sudoers.d/withpw',
    ].join(' && '),
  );
}, 600_000);
afterAll(async () => {
  await stopAll();
});

function inventory(users: string[]): string {
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      known_hosts_file: known,
      host_key_policy: 'strict',
      defaults: { identity_file: key.privateKeyPath, become: true },
      // one droplet, one login user per entry; each keeps its own state (lock, checkpoints)
      hosts: Object.fromEntries(
        users.map((u) => [
          `as-${u}`,
          { address: droplet.address, user: u, state_dir: `/var/lib/vps-provision-${u}`, vars: { who: u } },
        ]),
      ),
    }),
  );
  return p;
}

const playbooks = () => {
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [root-work]\n');
  writeFileSync(
    join(pb, 'root-work.yml'),
    'name: root-work\nestimate_s: 5\nsteps:\n  - name: a file only root may write\n    file: { path: "/root/marker-{{ who }}", content: "done\\n", mode: "0600" }\n',
  );
  return pb;
};

test('a host where sudo does not work stops the run before any change, everywhere', async () => {
  const r = await runCli(
    ['provision', '-i', inventory(['nopw', 'withpw', 'nosudo']), '--playbooks', playbooks(), '--yes'],
    { timeoutMs: 120_000 },
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/sudo does not work on 2 host\(s\), nothing was changed anywhere/);
  expect(r.stderr).toMatch(/as-withpw: sudo refused/);
  expect(r.stderr).toMatch(/as-nosudo: sudo refused/);
  expect(await asRoot('ls /root')).not.toContain('marker-');
  const wrong = await runCli(['provision', '-i', inventory(['withpw']), '--playbooks', playbooks(), '--yes'], {
    env: { VPS_PROVISION_SUDO_PASSWORD: 'not-the-password' },
    timeoutMs: 120_000,
  });
  expect(wrong.code).toBe(1);
  expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password');
}, 300_000);

test('NOPASSWD, and a sudo password given once: steps run as root, the password is shown nowhere', async () => {
  const r = await runCli(
    ['provision', '-i', inventory(['nopw', 'withpw']), '--playbooks', playbooks(), '--yes', '--verbose'],
    { env: { VPS_PROVISION_SUDO_PASSWORD: PASSWORD }, timeoutMs: 180_000 },
  );
  expect(r.code).toBe(0);
  expect(await asRoot('stat -c "%U %a" /root/marker-nopw /root/marker-withpw')).toBe('root 600\nroot 600\n');
  expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  // nor in anything the run left on the droplet
  expect(
    await asRoot(
      `grep -rl -- '${PASSWORD}' /var/lib/vps-provision-nopw /var/lib/vps-provision-withpw /tmp /var/log 2>/dev/null; true`,
    ),
  ).toBe('');
}, 300_000);

test('NOPASSWD with a sudo password given that sudo never asks for: it never reaches the driver (no hang, no injection)', async () => {
  // shaped like the driver's "<id> <bytes>" header: written anyway, it swallowed the next script
  for (const password of ['1 40', '2 0\necho injected > /root/injected']) {
    const r = await runCli(['provision', '-i', inventory(['nopw']), '--playbooks', playbooks(), '--yes', '--force'], {
      env: { VPS_PROVISION_SUDO_PASSWORD: password },
      timeoutMs: 180_000,
    });
    expect(`${r.code} ${r.stderr}`).toMatch(/^0 /);
  }
  expect(await asRoot('ls /root')).not.toContain('injected');
}, 400_000);

test("a non-root login without become: the state dir is the login user's own ~/.local/state/vps-provision, 0700", async () => {
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      known_hosts_file: known,
      host_key_policy: 'strict',
      defaults: { identity_file: key.privateKeyPath },
      hosts: { 'as-plain': { address: droplet.address, user: 'plain' } },
    }),
  );
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [mine]\n');
  writeFileSync(
    join(pb, 'mine.yml'),
    'name: mine\nestimate_s: 5\nsteps:\n  - name: a file of my own\n    file: { path: /home/plain/marker, content: "done\\n", mode: "0600" }\n',
  );
  const r = await runCli(['provision', '-i', p, '--playbooks', pb, '--yes'], { timeoutMs: 180_000 });
  expect(`${r.code} ${r.stdout}${r.stderr}`).toMatch(/^0 /);
  expect(
    await asRoot(
      'stat -c "%U %a" /home/plain/.local/state/vps-provision /home/plain/.local/state/vps-provision/checkpoints/mine /home/plain/marker',
    ),
  ).toBe('plain 700\nplain 644\nplain 600\n');
  expect(await asRoot('ls /var/lib/vps-provision 2>&1; true')).toMatch(/No such file|^$/);
  // hosts says so before any connection
  const shown = await runCli(['hosts', '-i', p, '--json']);
  expect((JSON.parse(shown.stdout) as { hosts: { state_dir: string }[] }).hosts[0]!.state_dir).toBe(
    '${XDG_STATE_HOME:-~/.local/state}/vps-provision',
  );
  // the second run finds its checkpoint there
  const again = await runCli(['provision', '-i', p, '--playbooks', pb, '--yes', '--json'], { timeoutMs: 180_000 });
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('"skipped"');
}, 400_000);

test("the user step refuses a ~/.ssh that is a symbolic link (to root's own)", async () => {
  await asRoot('useradd -m -s /bin/sh victim && rm -rf /home/victim/.ssh && ln -s /root/.ssh /home/victim/.ssh');
  const before = await asRoot(
    'stat -c "%U %a" /root/.ssh /root/.ssh/authorized_keys; md5sum < /root/.ssh/authorized_keys',
  );
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      known_hosts_file: known,
      host_key_policy: 'strict',
      defaults: { identity_file: key.privateKeyPath, state_dir: '/var/lib/vps-provision-victim' },
      hosts: { root: { address: droplet.address, user: 'root' } },
    }),
  );
  // a key root does not have yet: the step must act, and its action must be refused
  // (with root's own key the probe finds it "present" through the link and writes nothing)
  const kf = join(mkdtempSync(join(dir, 'k-')), 'id');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'victim', '-f', kf]);
  const otherKey = readFileSync(`${kf}.pub`, 'utf8').trim();
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [keys]\n');
  writeFileSync(
    join(pb, 'keys.yml'),
    `name: keys\nestimate_s: 5\nsteps:\n  - name: victim keys\n    user: { name: victim, authorized_keys: [${JSON.stringify(otherKey)}] }\n`,
  );
  const r = await runCli(['provision', '-i', p, '--playbooks', pb, '--yes'], { timeoutMs: 180_000 });
  expect(r.code).toBe(2);
  expect(r.stdout + r.stderr).toContain('/home/victim/.ssh is a symbolic link: refused');
  expect(
    await asRoot('stat -c "%U %a" /root/.ssh /root/.ssh/authorized_keys; md5sum < /root/.ssh/authorized_keys'),
  ).toBe(before);
  expect(before).toMatch(/^root /);
}, 400_000);

test('Ctrl-C mid-step under become: the root-owned step is stopped through sudo (NOPASSWD and with a password), exit 130', async () => {
  const marker = `vpsp-become-nap-${Date.now()}`;
  // [v]... matches the step's command line but not the pgrep's own
  const pattern = `[${marker[0]}]${marker.slice(1)}`;
  const pb = mkdtempSync(join(dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [nap]\n');
  writeFileSync(
    join(pb, 'nap.yml'),
    `name: nap\nestimate_s: 5\nsteps:\n  - name: nap as root\n    command: { run: "sh -c 'sleep 300' ${marker}-{{ who }}; touch /root/napped-{{ who }}" }\n`,
  );
  const child = spawnCli(['provision', '-i', inventory(['nopw', 'withpw']), '--playbooks', pb, '--yes'], {
    VPS_PROVISION_SUDO_PASSWORD: PASSWORD,
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  // both hosts' steps running, as root (the login users are not)
  const owners = async () =>
    (await asRoot(`for p in $(pgrep -f '${pattern}-'); do ps -o user= -p "$p"; done; true`))
      .split('\n')
      .filter(Boolean)
      .sort();
  let seen: string[] = [];
  try {
    for (let i = 0; i < 60 && seen.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      seen = await owners();
    }
    expect(seen).toEqual(['root', 'root']);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.kill('SIGINT');
  const code = await closed;
  expect(`${code} ${out}`).toMatch(/^130 [^]*interrupted during phase nap/);
  // the kill as the login user would have failed silently and left both running
  expect(await asRoot(`pgrep -f '${pattern}' || true`)).toBe('');
  expect(await asRoot('ls /root')).not.toContain('napped-');
  expect(await asRoot('ls /var/lib/vps-provision-nopw/lock /var/lib/vps-provision-withpw/lock 2>&1; true')).not.toMatch(
    /^\/var/m,
  );
  expect(out).not.toContain(PASSWORD);
}, 300_000);
