// apt_repo and deb: argument checks, probe parsing and the pure decision, table-driven.
import { createHash } from 'node:crypto';
import { aptRepoStep, sourceListText, sourceUpdateCommand } from '../../src/steps/apt-repo.js';
import { debStep } from '../../src/steps/deb.js';
import { parseAptRepoState } from '../../src/facts/apt-repo-state.js';
import { parseDebPackage } from '../../src/facts/deb-package.js';
import type { StepType, Decision } from '../../src/steps/step-type.js';
import { parseOsRelease } from '../../src/facts/os-release.js';

const ctx = { remoteUser: 'root', os: parseOsRelease('debian|13|trixie|x86_64|Debian GNU/Linux 13 (trixie)') };
function decide<A>(t: StepType<A>, args: unknown, text: string): Decision {
  return t.decide(t.schema.parse(args), { text, exitCode: 0 }, ctx);
}
const SHA = createHash('sha256').update('key').digest('hex');

describe('apt_repo', () => {
  const args = {
    name: 'vscode',
    key_url: 'https://packages.microsoft.com/keys/microsoft.asc',
    repo: 'https://packages.microsoft.com/repos/code stable main',
  };
  const list = sourceListText(aptRepoStep.schema.parse(args)).replace(/\n$/, '');

  test('the source list names the keyring and the key URL', () => {
    expect(list).toBe(
      '# written by vps-provision (apt_repo vscode); key from https://packages.microsoft.com/keys/microsoft.asc\n' +
        'deb [signed-by=/etc/apt/keyrings/vscode.gpg] https://packages.microsoft.com/repos/code stable main',
    );
  });

  test.each([
    [
      'both in place',
      `key=${SHA} 644\nlist=present\n${list}`,
      'ok',
      `key /etc/apt/keyrings/vscode.gpg (sha256 ${SHA.slice(0, 12)}) and /etc/apt/sources.list.d/vscode.list in place`,
    ],
    [
      'nothing there',
      'key=absent\nlist=absent',
      'change',
      '/etc/apt/keyrings/vscode.gpg is absent, /etc/apt/sources.list.d/vscode.list is absent',
    ],
    ['key only', `key=${SHA} 644\nlist=absent`, 'change', '/etc/apt/sources.list.d/vscode.list is absent'],
    ['list only', `key=absent\nlist=present\n${list}`, 'change', '/etc/apt/keyrings/vscode.gpg is absent'],
    [
      'other list (changed key URL or repo)',
      `key=${SHA} 644\nlist=present\ndeb [signed-by=/etc/apt/keyrings/vscode.gpg] https://mirror.example/code stable main`,
      'change',
      '/etc/apt/sources.list.d/vscode.list differs',
    ],
    [
      'keyring apt cannot read',
      `key=${SHA} 600\nlist=present\n${list}`,
      'change',
      '/etc/apt/keyrings/vscode.gpg is not readable by apt (mode 600)',
    ],
    [
      'empty probe output',
      '',
      'change',
      '/etc/apt/keyrings/vscode.gpg is absent, /etc/apt/sources.list.d/vscode.list is absent',
    ],
  ])('%s -> %s', (_n, probe, status, reason) => {
    const d = decide(aptRepoStep, args, probe);
    expect(d.status).toBe(status);
    expect(d.reason).toBe(reason);
  });

  test('a change downloads the key on the host, dearmours armour, writes the list, updates that source only', () => {
    const d = decide(aptRepoStep, args, 'key=absent\nlist=absent');
    if (d.status !== 'change') throw new Error('expected a change');
    expect(d.script).toContain('umask 022');
    expect(d.script).toMatch(/curl -fsSL .* -o "\$d\/key" https:\/\/packages\.microsoft\.com\/keys\/microsoft\.asc/);
    expect(d.script).toContain("grep -q -e '-----BEGIN PGP PUBLIC KEY BLOCK-----'");
    expect(d.script).toContain('--dearmor');
    expect(d.script).toMatch(/chmod 0644 "\$t" && mv -f "\$t" \/etc\/apt\/keyrings\/vscode\.gpg/);
    expect(d.script).toContain(sourceUpdateCommand('vscode'));
    // a failed update takes the source out again
    expect(d.script).toMatch(/else rm -f \/etc\/apt\/sources\.list\.d\/vscode\.list; fi/);
    expect(sourceUpdateCommand('vscode')).toBe(
      'DEBIAN_FRONTEND=noninteractive flock -w 1800 /run/lock/vps-provision-apt.lock apt-get -y -q -o DPkg::Lock::Timeout=600 update ' +
        '-o Dir::Etc::sourcelist=sources.list.d/vscode.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 -o APT::Update::Error-Mode=any',
    );
    expect(d.display[0]).toBe(
      'curl -fsSL https://packages.microsoft.com/keys/microsoft.asc -> /etc/apt/keyrings/vscode.gpg (gpg --dearmor when ASCII-armoured), mode 0644',
    );
  });

  test('a hostile key URL stays one quoted argument', () => {
    const d = decide(aptRepoStep, { ...args, key_url: 'https://x.example/k$(reboot)`id`' }, 'key=absent\nlist=absent');
    expect(d.status === 'change' && d.script).toContain("'https://x.example/k$(reboot)`id`'");
  });

  test.each([
    [{ ...args, name: '../etc' }, 'a short file name'],
    [{ ...args, name: 'Bad Name' }, 'a short file name'],
    [{ ...args, key_url: 'ftp://x/key' }, 'an http(s) URL'],
    [{ ...args, key_url: "https://x/'k" }, 'an http(s) URL'],
    [{ ...args, repo: '[trusted=yes] https://x stable main' }, 'a repository line'],
    [{ ...args, repo: 'https://x stable main\ndeb http://evil/ x y' }, 'a repository line'],
    [{ ...args, repo: 'https://x' }, 'a repository line'],
    [{ ...args, extra: 1 }, 'Unrecognized key'],
  ])('refuses %j', (bad, message) => {
    expect(() => aptRepoStep.schema.parse(bad)).toThrow(message);
  });

  test.each([
    ['key=absent\nlist=absent', {}],
    [`key=${SHA} 644\nlist=present\na\nb`, { keyringSha256: SHA, keyringMode: '644', list: 'a\nb' }],
    [`key=${SHA} 640\nlist=present\n`, { keyringSha256: SHA, keyringMode: '640', list: '' }],
  ])('parses %j', (text, state) => {
    expect(parseAptRepoState(text)).toEqual(state);
  });
});

describe('deb', () => {
  const args = { url: 'https://downloads.example/cursor_1.0.0_amd64.deb', package: 'cursor', sha256: SHA };

  test.each([
    ['installed', 'cursor\tii \t1.0.0', 'ok', 'cursor 1.0.0 installed'],
    ['absent', '', 'change', 'cursor is not installed'],
    ['removed, config left (rc)', 'cursor\trc \t1.0.0', 'change', 'cursor is not installed'],
    ['half-installed', 'cursor\tiH \t1.0.0', 'change', 'cursor is not installed'],
  ])('%s -> %s', (_n, probe, status, reason) => {
    const d = decide(debStep, args, probe);
    expect(d.status).toBe(status);
    expect(d.reason).toBe(reason);
  });

  test('a change downloads, verifies the sha256 naming both sums, checks the package name, installs with apt-get', () => {
    const d = decide(debStep, args, '');
    if (d.status !== 'change') throw new Error('expected a change');
    expect(d.script).toContain(`-o "$d/package.deb" https://downloads.example/cursor_1.0.0_amd64.deb`);
    expect(d.script).toContain(
      `[ "$got" = ${SHA} ] || fail 'sha256 mismatch for https://downloads.example/cursor_1.0.0_amd64.deb: expected ${SHA}, got '"$got"`,
    );
    expect(d.script).toContain('dpkg-deb -f "$d/package.deb" Package');
    expect(d.script).toContain('apt-get -y -q -o DPkg::Lock::Timeout=600 install -- ./package.deb');
    expect(d.script).toContain('flock -w 1800 /run/lock/vps-provision-apt.lock');
    expect(d.display).toContain(`sha256 must be ${SHA}`);
  });

  test.each([
    ['empty sha256 (an unset variable)', ''],
    ['no sha256', undefined],
  ])('%s: not checked', (_n, sha256) => {
    const d = decide(debStep, { ...args, sha256 }, '');
    if (d.status !== 'change') throw new Error('expected a change');
    expect(d.script).not.toContain('sha256sum');
    expect(d.display).toContain('sha256 not checked (none given)');
  });

  test('an upper-case sha256 is compared in lower case (sha256sum prints lower case)', () => {
    const d = decide(debStep, { ...args, sha256: SHA.toUpperCase() }, '');
    expect(d.status === 'change' && d.script).toContain(`[ "$got" = ${SHA} ]`);
  });

  test.each([
    [{ ...args, sha256: 'abc' }, 'a sha256 in hex'],
    [{ ...args, url: 'file:///tmp/x.deb' }, 'an http(s) URL'],
    [{ ...args, package: 'Cursor IDE' }, 'a Debian package name'],
    [{ url: args.url }, 'package'],
  ])('refuses %j', (bad, message) => {
    expect(() => debStep.schema.parse(bad)).toThrow(message);
  });

  test.each([
    ['cursor\tii \t1.2.3', { installed: true, version: '1.2.3' }],
    ['cursor\tun \t', { installed: false }],
    ['', { installed: false }],
  ])('parses %j', (text, state) => {
    expect(parseDebPackage(text, 'cursor')).toEqual(state);
  });
});
