// The product's main job, end to end: a fresh fake droplet (Debian 13, systemd-nspawn, own
// network namespace) provisioned with every default phase (full profile) by the real CLI,
// then checked from outside: SSH as the developer with sudo, the RDP port (X.224 confirm,
// TLS), a real RDP login (xfreerdp under Xvfb) that starts xfce4-session, ufw, fail2ban,
// the IDEs, the password kept out of every output and state file, a second provision that
// changes nothing, and `run rdp`. Needs root, the fake-droplet host packages
// (test/support/droplet/README.md) and freerdp2-x11 + xvfb (or VPSPROV_RDP_CLIENT_ROOT).
// VPSPROV_SKIP_DROPLET_TESTS=1 skips it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startWorkstations, type Workstations } from '../support/workstation-fixture.js';
import { probeRdp } from '../support/rdp-check.js';
import { findRdpClient, rdpLogin } from '../support/rdp-login.js';
import type { RunResult } from '../../src/engine/events.js';

const skip = process.env.VPSPROV_SKIP_DROPLET_TESTS === '1';
const describeDroplet = skip ? describe.skip : describe;
const MIN = 60_000;
const STATE_DIR = '/var/lib/vps-provision';

// hardening first: nothing is exposed before it is guarded
const PHASES = [
  'system-prep',
  'firewall',
  'fail2ban',
  'ssh-hardening',
  'dev-tools',
  'desktop',
  'user',
  'rdp',
  'ide-vscode',
  'ide-cursor',
  'ide-antigravity',
  'terminal',
  'verify',
];

describeDroplet('workstation on a fake droplet (full profile)', () => {
  let ws: Workstations;
  const wall: Record<string, number> = {};
  /** every byte the CLI printed, searched for the password at the end */
  const cliOutput: string[] = [];
  const runIds: string[] = [];

  async function cli(
    args: string[],
    timeoutMs: number,
  ): Promise<{ code: number | null; run: RunResult; stderr: string; wallMs: number }> {
    const r = await ws.cli([...args, '--json'], timeoutMs);
    cliOutput.push(r.stdout, r.stderr);
    let run: RunResult;
    try {
      run = JSON.parse(r.stdout) as RunResult;
    } catch {
      throw new Error(
        `no JSON from ${args.join(' ')} (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`,
      );
    }
    runIds.push(run.runId);
    return { code: r.code, run, stderr: r.stderr, wallMs: r.wallMs };
  }
  const steps = (run: RunResult) =>
    run.hosts.flatMap((h) => h.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, ...s }))));
  const problems = (run: RunResult) =>
    steps(run)
      .filter((s) => s.status === 'failed')
      .map((s) => `${s.phase} / ${s.name}: ${s.reason}\n${s.output ?? ''}`);

  async function rootSh(command: string, timeoutMs = MIN): Promise<string> {
    const r = await ws.ssh(0, 'root', command, timeoutMs);
    if (r.code !== 0) throw new Error(`root@droplet: exit ${r.code}: ${command}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  beforeAll(async () => {
    const t = Date.now();
    // rdp_access public: RDP straight to the droplet's address (the default, tunnel, is proven
    // end to end in droplet-lifecycle.fake-droplet.test.ts)
    ws = await startWorkstations({
      count: 1,
      profile: 'full',
      namePrefix: 'vpsprov-ws',
      vars: { rdp_access: 'public' },
    });
    wall.bootMs = Date.now() - t;
  }, 15 * MIN); // may build the rootfs first

  afterAll(async () => {
    await ws?.stop();
    process.stderr.write(`workstation wall times (ms): ${JSON.stringify(wall)}\n`);
  }, 5 * MIN);

  test(
    'check: Debian 13, the proven OS; plan of the default playbooks (no developer_ssh_key set) exits 0 and writes nothing',
    async () => {
      const check = await ws.cli(['check', '--json'], 5 * MIN);
      expect([check.code, check.stderr]).toEqual([0, '']);
      const os = (
        JSON.parse(check.stdout) as {
          hosts: { checks: { name: string; ok: boolean; warn?: boolean; detail: string }[] }[];
        }
      ).hosts[0]!.checks.find((c) => c.name === 'os')!;
      expect(os).toEqual({
        name: 'os',
        ok: true,
        detail: expect.stringMatching(
          /^Debian GNU\/Linux 13 .*\(the default playbooks are proven on Debian 12 and 13\)$/,
        ),
      });
      const r = await cli(['plan'], 20 * MIN);
      wall.planFreshMs = r.wallMs;
      expect(r.code).toBe(0);
      expect(r.run.hosts[0]!.phases.map((p) => p.name)).toEqual(PHASES);
      // the developer's key, found from the login key, is what the user step would authorise
      const dev = steps(r.run).find((s) => s.phase === 'user' && s.name === 'Developer account')!;
      expect(dev.status).toBe('changed');
      // nothing written: no state dir, no lock, no sampler, no temp folder of the remote shell left
      expect(
        await rootSh(
          `test -e ${STATE_DIR} && echo present || echo absent; pgrep -f '[s]ampler' || true; ls -d /tmp/vpsp.* 2>/dev/null | wc -l`,
        ),
      ).toBe('absent\n0\n');
    },
    25 * MIN,
  );

  test(
    'provision --yes: every phase green on a fresh droplet',
    async () => {
      const r = await cli(['provision', '--yes'], 60 * MIN);
      wall.firstProvisionMs = r.wallMs;
      expect(problems(r.run)).toEqual([]);
      expect(r.code).toBe(0);
      const host = r.run.hosts[0]!;
      expect(host.status).toBe('ok');
      expect(host.phases.map((p) => p.name)).toEqual(PHASES);
      for (const p of host.phases)
        expect([p.name, p.status]).toEqual([p.name, expect.stringMatching(/^(ok|changed)$/)]);
      // the banner's data: where the password is, never the password
      expect(r.stderr + JSON.stringify(r.run)).not.toContain(ws.password(0));
    },
    65 * MIN,
  );

  test('the password is saved on the controller only: 0600 file in 0700 folders, >= 20 chars', () => {
    const path = ws.credentialsPath(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(statSync(dirname(dirname(path))).mode & 0o777).toBe(0o700);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines[0]!.length).toBeGreaterThanOrEqual(20);
    expect(lines.slice(1).join('')).toBe('');
  });

  test('sshd: the developer logs in with the key and sudo -n works; passwords are refused; root by key still works', async () => {
    const dev = await ws.ssh(0, ws.developerUser, 'id -un && sudo -n true && echo sudo-ok');
    expect(dev.stderr).toBe('');
    expect(dev.stdout).toBe(`${ws.developerUser}\nsudo-ok\n`);
    // the server offers public keys only (PasswordAuthentication and KbdInteractive off)
    const methods = await new Promise<string>((resolve) => {
      import('node:child_process').then(({ execFile }) =>
        execFile(
          'ssh',
          [
            '-F',
            '/dev/null',
            '-o',
            `UserKnownHostsFile=${ws.knownHostsPath}`,
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            'PubkeyAuthentication=no',
            '-o',
            'BatchMode=yes',
            '-o',
            'ConnectTimeout=15',
            `${ws.developerUser}@${ws.droplets[0]!.address}`,
            'true',
          ],
          { timeout: 30_000 },
          (_e, _o, stderr) => resolve(String(stderr)),
        ),
      );
    });
    expect(methods).toMatch(/Permission denied \(publickey\)/);
    expect(await rootSh('id -un')).toBe('root\n');
    expect(
      await rootSh(
        'sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin) " | sort',
      ),
    ).toMatch(
      /^kbdinteractiveauthentication no\npasswordauthentication no\npermitrootlogin (without-password|prohibit-password)\n$/,
    );
  });

  test('port 3389 answers an X.224 connection request with a confirm, TLS selected, TLS 1.2+', async () => {
    const probe = await probeRdp(ws.droplets[0]!.address, 3389);
    expect(probe.error).toBeUndefined();
    expect(probe.x224Code).toBe(0xd0);
    expect(probe.selectedProtocol).toBe(1);
    expect(probe.tlsVersion).toMatch(/^TLSv1\.[23]$/);
  });

  test(
    'a real RDP login with the saved password starts xfce4-session for the developer',
    async () => {
      const client = findRdpClient();
      if ('missing' in client) throw new Error(client.missing);
      const user = ws.developerUser;
      const sessionUp = async () => (await ws.ssh(0, 'root', `pgrep -u ${user} -x xfce4-session`, 20_000)).code === 0;
      expect(await sessionUp()).toBe(false);
      const login = await rdpLogin(client, {
        address: ws.droplets[0]!.address,
        port: 3389,
        user,
        password: ws.password(0),
        until: sessionUp,
        timeoutMs: 3 * MIN,
      });
      wall.rdpLoginToXfceMs = login.elapsedMs;
      if (!login.ok)
        throw new Error(
          `no xfce4-session for ${user} after ${login.elapsedMs} ms (${client.describe}):\n${login.output.slice(-3000)}`,
        );
      // the session is the developer's own XFCE, started through ~/.xsession with the remote defaults
      const env = await rootSh(
        `tr '\\0' '\\n' < /proc/$(pgrep -u ${user} -x xfce4-session | head -1)/environ | grep -E '^(XDG_CONFIG_DIRS|USER)='`,
      );
      expect(env).toContain('XDG_CONFIG_DIRS=/etc/xdg/vps-provision:');
      expect(env).toContain(`USER=${user}`);
      // the remote-use defaults are what the session's settings daemon reports
      const query = (channel: string, prop: string) =>
        `a=$(tr '\\0' '\\n' < /proc/$(pgrep -u ${user} -x xfce4-session | head -1)/environ | grep ^DBUS_SESSION_BUS_ADDRESS=); ` +
        `runuser -u ${user} -- env "$a" xfconf-query -c ${channel} -p ${prop}`;
      expect(await rootSh(query('xfwm4', '/general/use_compositing'))).toBe('false\n');
      expect(await rootSh(query('xsettings', '/Net/ThemeName'))).toBe('Adwaita-dark\n');
      expect(await rootSh(query('xfce4-power-manager', '/xfce4-power-manager/dpms-enabled'))).toBe('false\n');
    },
    5 * MIN,
  );

  test('ufw is active, denies incoming, and allows only SSH and RDP', async () => {
    const status = await rootSh('ufw status verbose');
    expect(status).toMatch(/^Status: active$/m);
    expect(status).toMatch(/^Default: deny \(incoming\)/m);
    const allowed = status
      .split('\n')
      .filter((l) => /\bALLOW IN\b/.test(l))
      .map((l) => l.split(/\s{2,}/)[0]!.trim());
    expect([...new Set(allowed)].sort()).toEqual(['22/tcp', '22/tcp (v6)', '3389/tcp', '3389/tcp (v6)']);
  });

  test('fail2ban has the sshd and xrdp jails up', async () => {
    const status = await rootSh('fail2ban-client status');
    const jails = /Jail list:\s*(.*)$/m.exec(status)?.[1]?.split(/,\s*/).sort();
    expect(jails).toEqual(['sshd', 'xrdp']);
    expect(await rootSh('fail2ban-client status xrdp')).toContain('/var/log/xrdp-sesman.log');
    // the filter matches what xrdp-sesman logs for a failed login
    expect(
      await rootSh(
        `printf '[2026-01-01T12:00:00.000+0000] [INFO ] AUTHFAIL: user=x ip=::ffff:203.0.113.9 time=1767268800\\n' > /tmp/f2b.log && fail2ban-regex /tmp/f2b.log /etc/fail2ban/filter.d/vps-provision-xrdp.conf | grep -c "^Lines: 1 lines, 0 ignored, 1 matched"`,
      ),
    ).toBe('1\n');
  });

  test('code, cursor and antigravity resolve for the developer', async () => {
    const r = await ws.ssh(0, ws.developerUser, 'command -v code cursor antigravity');
    expect(r.stdout).toBe('/usr/bin/code\n/usr/bin/cursor\n/usr/bin/antigravity\n');
    // from the stand-in signed repositories and the .deb, as configured
    expect(
      await rootSh('grep -h ^deb /etc/apt/sources.list.d/vscode.list /etc/apt/sources.list.d/antigravity.list'),
    ).toBe(
      `deb [signed-by=/etc/apt/keyrings/vscode.gpg] ${ws.standins.vscodeRepo}\ndeb [signed-by=/etc/apt/keyrings/antigravity.gpg] ${ws.standins.antigravityRepo}\n`,
    );
  });

  test(
    'a second provision --force reports every step ok: nothing changed',
    async () => {
      const r = await cli(['provision', '--yes', '--force'], 20 * MIN);
      wall.secondProvisionForceMs = r.wallMs;
      expect(problems(r.run)).toEqual([]);
      expect(r.code).toBe(0);
      // skipped: a step whose `when` does not hold here (the lean profile's packages)
      const notOk = steps(r.run)
        .filter((s) => s.status !== 'ok' && !(s.status === 'skipped' && s.reason.startsWith('not for this host: ')))
        .map((s) => `${s.phase} / ${s.name}: ${s.status} (${s.reason})`);
      expect(notOk).toEqual([]);
      expect(
        steps(r.run)
          .filter((s) => s.status === 'skipped')
          .map((s) => s.name),
      ).toEqual(['XFCE, lean profile (xfce4 without recommends + terminal)']);
      expect(steps(r.run).length).toBeGreaterThan(50);
    },
    25 * MIN,
  );

  test(
    'run rdp re-runs only that phase',
    async () => {
      const r = await cli(['run', 'rdp', '--yes'], 10 * MIN);
      expect(r.code).toBe(0);
      const ran = r.run.hosts[0]!.phases.filter((p) => p.status !== 'skipped').map((p) => p.name);
      expect(ran).toEqual(['rdp']);
      expect(
        steps(r.run)
          .filter((s) => s.phase === 'rdp')
          .every((s) => s.status === 'ok'),
      ).toBe(true);
    },
    11 * MIN,
  );

  test(
    'a .deb whose sha256 differs is refused, naming both sums',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vpsprov-deb-check-'));
      const wrong = '0'.repeat(64);
      writeFileSync(join(dir, 'site.yml'), 'phases: [deb-check]\n');
      writeFileSync(
        join(dir, 'deb-check.yml'),
        [
          'name: deb-check',
          'estimate_s: 10',
          'steps:',
          '  - name: Pinned .deb',
          `    deb: { url: "{{ cursor_deb_url }}", package: cursor-pinned, sha256: "${wrong}" }`,
          '',
        ].join('\n'),
      );
      const r = await ws.cli(['provision', '--yes', '--json'], 5 * MIN, dir);
      cliOutput.push(r.stdout, r.stderr);
      expect([r.code, r.stderr.slice(-2000)]).toEqual([2, expect.any(String)]);
      const run = JSON.parse(r.stdout) as RunResult;
      runIds.push(run.runId);
      const step = steps(run)[0]!;
      expect(step.status).toBe('failed');
      rmSync(dir, { recursive: true, force: true });
      expect(step.reason).toContain(
        `sha256 mismatch for ${ws.standins.cursorDebUrl}: expected ${wrong}, got ${ws.standins.cursorDebSha256}`,
      );
    },
    6 * MIN,
  );

  test(
    'the password is in no CLI output, no file of the state dir, no local report',
    async () => {
      const password = ws.password(0);
      expect(cliOutput.length).toBeGreaterThan(0);
      for (const out of cliOutput) expect(out.includes(password)).toBe(false);
      // every byte of the droplet's state folder, pulled as one tar stream
      const tar = await ws.ssh(0, 'root', `tar -C ${STATE_DIR} -cf - . | base64 -w0`, 2 * MIN);
      expect(tar.code).toBe(0);
      const bytes = Buffer.from(tar.stdout, 'base64');
      expect(bytes.length).toBeGreaterThan(1024);
      expect(bytes.includes(Buffer.from(password))).toBe(false);
      expect(bytes.includes(Buffer.from(Buffer.from(password).toString('base64').slice(0, 24)))).toBe(false);
      // the run reports written on this machine (timing, resources, JSON, HTML)
      const local = runIds.map((id) => join(ws.reportsDir, id)).filter((d) => existsSync(d));
      expect(local.length).toBeGreaterThan(0);
      const files = local.flatMap((d) =>
        readdirSync(d, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath ?? (e as { path?: string }).path ?? '', e.name)),
      );
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect([f, readFileSync(f).includes(Buffer.from(password))]).toEqual([f, false]);
    },
    3 * MIN,
  );
});
