// Each step type's decision is pure: (arguments, what the probe printed) -> ok | change.
import { createHash } from 'node:crypto';
import { commandStep } from '../../src/steps/command.js';
import { fileStep } from '../../src/steps/file.js';
import { lineStep } from '../../src/steps/line.js';
import { aptStep } from '../../src/steps/apt.js';
import { serviceStep } from '../../src/steps/service.js';
import { userStep } from '../../src/steps/user.js';
import type { StepType, Decision } from '../../src/steps/step-type.js';
import { parseOsRelease } from '../../src/facts/os-release.js';

const ctx = { remoteUser: 'root', os: parseOsRelease('debian|13|trixie|x86_64|Debian GNU/Linux 13 (trixie)') };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
function decide<A>(t: StepType<A>, args: unknown, text: string | null): Decision {
  const parsed = t.schema.parse(args);
  return t.decide(parsed, text === null ? null : { text, exitCode: 0 }, ctx);
}

describe('command', () => {
  test.each([
    [{ run: 'make' }, null, 'change', 'unguarded command: runs every time'],
    [{ run: 'make', creates: '/out' }, 'creates=yes', 'ok', '/out exists'],
    [{ run: 'make', creates: '/out' }, 'creates=no', 'change', '/out is missing'],
    [{ run: 'make', unless: 'test -f x' }, 'unless=0', 'ok', 'guard succeeded: test -f x'],
    [{ run: 'make', unless: 'test -f x' }, 'unless=1', 'change', 'guard failed'],
  ])('%j with %j -> %s', (args, probe, status, reason) => {
    const d = decide(commandStep, args, probe);
    expect(d.status).toBe(status);
    expect(d.reason).toBe(reason);
    if (d.status === 'change') expect(d.display).toEqual(['make']);
  });
  test('no probe without a guard', () => {
    expect(commandStep.probe({ run: 'x' })).toBeNull();
  });
});

describe('file', () => {
  const args = { path: '/etc/motd', content: 'hi\n', mode: '0644', owner: 'root' };
  test.each([
    ['absent', 'absent', 'change', '/etc/motd is absent'],
    [
      'same',
      `exists|regular file|644|root|root\n${sha('hi\n')}`,
      'ok',
      /content \(sha256 \w{12}\), mode 644 and owner root:root match/,
    ],
    ['other content', `exists|regular file|644|root|root\n${sha('old')}`, 'change', /content differs/],
    ['other mode', `exists|regular file|600|root|root\n${sha('hi\n')}`, 'change', 'mode 600 -> 644'],
    ['other owner', `exists|regular file|644|ana|root\n${sha('hi\n')}`, 'change', 'owner ana:root -> root:root'],
    ['a directory', 'exists|directory|755|root|root', 'change', '/etc/motd is a directory, not a regular file'],
  ])('%s', (_n, probe, status, reason) => {
    const d = decide(fileStep, args, probe);
    expect(d.status).toBe(status);
    if (typeof reason === 'string') expect(d.reason).toBe(reason);
    else expect(d.reason).toMatch(reason);
  });
  test('a mode-only fix is a chmod, not a rewrite', () => {
    const d = decide(fileStep, args, `exists|regular file|600|root|root\n${sha('hi\n')}`);
    expect(d.status === 'change' && d.display).toEqual(['chmod 0644 /etc/motd']);
  });
  test('a rewrite goes through a temp file and rename', () => {
    const d = decide(fileStep, args, 'absent');
    expect(d.status === 'change' && d.script).toMatch(/mktemp .*base64 -d .*mv -f "\$t" \/etc\/motd/s);
  });
  test('content and template are exclusive', () => {
    expect(() => fileStep.schema.parse({ path: '/a' })).toThrow('exactly one of content or template');
  });
});

describe('line', () => {
  const args = { path: '/etc/xrdp/xrdp.ini', regexp: '^port=', line: 'port=3389' };
  test.each([
    ['file missing', 'missing', 'change', /missing: create it/],
    ['match equals line', 'present=4 match=4\nport=3389', 'ok', 'line present at /etc/xrdp/xrdp.ini:4'],
    ['match differs', 'present=0 match=2\nport=3390', 'change', 'replace line 2 ("port=3390")'],
    ['no match, absent', 'present=0 match=0\n', 'change', 'line absent: append it'],
  ])('%s', (_n, probe, status, reason) => {
    const d = decide(lineStep, args, probe);
    expect(d.status).toBe(status);
    if (typeof reason === 'string') expect(d.reason).toBe(reason);
    else expect(d.reason).toMatch(reason);
  });
  test('without regexp: present anywhere is ok', () => {
    expect(decide(lineStep, { path: '/a', line: 'x' }, 'present=7 match=0\n').reason).toBe('line present at /a:7');
  });
  test('create: false fails on a missing file', () => {
    const d = decide(lineStep, { path: '/a', line: 'x', create: false }, 'missing');
    expect(d.status === 'change' && d.script).toContain('exit 1');
  });
});

describe('apt', () => {
  const probe = 'xrdp\tii \t0.10.1-1\nxorgxrdp\trc \t1:0.10\n';
  test('missing and half-removed packages are installed, with update first when asked', () => {
    const d = decide(aptStep, { packages: ['xrdp', 'xorgxrdp', 'ufw'], update: true }, probe);
    expect(d.status).toBe('change');
    expect(d.reason).toBe('install xorgxrdp, ufw');
    expect(d.status === 'change' && d.display).toEqual([
      'umask 022',
      `{ n=0; until ${APT} update; do n=$((n+1)); [ $n -lt 5 ] || exit 1; sleep 15; done; } && touch /var/lib/apt/vps-provision-update-stamp`,
      `${APT} install -- xorgxrdp ufw`,
    ]);
  });
  // update_max_age_s and upgrade: what the probe read (dpkg rows, the lists' age, a simulated upgrade) -> what runs
  const APT =
    'DEBIAN_FRONTEND=noninteractive flock -w 1800 /run/lock/vps-provision-apt.lock apt-get -y -q -o DPkg::Lock::Timeout=600';
  const UPDATE = `{ n=0; until ${APT} update; do n=$((n+1)); [ $n -lt 5 ] || exit 1; sleep 15; done; } && touch /var/lib/apt/vps-provision-update-stamp`;
  const UPGRADE = `${APT} upgrade --with-new-pkgs`;
  test.each<[string, object, string, 'ok' | 'change', string, string[]]>([
    [
      'lists never refreshed',
      { update_max_age_s: 3600 },
      'apt-lists-age=none',
      'change',
      'refresh the package lists (never refreshed by vps-provision)',
      [UPDATE],
    ],
    [
      'lists too old',
      { update_max_age_s: 3600 },
      'apt-lists-age=3601',
      'change',
      'refresh the package lists (3601 s old, more than 3600)',
      [UPDATE],
    ],
    [
      'lists fresh enough',
      { update_max_age_s: 3600 },
      'apt-lists-age=3600',
      'ok',
      'package lists 3600 s old (at most 3600)',
      [],
    ],
    [
      'a stamp from the future is fresh',
      { update_max_age_s: 3600 },
      'apt-lists-age=-20',
      'ok',
      'package lists 0 s old (at most 3600)',
      [],
    ],
    [
      'max age 0: always',
      { update_max_age_s: 0 },
      'apt-lists-age=5',
      'change',
      'refresh the package lists (5 s old, more than 0)',
      [UPDATE],
    ],
    ['nothing to upgrade', { upgrade: true }, '', 'ok', 'nothing to upgrade', []],
    [
      'upgrades waiting',
      { upgrade: true },
      'apt-upgradable=openssl\napt-upgradable=libssl3t64',
      'change',
      'upgrade 2 package(s): openssl, libssl3t64',
      [UPGRADE],
    ],
    [
      'a hostile name from the host is not shown',
      { upgrade: true },
      'apt-upgradable=openssl\napt-upgradable=$(reboot)',
      'change',
      'upgrade 1 package(s): openssl',
      [UPGRADE],
    ],
    [
      'fresh lists may bring upgrades: refreshed, then upgraded',
      { update_max_age_s: 60, upgrade: true },
      'apt-lists-age=none',
      'change',
      'refresh the package lists (never refreshed by vps-provision); upgrade what the fresh lists offer',
      [UPDATE, UPGRADE],
    ],
    [
      'fresh lists, nothing to upgrade',
      { update_max_age_s: 60, upgrade: true },
      'apt-lists-age=10',
      'ok',
      'package lists 10 s old (at most 60); nothing to upgrade',
      [],
    ],
    [
      'all three',
      { packages: ['xrdp', 'ufw'], update_max_age_s: 60, upgrade: true, no_recommends: true },
      'xrdp\tii \t0.10.1-1\napt-lists-age=10\napt-upgradable=xrdp',
      'change',
      'upgrade 1 package(s): xrdp; install ufw',
      [UPGRADE, `${APT} install --no-install-recommends -- ufw`],
    ],
    [
      'installed, lists fresh',
      { packages: ['xrdp'], update_max_age_s: 60 },
      'xrdp\tii \t0.10.1-1\napt-lists-age=10',
      'ok',
      'installed: xrdp 0.10.1-1; package lists 10 s old (at most 60)',
      [],
    ],
  ])('%s', (_what, args, probed, status, reason, cmds) => {
    const d = decide(aptStep, args, probed);
    expect([d.status, d.reason]).toEqual([status, reason]);
    if (d.status === 'change') {
      expect(d.display).toEqual(['umask 022', ...cmds]);
      expect(d.script).toBe(['umask 022', ...cmds].join(' && '));
    }
  });
  test.each<[object, string]>([
    [{}, 'apt needs packages, upgrade: true or update_max_age_s'],
    [{ packages: ['xrdp'], update: true, update_max_age_s: 60 }, 'give one'],
    [{ packages: ['xrdp'], state: 'absent', upgrade: true }, 'state: absent removes packages'],
    [{ upgrade: true, no_recommends: true }, 'state and no_recommends need packages'],
    [{ update_max_age_s: -1 }, '0 or more seconds'],
    [{ update_max_age_s: 1.5 }, 'a whole number of seconds'],
    [{ upgrade: 'yes' }, 'expected boolean'],
  ])('refused: %j', (args, message) => {
    expect(() => aptStep.schema.parse(args)).toThrow(message);
  });
  test('the probe reads only what the arguments need', () => {
    expect(aptStep.probe(aptStep.schema.parse({ packages: ['xrdp'] }))).not.toMatch(/apt-lists-age|apt-get -s/);
    expect(aptStep.probe(aptStep.schema.parse({ update_max_age_s: 5 }))).toMatch(
      /^if t=\$\(stat -c %Y \/var\/lib\/apt\/vps-provision-update-stamp/,
    );
    expect(aptStep.probe(aptStep.schema.parse({ upgrade: true }))).toBe(
      'apt-get -s -o Debug::NoLocking=1 upgrade --with-new-pkgs 2>/dev/null | awk \'/^Inst /{print "apt-upgradable=" $2}\'',
    );
  });
  test('installed packages are ok, with versions', () => {
    expect(decide(aptStep, { packages: ['xrdp'] }, probe).reason).toBe('installed: xrdp 0.10.1-1');
  });
  test('absent removes only what is installed', () => {
    const d = decide(aptStep, { packages: ['xrdp', 'ufw'], state: 'absent' }, probe);
    expect(d.reason).toBe('remove xrdp');
  });
  test('package names are validated', () => {
    expect(() => aptStep.schema.parse({ packages: ['x; reboot'] })).toThrow('a Debian package name');
  });
});

describe('service', () => {
  test.each([
    [{ name: 'xrdp', enabled: true, state: 'started' }, 'enabled\nactive', 'ok', 'xrdp is enabled and active'],
    [
      { name: 'xrdp', enabled: true, state: 'started' },
      'disabled\ninactive',
      'change',
      'disabled -> enabled, inactive -> started',
    ],
    [{ name: 'xrdp', state: 'stopped' }, 'enabled\nactive', 'change', 'active -> stopped'],
    [{ name: 'xrdp', state: 'started' }, 'no-systemd', 'change', 'no systemd on this host'],
  ])('%j with %j', (args, probe, status, reason) => {
    const d = decide(serviceStep, args, probe);
    expect(d.status).toBe(status);
    expect(d.reason).toBe(reason);
  });
  test('restart_on becomes a conditional restart, not needed after a fresh start', () => {
    const running = decide(serviceStep, { name: 'xrdp', state: 'started', restart_on: ['Conf'] }, 'enabled\nactive');
    expect(running.onChanged).toMatchObject({ steps: ['Conf'], display: ['systemctl restart -- xrdp'] });
    const stopped = decide(serviceStep, { name: 'xrdp', state: 'started', restart_on: ['Conf'] }, 'enabled\ninactive');
    expect(stopped.onChanged).toBeUndefined();
  });
});

describe('user', () => {
  const keys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ test@laptop'];
  test('an absent account is created with groups, keys and a checked sudo drop-in', () => {
    const d = decide(
      userStep,
      { name: 'devuser', shell: '/bin/bash', groups: ['sudo'], authorized_keys: keys, sudo: true },
      'absent',
    );
    expect(d.status).toBe('change');
    expect(d.reason).toBe('account absent, authorized_keys differ, sudo drop-in differs');
    const script = d.status === 'change' ? d.script : '';
    expect(script).toContain('useradd --create-home --user-group --shell /bin/bash --groups sudo devuser');
    expect(script).toContain('visudo -c -q -f "$t"');
    expect(script).toContain('/etc/sudoers.d/90-vps-provision-devuser');
  });
  test('a matching account is ok', () => {
    const keysSha = sha(`${keys[0]}\n`);
    const sudoSha = sha('# managed by vps-provision\ndevuser ALL=(ALL:ALL) NOPASSWD: ALL\n');
    const probe = `passwd=devuser:x:1000:1000::/home/devuser:/bin/bash\ngroups=devuser sudo\nkeys=${keysSha}\nsudo=${sudoSha}`;
    const d = decide(
      userStep,
      { name: 'devuser', shell: '/bin/bash', groups: ['sudo'], authorized_keys: keys, sudo: true },
      probe,
    );
    expect(d).toEqual({ status: 'ok', reason: 'devuser exists with shell /bin/bash, groups devuser sudo' });
  });
  test('a missing group is joined', () => {
    const d = decide(
      userStep,
      { name: 'devuser', groups: ['sudo', 'ssl-cert'] },
      'passwd=devuser:x:1000:1000::/home/devuser:/bin/sh\ngroups=devuser sudo',
    );
    expect(d.reason).toBe('join ssl-cert');
  });
  test.each(['Root', 'root;reboot', '-rf', '../x', 'a b', ''])('unsafe user name %j is refused', (name) => {
    expect(() => userStep.schema.parse({ name })).toThrow();
  });
});
