// The POSIX sh scripts pushed to droplets live as plain .sh files in the source
// tree (readable, testable with sh directly). tsc does not copy them to dist/, so
// they are read from <package root>/src/monitor/ both from dist/ and when installed.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type MonitorScriptName = 'sampler.sh' | 'benchmark.sh';

let root: string | undefined;
const cache = new Map<MonitorScriptName, string>();

/** The folder holding this package's package.json, found by walking up from this module. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  // bounded: a path has finitely many parents; stop at the filesystem root
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`vps-provision: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute path of a monitor script in the package. */
export function monitorScriptPath(name: MonitorScriptName): string {
  return join(packageRoot(), 'src', 'monitor', name);
}

/** The text of a monitor script (read once, then cached). */
export function monitorScript(name: MonitorScriptName): string {
  let text = cache.get(name);
  if (text === undefined) {
    const path = monitorScriptPath(name);
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`vps-provision: cannot read ${path}; the package must ship src/monitor/*.sh`, { cause: err });
    }
    cache.set(name, text);
  }
  return text;
}
