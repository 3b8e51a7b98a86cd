// Probe: which Debian packages are installed, and their versions.
import { sh } from '../shell/sh.js';

export type PackageStates = Map<string, { installed: boolean; version: string }>;

export function packagesProbe(packages: readonly string[]): string {
  return sh`dpkg-query -W ${'-f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'} -- ${packages} 2>/dev/null; true`
    .text;
}

export function parsePackages(text: string): PackageStates {
  const states: PackageStates = new Map();
  for (const row of text.split('\n')) {
    const [name, status, version] = row.split('\t');
    if (!name || status === undefined) continue;
    // "ii " = wanted install, installed; anything else (rc, un, half-installed) is not usable
    states.set(name.split(':')[0]!, { installed: status.startsWith('ii'), version: version ?? '' });
  }
  return states;
}
