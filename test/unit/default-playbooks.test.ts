// The default playbooks and the README say only what is true: the hardening order of the
// workstation, apt's settings as apt itself reads them, and no pointers to documents that
// are not in the repository.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook } from '../../src/config/playbook.js';
import { REPO } from '../support/cli.js';

const pb = loadPlaybook(join(REPO, 'playbooks'));
const order = pb.phases.map((p) => p.name);
const at = (name: string) => order.indexOf(name);

test('firewall, fail2ban and ssh-hardening are critical and come right after system-prep', () => {
  expect(order.slice(0, 4)).toEqual(['system-prep', 'firewall', 'fail2ban', 'ssh-hardening']);
  for (const name of ['firewall', 'fail2ban', 'ssh-hardening']) {
    const phase = pb.phases.find((p) => p.name === name)!;
    expect([name, phase.critical]).toEqual([name, true]);
    // before anything is exposed: the developer account (password, sudo) and xrdp
    expect(at(name)).toBeLessThan(at('user'));
    expect(at(name)).toBeLessThan(at('rdp'));
  }
  // every phase's needs come earlier in the order
  for (const p of pb.phases)
    for (const n of p.needs) expect([p.name, n, at(n) < at(p.name)]).toEqual([p.name, n, true]);
  expect(order[order.length - 1]).toBe('verify');
});

test('verify checks sshd -T, ufw default deny incoming and the fail2ban jails', () => {
  const verify = readFileSync(join(REPO, 'playbooks/verify.yml'), 'utf8');
  expect(verify).toContain('sshd -T');
  expect(verify).toContain("'passwordauthentication no'");
  expect(verify).toMatch(/Default: \(deny\|reject\) \\\\?\(incoming/);
  expect(verify).toContain('fail2ban-client status sshd');
  expect(verify).toContain('fail2ban-client status xrdp');
});

test('apt reads the tuning file as documented, and it claims no parallel downloads', () => {
  // apt-config with a configuration of its own: nothing of this machine's /etc/apt is read
  const dir = mkdtempSync(join(tmpdir(), 'apt-conf-'));
  mkdirSync(join(dir, 'parts'));
  writeFileSync(join(dir, 'apt.conf'), `Dir::Etc::main "/dev/null";\nDir::Etc::parts "${join(dir, 'parts')}";\n`);
  const dump = execFileSync('apt-config', ['-c', join(REPO, 'playbooks/files/apt-tuning.conf'), 'dump'], {
    env: { ...process.env, APT_CONFIG: join(dir, 'apt.conf') },
  }).toString();
  const lines = new Set(dump.split('\n'));
  for (const l of [
    'Acquire::http::Pipeline-Depth "5";',
    'Acquire::Retries "3";',
    'Acquire::http::Timeout "300";',
    'Acquire::https::Timeout "300";',
    'APT::Install-Suggests "false";',
    'DPkg::Options:: "--force-confdef";',
    'DPkg::Options:: "--force-confold";',
  ])
    expect([l, lines.has(l)]).toEqual([l, true]);
  // Acquire::QueueHost::Limit does not give parallel downloads from one mirror
  expect(dump).not.toMatch(/QueueHost|Queue-Mode/);
  for (const f of ['README.md', 'playbooks/files/apt-tuning.conf', 'playbooks/system-prep.yml']) {
    // "N parallel downloads" / "downloads at once" are claims; "no parallel downloads are claimed" is not
    expect([f, /\d+ parallel downloads?|\d+ downloads at once/i.test(readFileSync(join(REPO, f), 'utf8'))]).toEqual([
      f,
      false,
    ]);
  }
});

test('the README names no section of documents that are not in the repository', () => {
  for (const f of ['README.md', 'test/support/droplet/README.md', 'inventory/hosts.yml', 'playbooks/site.yml']) {
    const text = readFileSync(join(REPO, f), 'utf8');
    expect([f, text.match(/\b(SPEC|DESIGN)\b[^\n]{0,3}§\s*\d[\d.]*/g)]).toEqual([f, null]);
  }
});
