// ssh2 is CommonJS and takes ~90 ms of CPU to load on a 2-core machine: it is required on
// first use (a key parsed, a connection opened), so commands that only read files (hosts,
// report, --help, completion) never load it.
import { createRequire } from 'node:module';

type Ssh2 = typeof import('ssh2');
let loaded: Ssh2 | undefined;

export function ssh2(): Ssh2 {
  return (loaded ??= createRequire(import.meta.url)('ssh2') as Ssh2);
}
