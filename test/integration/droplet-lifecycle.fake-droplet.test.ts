// From nothing to a private desktop and back (SPEC §8), against the local DigitalOcean API
// stand-in (every request and answer checked against DigitalOcean's description) whose
// droplets are fake droplets (Debian 13 under systemd-nspawn, own netns): `up` (lean
// profile) registers the laptop key and creates the droplet, waits for SSH (the stand-in
// says active before sshd answers), provisions it; `up` again creates nothing; `connect
// --no-launch` and a real RDP login (xfreerdp under Xvfb) through the tunnel, while xrdp is
// not reachable from outside; `droplets`; an inventory with the tag; `snapshot`; `down`.
// Needs root and the fake-droplet host packages. VPSPROV_SKIP_DROPLET_TESTS=1 skips it.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { stringify } from 'yaml';
import { startDoStandin, type DoStandin } from '../support/do-api-standin.js';
import { startDroplets, stopAll, type FakeDroplet } from '../support/droplet/fake-droplet.js';
import { startIdeStandins, type IdeStandins } from '../support/droplet/ide-standins.js';
import { makeClientKey, type ClientKey } from '../support/local-sshd.js';
import { runCli } from '../support/cli.js';
import { rdpThroughConnect } from '../support/tunnel-login.js';
import { PLAYBOOKS } from '../support/workstation-fixture.js';
import { rdpHandshake } from '../../src/transport/rdp-handshake.js';

const skip = process.env.VPSPROV_SKIP_DROPLET_TESTS === '1';
const describeDroplet = skip ? describe.skip : describe;
const MIN = 60_000;
const TOKEN = `dop_v1_${Buffer.from(String(Date.now())).toString('hex').padEnd(64, '7')}`;

describeDroplet('up -> connect (RDP through SSH) -> snapshot -> down, on the API stand-in', () => {
  let dir: string;
  let home: string;
  let key: ClientKey;
  let api: DoStandin;
  let standins: IdeStandins;
  let inventory: string;
  const booted: FakeDroplet[] = [];
  const outputs: string[] = [];
  const wall: Record<string, number> = {};
  let address = '';

  const env = () => ({
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    SSH_AUTH_SOCK: '',
    DIGITALOCEAN_ACCESS_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
  });
  async function cli(args: string[], timeoutMs: number) {
    const started = Date.now();
    const r = await runCli([...args, '-i', inventory, '--playbooks', PLAYBOOKS], { env: env(), timeoutMs });
    outputs.push(r.stdout, r.stderr);
    return { ...r, wallMs: Date.now() - started };
  }
  const rootSsh = (command: string) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'ssh',
        [
          '-F',
          '/dev/null',
          '-i',
          key.privateKeyPath,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          `UserKnownHostsFile=${join(home, '.ssh', 'known_hosts')}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'BatchMode=yes',
          '-o',
          'ConnectTimeout=15',
          `root@${address}`,
          command,
        ],
        { timeout: 30_000 },
        (err, stdout) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) }),
      );
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpsprov-up-'));
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    mkdirSync(join(home, '.config'), { mode: 0o700 });
    key = makeClientKey(join(home, '.ssh'));
    standins = await startIdeStandins();
    api = await startDoStandin({
      token: TOKEN,
      boot: ({ publicKeys }) => {
        let resolveAddress!: (a: string) => void;
        const address = new Promise<string>((r) => (resolveAddress = r));
        const started = startDroplets(1, {
          authorizedKey: publicKeys.join('\n'),
          namePrefix: 'vpsprov-up',
          onAddress: resolveAddress,
        }).then(([d]) => {
          booted.push(d!);
          return d!;
        });
        started.catch(() => undefined);
        return {
          address,
          stop: async () => {
            await (await started.catch(() => undefined))?.stop();
          },
        };
      },
    });
    inventory = join(dir, 'inventory.yml');
    writeFileSync(
      inventory,
      stringify({
        digitalocean: { region: 'fra1' },
        defaults: { vars: { developer_user: 'devuser', desktop_profile: 'lean', ...standins.vars } },
      }),
    );
  }, 15 * MIN);

  afterAll(async () => {
    await api?.close();
    await standins?.stop();
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`droplet lifecycle wall times (ms): ${JSON.stringify(wall)}\n`);
  }, 5 * MIN);

  test(
    'up: key registered, droplet created with key and tag, SSH waited for, every phase provisioned',
    async () => {
      const r = await cli(['up', 'ws1', '--yes'], 45 * MIN);
      wall.upMs = r.wallMs;
      if (r.code !== 0) throw new Error(`up exited ${r.code}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-5000)}`);
      expect(r.stderr).toMatch(/create droplet|created droplet ws1/);
      expect(r.stderr).toContain('added your SSH key');
      // active with an address before sshd answered: up had to wait for SSH
      expect(r.stderr).toContain('waiting for SSH');
      expect(r.stdout).toContain('connect: vps-provision connect ws1');
      const [d] = [...api.droplets.values()];
      expect(d).toMatchObject({
        name: 'ws1',
        region: 'fra1',
        size: 's-2vcpu-4gb',
        image: 'debian-13-x64',
        tags: ['vps-provision'],
      });
      expect(d!.publicKeys).toEqual([key.publicKey.split(' ').slice(0, 2).join(' ')]);
      address = d!.address!;
      expect(booted[0]!.address).toBe(address);
      expect(readFileSync(join(home, '.ssh', 'known_hosts'), 'utf8')).toContain(address);
      expect(existsSync(join(home, '.config', 'vps-provision', 'credentials', 'ws1', 'devuser'))).toBe(true);
    },
    50 * MIN,
  );

  test(
    'up of an existing name creates nothing and provisions it (all checkpointed)',
    async () => {
      const creates = api.log.filter((l) => l.method === 'POST').length;
      const r = await cli(['up', 'ws1', '--yes'], 15 * MIN);
      wall.upAgainMs = r.wallMs;
      expect([r.code, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
      expect(r.stderr).toContain('droplet ws1 exists');
      expect(api.log.filter((l) => l.method === 'POST').length).toBe(creates);
      expect(api.droplets.size).toBe(1);
    },
    16 * MIN,
  );

  test('xrdp is not reachable from outside (rdp_access tunnel): loopback only, no ufw rule', async () => {
    const direct = await rdpHandshake(address, 3389, 5000);
    expect(direct.ok).toBe(false);
    expect((await rootSsh('ss -Hltn sport = :3389')).stdout).toMatch(/127\.0\.0\.1:3389/);
    expect((await rootSsh('ufw status')).stdout).not.toContain('3389');
  });

  test(
    'connect --no-launch: a real RDP login through the tunnel, then Ctrl-C closes it (exit 130)',
    async () => {
      const password = readFileSync(
        join(home, '.config', 'vps-provision', 'credentials', 'ws1', 'devuser'),
        'utf8',
      ).split('\n')[0]!;
      const login = await rdpThroughConnect({
        args: ['ws1', '-i', inventory, '--playbooks', PLAYBOOKS],
        env: env(),
        user: 'devuser',
        password,
        sessionUp: async () => (await rootSsh('pgrep -u devuser -x xfce4-session')).code === 0,
        timeoutMs: 3 * MIN,
      });
      wall.rdpLoginMs = login.elapsedMs;
      const { out, err } = login;
      if (!login.ok)
        throw new Error(
          `no xfce4-session through the tunnel after ${login.elapsedMs} ms:\n${login.clientOutput.slice(-3000)}\n${out}\n${err}`,
        );
      outputs.push(out, err, login.clientOutput);
      expect(out).toContain('user: devuser');
      expect(out).toContain(join(home, '.config', 'vps-provision', 'credentials', 'ws1', 'devuser'));
      expect(out + err).not.toContain(password);
      expect(login.connectExit).toBe(130);
      expect(err).toContain('tunnel closed');
    },
    6 * MIN,
  );

  test(
    'droplets lists it with address, region, size and price; a tag inventory adds it as a host',
    async () => {
      const r = await cli(['droplets'], 2 * MIN);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^ws1\\s+${address.replace(/\./g, '\\.')}\\s+fra1\\s+s-2vcpu-4gb\\s+\\$24\\.00/mo\\s+active$`, 'm'),
      );
      const tagged = join(dir, 'tagged.yml');
      writeFileSync(tagged, stringify({ digitalocean: { tag: 'vps-provision' }, defaults: { user: 'root' } }));
      const h = await runCli(['hosts', '-i', tagged], { env: env(), timeoutMs: 2 * MIN });
      expect([h.code, h.stderr]).toEqual([0, '']);
      expect(h.stdout).toContain(`ws1  root@${address}:22`);
    },
    5 * MIN,
  );

  test(
    'snapshot: the action is waited for and the snapshot id printed',
    async () => {
      const r = await cli(['snapshot', 'ws1', '--snapshot-name', 'ws1-base', '--yes'], 5 * MIN);
      expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
      const id = /id (\d+)/.exec(r.stdout)?.[1];
      expect(api.snapshots.map((s) => [s.id, s.name])).toEqual([[id, 'ws1-base']]);
      expect(r.stdout).toContain(`up <new-name> --image ${id}`);
    },
    6 * MIN,
  );

  test(
    'down: destroys it, forgets its host key; then nothing carries the tag',
    async () => {
      const r = await cli(['down', 'ws1', '--yes'], 5 * MIN);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toContain(`destroyed ws1`);
      expect(api.droplets.size).toBe(0);
      expect(readFileSync(join(home, '.ssh', 'known_hosts'), 'utf8')).not.toContain(address);
      const again = await cli(['down', 'ws1', '--yes'], 2 * MIN);
      expect(again.code).toBe(5);
      expect(again.stderr).toContain('no droplet named ws1 carries the tag vps-provision');
    },
    6 * MIN,
  );

  test('the API stand-in saw only requests and answers the description allows; the token is in no output', () => {
    expect(api.violations).toEqual([]);
    for (const o of outputs) expect(o.includes(TOKEN)).toBe(false);
  });
});
