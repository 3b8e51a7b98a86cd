// What a person sees of the droplet commands, in a real pseudo-terminal (tmux): `up` shows
// the price and asks, and "n" creates nothing; `connect` holds its tunnel until Ctrl-C, then
// closes it and exits 130. Against the API stand-in and a real sshd on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDoStandin, type DoStandin } from '../support/do-api-standin.js';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { makeClientKey } from '../support/local-sshd.js';
import { CLI, REPO } from '../support/cli.js';

const TOKEN = `dop_v1_${'9f'.repeat(32)}`;
const SOCKET = `vpsprov-dt-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = (name: string) => tmux('capture-pane', '-p', '-t', name);

async function waitFor(name: string, re: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = screen(name);
    if (re.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`no ${re} on the screen within ${timeoutMs} ms:\n${s}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the CLI in a tmux window; the shell prints EXIT=<code> when it ends. */
function start(name: string, args: string[], env: Record<string, string>): void {
  const vars = Object.entries({ ...env, NO_COLOR: '1' })
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ');
  const cmd = `cd '${REPO}' && env ${vars} '${process.execPath}' '${CLI}' ${args.map((a) => `'${a}'`).join(' ')}; echo EXIT=$?; sleep 60`;
  tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '40', cmd);
}

let dir: string;
let api: DoStandin;
let fleet: TestFleet;
let rdp: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vpsprov-dt-'));
  mkdirSync(join(dir, 'home', '.ssh'), { recursive: true, mode: 0o700 });
  makeClientKey(join(dir, 'home', '.ssh'));
  api = await startDoStandin({ token: TOKEN });
  fleet = await startTestFleet(1, { prefix: 'desk' });
  rdp = createServer((s) => s.on('data', () => undefined));
  await new Promise<void>((r) => rdp.listen(0, '127.0.0.1', r));
  fleet.writeInventory({ hostVars: () => ({ rdp_port: (rdp.address() as AddressInfo).port }) });
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    /* no server left */
  }
  await api?.close();
  await new Promise((r) => rdp?.close(r));
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('up shows the size and monthly price and asks; "n" creates nothing (exit 1, cancelled)', async () => {
  const inv = join(dir, 'none.yml');
  start('up', ['up', 'dev1', '-i', inv], {
    HOME: join(dir, 'home'),
    SSH_AUTH_SOCK: '',
    DIGITALOCEAN_ACCESS_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
  });
  const asked = await waitFor('up', /\[y\/N\]/);
  expect(asked).toContain(
    'create droplet dev1: s-2vcpu-4gb (2 vCPU, 4 GB RAM, 80 GB disk) in fra1, image debian-13-x64, tag vps-provision, $24.00/month',
  );
  tmux('send-keys', '-t', 'up', 'n', 'Enter');
  const end = await waitFor('up', /EXIT=\d+/);
  expect(end).toMatch(/error: cancelled/);
  expect(end).toContain('EXIT=1');
  expect(api.log.filter((l) => l.method === 'POST')).toEqual([]);
  expect(end).not.toContain(TOKEN);
}, 90_000);

test('connect holds the tunnel until Ctrl-C, then closes it and exits 130', async () => {
  start('connect', ['connect', fleet.names[0]!, '--no-launch', '-i', fleet.inventoryPath], {
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  });
  const s = await waitFor('connect', /Ctrl-C closes the tunnel/);
  expect(s).toMatch(/RDP to desk-1 through SSH: 127\.0\.0\.1:\d+/);
  expect(s).toContain('user: devuser');
  tmux('send-keys', '-t', 'connect', 'C-c');
  const end = await waitFor('connect', /EXIT=\d+/);
  expect(end).toContain('tunnel closed');
  expect(end).toContain('EXIT=130');
}, 90_000);
