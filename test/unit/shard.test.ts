// --shard i/n: every selected host in exactly one shard, sizes within one host, the same
// split whatever order the hosts come in, and bad values refused with an example.
import { pickShard } from '../../src/config/shard.js';
import { parseShard } from '../../src/cli/options.js';

const names = (n: number, prefix = 'host') => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
const id = (s: string) => s;

test.each([
  [1, 1],
  [5, 2],
  [10, 3],
  [100, 7],
  [1000, 16],
  [3, 8],
])('%i hosts in %i shards: a partition, sizes within one', (hosts, count) => {
  const all = names(hosts);
  const shards = Array.from({ length: count }, (_, i) => pickShard(all, { index: i + 1, count }, id));
  expect(shards.flat().sort()).toEqual([...all].sort());
  expect(new Set(shards.flat()).size).toBe(hosts);
  const sizes = shards.map((s) => s.length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
});

test('stable: the same hosts give the same split in any order, and keep inventory order within a shard', () => {
  const all = names(50, 'web');
  const shuffled = [...all].reverse();
  for (let i = 1; i <= 4; i++) {
    const a = pickShard(all, { index: i, count: 4 }, id);
    expect([...pickShard(shuffled, { index: i, count: 4 }, id)].sort()).toEqual([...a].sort());
    expect(a).toEqual(all.filter((n) => a.includes(n)));
  }
  // not simply consecutive hosts: a hash decides
  expect(pickShard(all, { index: 1, count: 2 }, id)).not.toEqual(all.slice(0, 25));
});

test.each(['1/1', '2/4', ' 3 / 3 '])('parses %j', (text) => {
  const s = parseShard(text);
  expect(s.index).toBeGreaterThanOrEqual(1);
  expect(s.index).toBeLessThanOrEqual(s.count);
});

test.each(['0/2', '3/2', '1/0', 'x', '1', '1/2/3', '-1/2', '1.5/2', ''])('refuses %j with an example', (text) => {
  expect(() => parseShard(text)).toThrow(/--shard .*expected i\/n with 1 <= i <= n \(e\.g\. --shard 1\/4/);
});
