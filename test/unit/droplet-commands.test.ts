// Pure parts of the droplet commands: known_hosts forgetting, the RDP client per platform,
// up's defaults, and the inventory's digitalocean section.
import { mkdtempSync, writeFileSync, readFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetHost } from '../../src/transport/known-hosts-forget.js';
import { hashKnownHostsName } from '../../src/transport/known-hosts.js';
import { rdpClientCommand } from '../../src/cli/commands/connect.js';
import { cloudSettings, safeCell } from '../../src/cli/cloud.js';
import { emptyInventory, loadInventory, provideTaggedDroplets } from '../../src/config/inventory.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vpsprov-dc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsL0Wk0Pq3bKXk6T2d7lbq0m0wN1C2pQYk3m3hV5Z3R';

test('forgetHost removes plain and hashed lines of that address only, keeping the mode', () => {
  const f = join(dir, 'known_hosts');
  writeFileSync(
    f,
    [
      `203.0.113.5 ${KEY}`,
      `${hashKnownHostsName('203.0.113.5')} ${KEY}`,
      `203.0.113.50 ${KEY}`,
      `[203.0.113.5]:2222 ${KEY}`,
      '# 203.0.113.5 comment',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  expect(forgetHost([f, join(dir, 'missing')], '203.0.113.5')).toBe(2);
  expect(readFileSync(f, 'utf8')).toBe(
    [`203.0.113.50 ${KEY}`, `[203.0.113.5]:2222 ${KEY}`, '# 203.0.113.5 comment', ''].join('\n'),
  );
  expect(statSync(f).mode & 0o777).toBe(0o600);
  expect(forgetHost([f], '203.0.113.5')).toBe(0);
});

test.each([
  ['linux', ['xfreerdp'], ['xfreerdp', ['/v:127.0.0.1:4000', '/u:dev', '/cert:tofu', '/dynamic-resolution']]],
  ['linux', ['remmina'], ['remmina', ['-c', 'rdp://dev@127.0.0.1:4000']]],
  ['linux', [], undefined],
  ['darwin', [], ['open', ['rdp://full%20address=s:127.0.0.1:4000&username=s:dev']]],
  ['win32', [], ['mstsc', ['/v:127.0.0.1:4000']]],
] as const)('%s with %j -> %j', (platform, bins, want) => {
  expect(rdpClientCommand(platform, 4000, 'dev', (b) => (bins as readonly string[]).includes(b))).toEqual(want);
});

test('up defaults: flags over the inventory over SPEC §8', () => {
  const inv = { ...emptyInventory('x'), digitalocean: { region: 'ams3', tag: 'mine' } };
  expect(cloudSettings({}, emptyInventory('x'))).toEqual({
    region: 'fra1',
    size: 's-2vcpu-4gb',
    image: 'debian-13-x64',
    tag: 'vps-provision',
  });
  expect(cloudSettings({ size: 's-4vcpu-8gb', tag: 't2' }, inv)).toEqual({
    region: 'ams3',
    size: 's-4vcpu-8gb',
    image: 'debian-13-x64',
    tag: 't2',
  });
  expect(safeCell('a\u001b[31mb\n')).toBe('a?[31mb?');
});

test('an inventory with digitalocean: { tag } takes the tagged droplets as hosts; its own entry wins', () => {
  const f = join(dir, 'tagged.yml');
  writeFileSync(
    f,
    'digitalocean: { tag: ws, region: ams3 }\ndefaults: { user: admin, vars: { desktop_profile: lean } }\nhosts:\n  b: { address: 198.51.100.9, user: root }\n',
  );
  provideTaggedDroplets(f, [
    { name: 'a', address: '203.0.113.1' },
    { name: 'b', address: '203.0.113.2' },
  ]);
  const inv = loadInventory(f);
  expect(inv.digitalocean).toEqual({ tag: 'ws', region: 'ams3' });
  expect(inv.hosts.map((h) => [h.name, h.address, h.explicit.user ?? h.fallback.user, h.vars.desktop_profile])).toEqual(
    [
      ['b', '198.51.100.9', 'root', 'lean'],
      ['a', '203.0.113.1', 'admin', 'lean'],
    ],
  );
});

test.each([
  ['digitalocean: { tag: "a b" }\n', 'digitalocean.tag'],
  ['digitalocean: { region: FRA1 }\n', 'digitalocean.region'],
  ['digitalocean: { colour: blue }\n', 'colour'],
])('a bad digitalocean section is refused: %s', (yaml, where) => {
  const f = join(dir, 'bad.yml');
  writeFileSync(f, yaml);
  expect(() => loadInventory(f)).toThrow(ConfigError);
  try {
    loadInventory(f);
  } catch (e) {
    expect(String((e as Error).message)).toContain(where.split('.').pop());
  }
});
