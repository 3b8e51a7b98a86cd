#!/usr/bin/env node
// vps-provision entry point. `--version` alone is answered here, from package.json, without
// loading yargs (most of a start-up's cost); everything else goes to command-line.ts, as
// bundled by `npm run build` (dist/bundle/: one file per command and a few shared chunks
// instead of some 380 modules, which Node 20 resolves, reads and compiles one by one).
// A tsc-only build (no bundle, or a bundle older than what tsc just wrote) runs the modules
// themselves, so a stale bundle never runs code that is no longer the source.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  // dist/src/cli/main.js -> the package root, in the repository and once installed
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`${pkg.version}\n`);
} else {
  // dist/src/cli/main.js -> dist/bundle/command-line.js
  const bundled = new URL('../../bundle/command-line.js', import.meta.url);
  const mtime = (url: URL) => statSync(fileURLToPath(url), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const fresh = mtime(bundled) >= mtime(new URL('./command-line.js', import.meta.url));
  await (fresh ? import(bundled.href) : import('./command-line.js'));
}
