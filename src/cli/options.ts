// Option values checked when parsed: a bad one is a configuration error (exit 5) in one
// line naming the option, never an internal error later.
import type { Shard } from '../config/shard.js';

/** A coerce function for counts and intervals: positive whole numbers only. */
export function positiveWhole(option: string) {
  return (value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    const text = String(last).trim();
    if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
      // yargs keeps only the message of a coerce error: the example goes in it
      throw new Error(
        `--${option} ${JSON.stringify(String(last))}: expected a positive whole number (e.g. --${option} ${option === 'sample-interval' ? 10 : 3})`,
      );
    }
    return Number(text);
  };
}

/** Repeatable, comma-separable name options (--limit a,b --limit c): always a list. */
export function nameList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return ([value].flat() as unknown[]).map(String);
}

/** Edit distance, for "did you mean" on names a person typed. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name closest to `typed`, when it is close enough to be a typo. */
export function closest(typed: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(typed.toLowerCase(), name.toLowerCase());
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(typed.length / 3)) ? best.name : undefined;
}

// Options several commands share, said the same way everywhere.
export const yesOption = {
  alias: 'y',
  type: 'boolean',
  default: false,
  describe: 'do not ask for confirmation',
} as const;

export const rebootOption = {
  type: 'boolean',
  default: false,
  describe:
    'at the end, reboot the hosts that need it (/var/run/reboot-required), wait for SSH (at most 10 min) and check them',
} as const;

/** provision's and run's: the check runs before the first change on any host */
export const sourceCheckBeforeChangeOption = {
  type: 'boolean',
  default: false,
  describe:
    'do not check, before the first change, that every key, apt repository and .deb URL of the selected phases resolves from each host',
} as const;

/**
 * --shard "2/4" -> { index: 2, count: 4 }; anything else is refused with an example. Here, not
 * beside pickShard (config/shard.ts): parsing the command line must not load node:crypto (~12 ms).
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new Error(
      `--shard ${JSON.stringify(text)}: expected i/n with 1 <= i <= n (e.g. --shard 1/4 on the first of four runners)`,
    );
  }
  return { index, count };
}
