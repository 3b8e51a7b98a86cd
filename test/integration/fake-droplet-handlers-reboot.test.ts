// On a fake droplet (systemd as PID 1): a restart_on restart survives a later failing step
// (recorded on the host, done on the next run, shown by plan), and reboots: a host with
// /var/run/reboot-required is reported at the end; --reboot reboots it, waits for SSH from the
// new boot and checks it (the harness boots the container again, as a droplet comes back).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startDroplets, stopAll, type FakeDroplet } from '../support/droplet/fake-droplet.js';
import { makeClientKey, type ClientKey } from '../support/local-sshd.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

const run = promisify(execFile);
const skip = process.env.VPSPROV_SKIP_DROPLET_TESTS === '1';
const describeDroplet = skip ? describe.skip : describe;
let dir: string;
let key: ClientKey;
let droplet: FakeDroplet;
let known: string;
let playbooks: string;

async function asRoot(command: string): Promise<string> {
  const r = await run(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-i',
      key.privateKeyPath,
      '-o',
      `UserKnownHostsFile=${known}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=15',
      `root@${droplet.address}`,
      command,
    ],
    { timeout: 60_000 },
  );
  return r.stdout;
}

function inventory(vars: Record<string, string>): string {
  const p = join(mkdtempSync(join(dir, 'inv-')), 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      known_hosts_file: known,
      host_key_policy: 'strict',
      defaults: { user: 'root', identity_file: key.privateKeyPath },
      hosts: { drop: { address: droplet.address, vars } },
    }),
  );
  return p;
}

async function cli(
  args: string[],
  vars: Record<string, string>,
  timeoutMs = 180_000,
): Promise<{ code: number | null; run: RunResult; stderr: string }> {
  const r = await runCli([...args, '-i', inventory(vars), '--playbooks', playbooks, '--json'], { timeoutMs });
  try {
    return { code: r.code, run: JSON.parse(r.stdout) as RunResult, stderr: r.stderr };
  } catch {
    throw new Error(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
const step = (r: RunResult, name: string) => r.hosts[0]!.phases.flatMap((p) => p.steps).find((s) => s.name === name)!;
/** How many times the test unit has started (each start appends a line). */
const starts = async () =>
  (await asRoot('cat /var/log/vpsp-handler.log 2>/dev/null || true')).split('\n').filter(Boolean).length;

describeDroplet('handlers and reboots on a fake droplet', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vps-handlers-'));
    key = makeClientKey(dir);
    [droplet] = await startDroplets(1, {
      authorizedKey: key.publicKey,
      namePrefix: 'handlers',
      nat: false,
      rebootable: true,
    });
    known = join(dir, 'known_hosts');
    writeFileSync(known, `${droplet.knownHostsLine}\n`);
    playbooks = mkdtempSync(join(dir, 'pb-'));
    writeFileSync(join(playbooks, 'site.yml'), 'phases: [svc]\n');
    writeFileSync(
      join(playbooks, 'svc.yml'),
      [
        'name: svc',
        'estimate_s: 10',
        'steps:',
        '  - name: unit file',
        '    file:',
        '      path: /etc/systemd/system/vpsp-handler.service',
        '      content: "[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/bin/sh -c \'date +%%s.%%N >> /var/log/vpsp-handler.log\'\\n"',
        '  - name: daemon-reload',
        '    command: { run: systemctl daemon-reload, unless: "systemctl cat vpsp-handler.service >/dev/null 2>&1" }',
        '  - name: settings',
        '    file: { path: /etc/vpsp-handler.conf, content: "{{ setting }}\\n" }',
        '  - name: may fail',
        '    command: { run: "exit 3", unless: "[ {{ fail }} = no ]" }',
        '  - name: service',
        '    service: { name: vpsp-handler, state: started, restart_on: [settings] }',
        '',
      ].join('\n'),
    );
  }, 600_000);
  afterAll(async () => {
    await stopAll();
  });

  test('a restart left pending by a failed run is done by the next one', async () => {
    const first = await cli(['provision', '--yes'], { setting: 'v1', fail: 'no' });
    expect([first.code, first.stderr.slice(-500)]).toEqual([0, expect.any(String)]);
    expect(await starts()).toBe(1);
    // the watched file changes, then a later step fails: the service step is never reached
    const broken = await cli(['provision', '--yes', '--force'], { setting: 'v2', fail: 'yes' });
    expect(broken.code).toBe(2);
    expect([
      step(broken.run, 'settings').status,
      step(broken.run, 'may fail').status,
      step(broken.run, 'service').status,
    ]).toEqual(['changed', 'failed', 'skipped']);
    expect(await starts()).toBe(1);
    expect((await asRoot('ls /var/lib/vps-provision/pending-restarts')).trim().split('\n')).toHaveLength(1);
    // plan shows it, and writes nothing
    const plan = await cli(['plan'], { setting: 'v2', fail: 'no' });
    expect(plan.code).toBe(0);
    expect(step(plan.run, 'settings').status).toBe('ok');
    expect(step(plan.run, 'service')).toEqual(
      expect.objectContaining({ status: 'changed', commands: ['systemctl restart -- vpsp-handler'] }),
    );
    expect(step(plan.run, 'service').reason).toContain('restart left pending by an earlier run');
    // nothing changes now, and yet the service is restarted
    const next = await cli(['provision', '--yes'], { setting: 'v2', fail: 'no' });
    expect(next.code).toBe(0);
    expect(step(next.run, 'settings').status).toBe('ok');
    expect(step(next.run, 'service')).toEqual(expect.objectContaining({ status: 'changed' }));
    expect(step(next.run, 'service').reason).toContain('restart left pending by an earlier run (settings changed)');
    expect(await starts()).toBe(2);
    expect(await asRoot('ls -A /var/lib/vps-provision/pending-restarts')).toBe('');
    // and only once
    const again = await cli(['provision', '--yes', '--force'], { setting: 'v2', fail: 'no' });
    expect(step(again.run, 'service').status).toBe('ok');
    expect(await starts()).toBe(2);
  }, 900_000);

  test(
    'reboot-required is reported; --reboot reboots, waits for SSH and checks the new boot',
    async () => {
      await asRoot('touch /var/run/reboot-required');
      const bootBefore = (await asRoot('cat /proc/sys/kernel/random/boot_id')).trim();
      const reported = await cli(['provision', '--yes', '--force'], { setting: 'v2', fail: 'no' });
      expect(reported.code).toBe(0);
      expect(reported.run.hosts[0]!.rebootRequired).toBe(true);
      expect(reported.stderr).toContain('reboot required (/var/run/reboot-required): drop; run again with --reboot');
      expect(droplet.reboots).toBe(0);
      const rebooted = await cli(['provision', '--yes', '--reboot'], { setting: 'v2', fail: 'no' }, 15 * 60_000);
      expect([rebooted.code, rebooted.stderr.slice(-1500)]).toEqual([0, expect.any(String)]);
      const h = rebooted.run.hosts[0]!;
      expect(h.reboot).toEqual(expect.objectContaining({ ok: true }));
      expect(h.reboot!.detail).toMatch(/^back after \d+ s on a new boot \(systemd (running|degraded)\)$/);
      expect(rebooted.stderr).toContain('drop: rebooted: back after');
      expect(droplet.reboots).toBe(1);
      expect((await asRoot('cat /proc/sys/kernel/random/boot_id')).trim()).not.toBe(bootBefore);
      // /run is a tmpfs: the flag went with the old boot; the next run reports nothing
      const after = await cli(['provision', '--yes'], { setting: 'v2', fail: 'no' });
      expect(after.run.hosts[0]!.rebootRequired).toBeUndefined();
      expect(after.stderr).not.toContain('reboot required');
    },
    20 * 60_000,
  );
});
