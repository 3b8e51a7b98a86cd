// Host keys against real sshd processes holding keys of several types: a host that has a
// recorded key must prove that one (no downgrade to another type, whatever the policy
// short of off), and ssh_config / known_hosts settings of the user's and the system's
// files are honoured like OpenSSH does. "/etc/ssh" is a temp folder (VPS_PROVISION_TEST_ETC_SSH).
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { startSshd, makeClientKey, type LocalSshd, type ClientKey, type HostKeyType } from '../support/local-sshd.js';
import { runCli } from '../support/cli.js';

// each CLI run connects for real; on a loaded machine several take a while
const SLOW_MS = 300_000;

let dir: string;
let home: string;
let etc: string;
let client: ClientKey;
let rsaOnly: LocalSshd;
let both: LocalSshd;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vps-hostkeys-'));
  home = join(dir, 'home');
  etc = join(dir, 'etc-ssh');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  mkdirSync(etc);
  client = makeClientKey(dir);
  rsaOnly = await startSshd({ authorizedKeys: [client.publicKey], hostKeyTypes: ['rsa'] });
  both = await startSshd({ authorizedKeys: [client.publicKey], hostKeyTypes: ['ed25519', 'rsa'] });
});
afterAll(async () => {
  await rsaOnly?.stop();
  await both?.stop();
});
afterEach(() => {
  // each test writes the system and user files it needs
  for (const f of ['ssh_config', 'ssh_known_hosts']) rmSync(join(etc, f), { force: true });
  rmSync(join(home, '.ssh', 'config'), { force: true });
  rmSync(join(home, '.ssh', 'known_hosts'), { force: true });
});

const env = () => ({ HOME: home, SSH_AUTH_SOCK: '', VPS_PROVISION_TEST_ETC_SSH: etc });

/** An inventory of one host; no host_key_policy and no known_hosts_file unless given. */
function inventory(sshd: LocalSshd, top: Record<string, unknown> = {}): string {
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      ...top,
      defaults: { user: 'root', identity_file: client.privateKeyPath, state_dir: join(dir, 'state') },
      hosts: { box: { address: '127.0.0.1', port: sshd.port } },
    }),
  );
  return p;
}

function fingerprint(knownHostsLine: string): string {
  const f = join(dir, 'fp.pub');
  writeFileSync(f, `${knownHostsLine.split(' ').slice(1).join(' ')}\n`);
  return execFileSync('ssh-keygen', ['-lf', f]).toString().split(' ')[1]!;
}

/** A known_hosts line of a key of `type` that the host does not have (another machine's). */
function foreignLine(sshd: LocalSshd, type: HostKeyType): string {
  const f = join(mkdtempSync(join(dir, 'foreign-')), 'k');
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', f]);
  return `[127.0.0.1]:${sshd.port} ${readFileSync(`${f}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}`;
}

test(
  'ed25519 recorded, the host answers with RSA only: refused as changed under the default accept-new, nothing appended',
  async () => {
    const recorded = foreignLine(rsaOnly, 'ed25519');
    for (const hashed of [false, true]) {
      const kh = join(home, '.ssh', 'known_hosts');
      writeFileSync(kh, `${recorded}\n`);
      if (hashed) execFileSync('ssh-keygen', ['-q', '-H', '-f', kh], { stdio: 'ignore' });
      const before = readFileSync(kh, 'utf8');
      const r = await runCli(['check', '--skip-source-check', '-i', inventory(rsaOnly)], {
        env: env(),
        timeoutMs: 240_000,
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`box: REMOTE HOST IDENTIFICATION HAS CHANGED for 127.0.0.1 port ${rsaOnly.port}`);
      expect(r.stdout).toContain(fingerprint(recorded));
      expect(r.stdout).toContain(fingerprint(rsaOnly.knownHostsLineFor('rsa')));
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(kh, 'utf8')).toBe(before);
    }
    // the same under strict, and from the system-wide file
    writeFileSync(join(etc, 'ssh_known_hosts'), `${recorded}\n`);
    const strict = await runCli(
      ['check', '--skip-source-check', '-i', inventory(rsaOnly, { host_key_policy: 'strict' })],
      { env: env(), timeoutMs: 240_000 },
    );
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(strict.stdout).toContain(fingerprint(rsaOnly.knownHostsLineFor('rsa')));
    // only off lets it through (with a warning), and records nothing
    const off = await runCli(['check', '--skip-source-check', '-i', inventory(rsaOnly), '--host-key-policy', 'off'], {
      env: env(),
      timeoutMs: 240_000,
    });
    expect(off.code).toBe(0);
    expect(off.stdout + off.stderr).toContain('accepted: host key policy is off');
    expect(readFileSync(join(etc, 'ssh_known_hosts'), 'utf8')).toBe(`${recorded}\n`);
  },
  SLOW_MS,
);

test(
  'only RSA recorded for a host that has ed25519 too: only RSA is asked for, the host proves it, nothing appended',
  async () => {
    const kh = join(home, '.ssh', 'known_hosts');
    writeFileSync(kh, `${both.knownHostsLineFor('rsa')}\n`);
    const r = await runCli(['check', '--skip-source-check', '-i', inventory(both)], { env: env(), timeoutMs: 240_000 });
    expect(r.stdout + r.stderr).not.toContain('CHANGED');
    expect(r.code).toBe(0);
    expect(readFileSync(kh, 'utf8')).toBe(`${both.knownHostsLineFor('rsa')}\n`);
    // and the ed25519 key alone, recorded by an ssh that saw it first, is what is asked for then
    writeFileSync(kh, `${both.knownHostsLineFor('ed25519')}\n`);
    expect(
      (
        await runCli(['check', '--skip-source-check', '-i', inventory(both), '--host-key-policy', 'strict'], {
          env: env(),
          timeoutMs: 240_000,
        })
      ).code,
    ).toBe(0);
  },
  SLOW_MS,
);

test(
  'StrictHostKeyChecking from ssh_config sets the policy when neither inventory nor command line does',
  async () => {
    const kh = join(home, '.ssh', 'known_hosts');
    writeFileSync(join(home, '.ssh', 'config'), 'Host 127.0.0.1\n  StrictHostKeyChecking yes\n');
    const refused = await runCli(['check', '--skip-source-check', '-i', inventory(both)], {
      env: env(),
      timeoutMs: 240_000,
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('not in known_hosts');
    expect(refused.stdout).toContain('the host key policy is strict');
    // the inventory's policy, then the command line's, come first
    expect(
      (
        await runCli(['check', '--skip-source-check', '-i', inventory(both, { host_key_policy: 'accept-new' })], {
          env: env(),
          timeoutMs: 240_000,
        })
      ).code,
    ).toBe(0);
    rmSync(kh);
    expect(
      (
        await runCli(['check', '--skip-source-check', '-i', inventory(both), '--host-key-policy', 'accept-new'], {
          env: env(),
          timeoutMs: 240_000,
        })
      ).code,
    ).toBe(0);
    rmSync(kh);
    // ask has nobody to ask: strict
    writeFileSync(join(home, '.ssh', 'config'), 'Host *\n  StrictHostKeyChecking ask\n');
    expect(
      (await runCli(['check', '--skip-source-check', '-i', inventory(both)], { env: env(), timeoutMs: 240_000 })).code,
    ).toBe(1);
    // no / off: off (accepted, not recorded)
    writeFileSync(join(home, '.ssh', 'config'), 'StrictHostKeyChecking no\n');
    expect(
      (await runCli(['check', '--skip-source-check', '-i', inventory(both)], { env: env(), timeoutMs: 240_000 })).code,
    ).toBe(0);
    expect(() => readFileSync(kh)).toThrow();
  },
  SLOW_MS,
);

test(
  '/etc/ssh/ssh_config is read after ~/.ssh/config (first value wins); HashKnownHosts and GlobalKnownHostsFile are honoured',
  async () => {
    const kh = join(home, '.ssh', 'known_hosts');
    const global = join(dir, 'global_known_hosts');
    writeFileSync(global, '');
    // the system file alone: accept-new, hashed names, and a global file that is never written
    writeFileSync(
      join(etc, 'ssh_config'),
      `Host *\n  StrictHostKeyChecking accept-new\n  HashKnownHosts yes\n  GlobalKnownHostsFile ${global}\n  Port 1\n`,
    );
    // the user's file names the port: it wins over the system's Port 1
    writeFileSync(join(home, '.ssh', 'config'), `Host alias\n  HostName 127.0.0.1\n  Port ${both.port}\n  User root\n`);
    const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
    writeFileSync(
      p,
      stringify({
        defaults: { identity_file: client.privateKeyPath, state_dir: join(dir, 'state') },
        hosts: { alias: null },
      }),
    );
    const r = await runCli(['check', '--skip-source-check', '-i', p], { env: env(), timeoutMs: 240_000 });
    expect(`${r.code} ${r.stdout}${r.stderr}`).toMatch(/^0 /);
    const text = readFileSync(kh, 'utf8');
    expect(text.startsWith('|1|')).toBe(true);
    expect(text).not.toContain('127.0.0.1');
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${both.port}`, '-f', kh]).toString()).toContain(
      both.hostPublicKey.split(' ')[1],
    );
    expect(readFileSync(global, 'utf8')).toBe('');
    // a key in the global file is trusted under strict; the global file is read, never written
    rmSync(kh);
    writeFileSync(global, `${both.knownHostsLine}\n`);
    writeFileSync(join(etc, 'ssh_config'), `GlobalKnownHostsFile ${global}\nStrictHostKeyChecking yes\n`);
    const strict = await runCli(['check', '--skip-source-check', '-i', p], { env: env(), timeoutMs: 240_000 });
    expect(strict.code).toBe(0);
    expect(readFileSync(global, 'utf8')).toBe(`${both.knownHostsLine}\n`);
    expect(() => readFileSync(kh)).toThrow();
    // the default global file is <etc>/ssh_known_hosts
    writeFileSync(join(etc, 'ssh_config'), 'StrictHostKeyChecking yes\n');
    expect((await runCli(['check', '--skip-source-check', '-i', p], { env: env(), timeoutMs: 240_000 })).code).toBe(1);
    writeFileSync(join(etc, 'ssh_known_hosts'), `${both.knownHostsLine}\n`);
    expect((await runCli(['check', '--skip-source-check', '-i', p], { env: env(), timeoutMs: 240_000 })).code).toBe(0);
  },
  SLOW_MS,
);
