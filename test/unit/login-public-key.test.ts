// developer_ssh_key's default: the public half of the key the tool logs in with:
// identity_file + .pub, else the first key of a real ssh-agent, else none.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loginPublicKey, publicKeyLine } from '../../src/transport/login-public-key.js';
import { makeClientKey } from '../support/local-sshd.js';

const dir = mkdtempSync(join(tmpdir(), 'login-key-'));
const home = join(dir, 'home');
const none = { identityFiles: [] as string[], identitiesOnly: false, identityAgent: undefined };
let agent: ChildProcess | undefined;
const sock = join(dir, 'agent.sock');

beforeAll(async () => {
  agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      break;
    } catch (e) {
      if ((e as { status?: number }).status === 1) break; // up, no keys yet
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
afterAll(() => {
  agent?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('identity_file + .pub', async () => {
  const k = makeClientKey(dir, 'with_pub');
  const r = await loginPublicKey({ settings: none, inventoryIdentityFile: k.privateKeyPath, homeDir: home });
  expect(r).toEqual({ line: k.publicKey, source: `${k.privateKeyPath}.pub` });
});

test("no .pub beside the key: the agent's first key", async () => {
  const inAgent = makeClientKey(dir, 'in_agent');
  execFileSync('ssh-add', [inAgent.privateKeyPath], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
  const lonely = makeClientKey(dir, 'no_pub');
  rmSync(`${lonely.privateKeyPath}.pub`);
  const r = await loginPublicKey({
    settings: none,
    inventoryIdentityFile: lonely.privateKeyPath,
    authSock: sock,
    homeDir: home,
  });
  // the agent answers type and blob; its comment is the key file's path or comment
  expect(r?.source).toBe('ssh-agent');
  expect(r?.line.split(' ').slice(0, 2)).toEqual(inAgent.publicKey.split(' ').slice(0, 2));
  // ~/.ssh/config's `IdentityFile key.pub` (the private half only in the agent) is used as it is
  const viaConfig = await loginPublicKey({
    settings: { ...none, identityFiles: [`${inAgent.privateKeyPath}.pub`] },
    authSock: sock,
    homeDir: home,
  });
  expect(viaConfig).toEqual({ line: inAgent.publicKey, source: `${inAgent.privateKeyPath}.pub` });
});

test('no .pub and no agent: no default', async () => {
  const lonely = makeClientKey(dir, 'alone');
  rmSync(`${lonely.privateKeyPath}.pub`);
  expect(
    await loginPublicKey({ settings: none, inventoryIdentityFile: lonely.privateKeyPath, homeDir: home }),
  ).toBeUndefined();
  // an agent socket that does not answer is not waited for beyond the bound
  expect(
    await loginPublicKey({
      settings: none,
      inventoryIdentityFile: lonely.privateKeyPath,
      authSock: join(dir, 'nothing.sock'),
      homeDir: home,
      agentTimeoutMs: 500,
    }),
  ).toBeUndefined();
});

test.each([
  [
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@x',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@x',
  ],
  [
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a\x1b[31mb\n',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a[31mb',
  ],
  ['-----BEGIN OPENSSH PRIVATE KEY-----', undefined],
  ['ssh-ed25519 notbase64!', undefined],
  ['', undefined],
])('publicKeyLine(%j)', (text, line) => {
  expect(publicKeyLine(text)).toBe(line);
});

test('a private key file is never taken for a public one', () => {
  const k = makeClientKey(dir, 'priv');
  expect(publicKeyLine(readFileSync(k.privateKeyPath, 'utf8'))).toBeUndefined();
});
