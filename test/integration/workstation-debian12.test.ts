// The same default playbooks on Debian 12: a fresh fake droplet of bookworm (its own cached
// rootfs, test/support/droplet/build-rootfs.sh bookworm) provisioned with the lean desktop
// profile by the real CLI. `check` calls Debian 12 proven; every phase is green; the steps
// that do not apply to Debian 12 or to the lean profile are skipped (their `when`), never
// failed; verify's asserts and its RDP handshake (through the SSH connection, rdp_access
// tunnel) pass; a real RDP login through `connect` reaches the XFCE session; a second
// provision --force changes nothing. Needs root and the fake-droplet
// host packages (test/support/droplet/README.md). VPSPROV_SKIP_DROPLET_TESTS=1 skips it.
import { startWorkstations, type Workstations } from '../support/workstation-fixture.js';
import type { RunResult } from '../../src/engine/events.js';

const skip = process.env.VPSPROV_SKIP_DROPLET_TESTS === '1';
const describeDroplet = skip ? describe.skip : describe;
const MIN = 60_000;

describeDroplet('workstation on a Debian 12 fake droplet (lean profile)', () => {
  let ws: Workstations;
  const wall: Record<string, number> = {};

  async function cli(
    args: string[],
    timeoutMs: number,
  ): Promise<{ code: number | null; run: RunResult; stderr: string }> {
    const r = await ws.cli([...args, '--json'], timeoutMs);
    try {
      return { code: r.code, run: JSON.parse(r.stdout) as RunResult, stderr: r.stderr };
    } catch {
      throw new Error(
        `no JSON from ${args.join(' ')} (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`,
      );
    }
  }
  const steps = (run: RunResult) =>
    run.hosts.flatMap((h) => h.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, ...s }))));

  beforeAll(async () => {
    const t = Date.now();
    ws = await startWorkstations({ count: 1, profile: 'lean', release: 'bookworm', namePrefix: 'vpsprov-d12' });
    wall.bootMs = Date.now() - t;
  }, 15 * MIN); // may build the bookworm rootfs first

  afterAll(async () => {
    await ws?.stop();
    process.stderr.write(`workstation (Debian 12, lean) wall times (ms): ${JSON.stringify(wall)}\n`);
  }, 5 * MIN);

  test(
    'check: Debian 12 is a proven OS',
    async () => {
      const check = await ws.cli(['check', '--json', '--skip-source-check'], 5 * MIN);
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
          /^Debian GNU\/Linux 12 \(bookworm\) \(the default playbooks are proven on Debian 12 and 13\)$/,
        ),
      });
    },
    6 * MIN,
  );

  test(
    'provision --yes: every phase green; what does not apply is skipped, never failed',
    async () => {
      const t = Date.now();
      const r = await cli(['provision', '--yes'], 40 * MIN);
      wall.firstProvisionMs = Date.now() - t;
      const failed = steps(r.run)
        .filter((s) => s.status === 'failed')
        .map((s) => `${s.phase} / ${s.name}: ${s.reason}\n${s.output ?? ''}`);
      expect(failed).toEqual([]);
      expect(r.code).toBe(0);
      for (const p of r.run.hosts[0]!.phases)
        expect([p.name, p.status]).toEqual([p.name, expect.stringMatching(/^(ok|changed)$/)]);
      const skipped = steps(r.run)
        .filter((s) => s.status === 'skipped')
        .map((s) => `${s.phase} / ${s.name}: ${s.reason}`);
      expect(skipped).toContain(
        'desktop / XFCE, full profile (task-xfce-desktop + goodies): not for this host: desktop_profile is "lean", not full',
      );
      for (const s of skipped) expect(s).toMatch(/: not for this host: /);
      const verify = r.run.hosts[0]!.phases.find((p) => p.name === 'verify')!;
      expect(verify.steps.map((s) => `${s.name}: ${s.status}`)).toEqual(verify.steps.map((s) => `${s.name}: ok`));
    },
    45 * MIN,
  );

  test(
    'the droplet is Debian 12 with the lean desktop, xrdp on the loopback, ufw and fail2ban up',
    async () => {
      const r = await ws.ssh(
        0,
        'root',
        [
          '. /etc/os-release; echo "$ID $VERSION_ID"',
          // single quotes: ${db:Status-Abbrev} is dpkg-query's field, not the remote shell's
          "dpkg-query -W -f='${db:Status-Abbrev}\\n' xfce4 xrdp xorgxrdp | sort -u",
          "dpkg-query -W -f='${db:Status-Abbrev}\\n' task-xfce-desktop 2>/dev/null || echo not-installed",
          'ss -Hltn sport = :3389 | awk "{print \\$4}"',
          'ufw status | head -1',
          'fail2ban-client status | grep "Jail list"',
        ].join('; '),
        2 * MIN,
      );
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')).toEqual([
        'debian 12',
        'ii ',
        'not-installed',
        '127.0.0.1:3389',
        'Status: active',
        expect.stringMatching(/Jail list:\s+sshd, xrdp|Jail list:\s+xrdp, sshd/),
        '',
      ]);
    },
    3 * MIN,
  );

  test(
    "a real RDP login through connect (the SSH tunnel) reaches the developer's XFCE session",
    async () => {
      const login = await ws.loginThroughConnect(0, 3 * MIN);
      wall.rdpLoginToXfceMs = login.elapsedMs;
      if (!login.ok)
        throw new Error(
          `no xfce4-session after ${login.elapsedMs} ms:\n${login.clientOutput.slice(-3000)}\n${login.out}\n${login.err}`,
        );
      expect(login.out + login.err + login.clientOutput).not.toContain(ws.password(0));
      expect(login.connectExit).toBe(130);
    },
    5 * MIN,
  );

  test(
    'a second provision --force changes nothing',
    async () => {
      const t = Date.now();
      const r = await cli(['provision', '--yes', '--force'], 20 * MIN);
      wall.secondProvisionForceMs = Date.now() - t;
      expect(r.code).toBe(0);
      const notOk = steps(r.run)
        .filter((s) => s.status !== 'ok' && s.status !== 'skipped')
        .map((s) => `${s.phase} / ${s.name}: ${s.status} (${s.reason})`);
      expect(notOk).toEqual([]);
    },
    25 * MIN,
  );
});
