// `down` removes a destroyed droplet's address from known_hosts: DigitalOcean gives addresses
// to new droplets, whose keys would then be refused as "changed". Like `ssh-keygen -R`:
// plain and hashed lines for that name go; the file is rewritten through a temp file with
// its mode kept; a missing file is left missing.
import { readFileSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostFieldMatches, knownHostsName } from './known-hosts.js';

/** Removes the lines for host:port from each file; returns how many lines went. */
export function forgetHost(files: readonly string[], host: string, port = 22): number {
  const name = knownHostsName(host, port);
  let removed = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    const kept = lines.filter((raw) => {
      const fields = raw.trim().split(/[ \t]+/);
      const hosts = fields[0]?.startsWith('@') ? fields[1] : fields[0];
      // a line naming several hosts (a,b) loses only when the name matches it; as ssh-keygen -R
      const drop = Boolean(hosts) && !hosts!.startsWith('#') && hostFieldMatches(hosts!, name);
      if (drop) removed++;
      return !drop;
    });
    if (kept.length === lines.length) continue;
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, kept.join('\n'), { mode: statSync(file).mode & 0o777 });
    renameSync(tmp, file);
  }
  return removed;
}
