import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inventoryTag, loadInventory, selectHosts } from '../../src/config/inventory.js';
import { ConfigError } from '../../src/errors.js';
import { MAX_YAML_BYTES } from '../../src/config/yaml-file.js';

const dir = mkdtempSync(join(tmpdir(), 'inv-unit-'));
let n = 0;
const write = (text: string) => {
  const p = join(dir, `hosts-${n++}.yml`);
  writeFileSync(p, text);
  return p;
};

const SPEC_EXAMPLE = `defaults:
  user: root
  port: 22
  identity_file: ~/.ssh/id_ed25519
  become: false
  vars: { developer_user: devuser }
hosts:
  droplet-1: { address: 203.0.113.10 }
  droplet-2: { address: 203.0.113.11, port: 2222, vars: { developer_user: ana } }
  droplet-3:
groups:
  workstations: [droplet-1, droplet-2]
`;

test('the SPEC example resolves: defaults, per-host overrides, name as address', () => {
  const inv = loadInventory(write(SPEC_EXAMPLE));
  const [a, b, c] = inv.hosts;
  expect(a).toMatchObject({
    name: 'droplet-1',
    address: '203.0.113.10',
    fallback: { user: 'root', port: 22 },
    explicit: {},
    become: false,
    line: 8,
  });
  expect(a!.vars).toEqual({ inventory_hostname: 'droplet-1', developer_user: 'devuser' });
  expect(b).toMatchObject({ explicit: { port: 2222 }, vars: { developer_user: 'ana' } });
  expect(c!.address).toBe('droplet-3');
  // unset: ssh_config's StrictHostKeyChecking may still decide, else accept-new
  expect(inv.hostKeyPolicy).toBeUndefined();
  expect(inv.thresholds.memAvailableMb).toBe(500);
});

test.each([
  [['workstations'], ['droplet-1', 'droplet-2']],
  [['droplet-3,droplet-1'], ['droplet-1', 'droplet-3']],
  [
    ['droplet-2', 'droplet-3'],
    ['droplet-2', 'droplet-3'],
  ],
  [[], ['droplet-1', 'droplet-2', 'droplet-3']],
])('--limit %j', (limit, names) => {
  const inv = loadInventory(write(SPEC_EXAMPLE));
  expect(selectHosts(inv, limit).map((h) => h.name)).toEqual(names);
});

test.each([
  ['hosts:\n  bad name!: {}\n', 2, 'host names are letters'],
  ['hosts:\n  a:\n    vars: { x: [1] }\n', 3, 'a variable must be'],
  ['hosts:\n  a: { become: yes please }\n', 2, 'hosts.a.become: expected true or false, found text'],
  // a whole number's message shows the number found (no empty "found")
  ['defaults:\n  port: 22.5\nhosts: { a: {} }\n', 2, 'defaults.port: expected a whole number (e.g. 22), found 22.5'],
  ['hosts:\n  a: { port: .nan }\n', 2, 'hosts.a.port: expected a number (e.g. 22), found NaN'],
  ['hosts:\n  a: { port: "22" }\n', 2, 'hosts.a.port: expected a number (e.g. 22), found text'],
  ['defaults: { host_key_policy: maybe }\nhosts: { a: {} }\n', 1, 'host_key_policy'],
  ['hosts:\n  a: { address: "1.2.3.4; reboot" }\n', 2, 'an address is a host name'],
])('errors name file and line: %j', (text, line, message) => {
  const p = write(text);
  let err: unknown;
  try {
    loadInventory(p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).line).toBe(line);
  expect((err as ConfigError).message).toContain(`${p}:${line}:`);
  expect((err as ConfigError).message).toContain(message);
});

test('a missing inventory file says so', () => {
  expect(() => loadInventory(join(dir, 'nope.yml'))).toThrow(/nope\.yml: file not found/);
});

test.each([
  ['hosts:\n  a: {}\n  b:\n  a: { port: 3 }\n', 4],
  ['hosts:\n  a:\n    vars: { x: 1, y: 2, x: 3 }\n', 3],
])('a repeated key is refused at its line: %j', (text, line) => {
  const p = write(text);
  let err: unknown;
  try {
    loadInventory(p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).message).toBe(`${p}:${line}: YAML syntax error: Map keys must be unique`);
});

test('a large inventory: every host, lines looked up only when asked and still right', () => {
  const count = 20_000;
  const lines = ['hosts:'];
  for (let i = 0; i < count; i++)
    lines.push(i % 2 ? `  h${i}: { address: 10.1.${(i >> 8) & 255}.${i & 255} }` : `  h${i}:`);
  const inv = loadInventory(write(`${lines.join('\n')}\n`));
  expect(inv.hosts).toHaveLength(count);
  for (const i of [0, 1, 12_345, count - 1]) expect(inv.hosts[i]!.line).toBe(i + 2);
});

test('an inventory past the size limit is refused before it is read, naming file and limit', () => {
  const p = write(`hosts:\n  a: {}\n# ${'x'.repeat(MAX_YAML_BYTES)}\n`);
  expect(() => loadInventory(p)).toThrow(
    new RegExp(`inventory ${p}: the file is 4\\.0 MB, more than the limit of 4\\.0 MB`),
  );
});

test('the file parsed for its tag is loaded from that parse, unless it changed since', () => {
  const p = write('digitalocean: { tag: fleet }\nhosts:\n  a: { address: 10.0.0.1 }\n');
  expect(inventoryTag(p)).toBe('fleet');
  expect(loadInventory(p).hosts.map((h) => [h.name, h.address])).toEqual([['a', '10.0.0.1']]);
  // changed between the tag and the load: what the file holds now counts
  expect(inventoryTag(p)).toBe('fleet');
  writeFileSync(p, 'hosts:\n  b: { address: 10.0.0.2 }\n');
  expect(loadInventory(p).hosts.map((h) => [h.name, h.address])).toEqual([['b', '10.0.0.2']]);
  // taken once: a second load reads and parses again (nothing shared between two loads)
  const first = loadInventory(p);
  const second = loadInventory(p);
  expect(second.hosts).toEqual(first.hosts);
  expect(second.hosts[0]).not.toBe(first.hosts[0]);
});
