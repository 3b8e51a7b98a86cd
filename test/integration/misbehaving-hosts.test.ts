// Hosts that are not SSH servers (silent, garbage, endless greeting, closing at once)
// beside healthy sshd targets: each bad one is "unreachable" with a reason, the healthy
// ones finish, the controller exits 2 with its JSON and report, and never crashes.
import { writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { startBadServer, type BadServer, type Misbehaviour } from '../support/bad-ssh-servers.js';
import { runCli, REPO } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

const PLAYBOOKS = join(REPO, 'test/fixtures/basic');
const KINDS: Misbehaviour[] = ['silent', 'garbage', 'endless', 'close'];
let fleet: TestFleet;
const bad = new Map<Misbehaviour, BadServer>();

beforeAll(async () => {
  fleet = await startTestFleet(2);
  for (const k of KINDS) bad.set(k, await startBadServer(k));
});
afterAll(async () => {
  await Promise.all([...bad.values()].map((b) => b.stop()));
  await fleet?.stop();
});

test('silent, garbage, endless and closing listeners: unreachable with a reason; the healthy hosts finish', async () => {
  fleet.writeInventory();
  // the fleet's inventory plus one host per misbehaving listener
  const inv = (await import('yaml')).parse(
    await (await import('node:fs/promises')).readFile(fleet.inventoryPath, 'utf8'),
  ) as { hosts: Record<string, unknown> };
  for (const k of KINDS)
    inv.hosts[`bad-${k}`] = {
      address: '127.0.0.1',
      port: bad.get(k)!.port,
      state_dir: join(fleet.dir, 'state', `bad-${k}`),
      vars: { work_root: join(fleet.dir, 'hosts', `bad-${k}`) },
    };
  const invPath = join(fleet.dir, 'inventory-bad.yml');
  writeFileSync(invPath, stringify(inv));
  const sshConfig = join(fleet.dir, 'ssh_config');
  writeFileSync(sshConfig, 'Host *\n  ConnectTimeout 3\n');
  const reports = join(fleet.dir, 'reports');

  const r = await runCli(
    [
      'provision',
      '-i',
      invPath,
      '--playbooks',
      PLAYBOOKS,
      '--yes',
      '--json',
      '--ssh-config',
      sshConfig,
      '--reports-dir',
      reports,
    ],
    { timeoutMs: 90_000 },
  );
  expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  expect(r.stderr).not.toMatch(/Unhandled|unexpected/i);
  expect(r.code).toBe(2);
  const run = JSON.parse(r.stdout) as RunResult;
  const status = Object.fromEntries(run.hosts.map((h) => [h.host, h.status]));
  expect(status).toEqual({
    [fleet.names[0]!]: 'ok',
    [fleet.names[1]!]: 'ok',
    'bad-silent': 'unreachable',
    'bad-garbage': 'unreachable',
    'bad-endless': 'unreachable',
    'bad-close': 'unreachable',
  });
  const reason = (h: string) => run.hosts.find((x) => x.host === h)!.error!.message;
  expect(reason('bad-silent')).toMatch(/no SSH banner within 3 s \(the port accepts connections but sends nothing\)/);
  expect(reason('bad-garbage')).toMatch(/not an SSH server|no SSH banner within 3 s \(received \d+ bytes/);
  expect(reason('bad-endless')).toMatch(
    /not an SSH server \(Max greeting lines exceeded\)|no SSH banner within 3 s \(received \d+ bytes/,
  );
  expect(reason('bad-close')).toMatch(/closed the connection before sending an SSH banner/);
  // host text never reaches the output raw
  expect(r.stdout + r.stderr).not.toMatch(/\x1b\]0;owned|\x1b\[2J/);
  // the healthy hosts released their locks; the report of the run is written
  for (let i = 0; i < 2; i++) expect(existsSync(join(fleet.stateDir(i), 'lock'))).toBe(false);
  expect(readdirSync(join(reports, run.runId))).toEqual(
    expect.arrayContaining([fleet.names[0], 'bad-silent', 'report.html']),
  );
}, 120_000);
