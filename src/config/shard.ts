// --shard i/n: a stable split of the selected hosts over n runners (CI matrix jobs), so a
// large fleet is spread without a scheduler. Hosts are ordered by the sha256 of their name
// and dealt round-robin: the same hosts give every runner the same split, shards differ in
// size by at most one host, every host is in exactly one shard. (Adding or removing hosts
// can move others to another shard: the split is of the hosts selected now.)
import { createHash } from 'node:crypto';

export interface Shard {
  /** 1-based */
  index: number;
  count: number;
}

const rank = (name: string) => createHash('sha256').update(name).digest('hex');

/** The items of shard `s` among `items` (named by `nameOf`), in their given order. */
export function pickShard<T>(items: readonly T[], s: Shard | undefined, nameOf: (t: T) => string): T[] {
  if (!s || s.count === 1) return [...items];
  const order = items
    .map((t) => ({ name: nameOf(t), r: rank(nameOf(t)) }))
    .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const mine = new Set(order.filter((_, i) => i % s.count === s.index - 1).map((o) => o.name));
  return items.filter((t) => mine.has(nameOf(t)));
}
