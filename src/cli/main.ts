#!/usr/bin/env node
// vps-provision entry point. `--version` alone is answered here, from package.json, without
// loading yargs (most of a start-up's cost); everything else goes to command-line.ts.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  // dist/src/cli/main.js -> the package root, in the repository and once installed
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`${pkg.version}\n`);
} else {
  await import('./command-line.js');
}
