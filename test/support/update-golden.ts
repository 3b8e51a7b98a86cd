// Rewrites test/golden/ from the script builders (npm run golden:update). Run it on purpose
// after changing a builder, then read the diff: the golden files are the scripts' exact text.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenScripts } from './script-fixtures.js';

export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const scripts = goldenScripts();
  for (const sub of readdirSync(GOLDEN_DIR, { withFileTypes: true })) {
    if (sub.isDirectory()) rmSync(join(GOLDEN_DIR, sub.name), { recursive: true });
  }
  for (const [name, text] of Object.entries(scripts)) {
    mkdirSync(dirname(join(GOLDEN_DIR, name)), { recursive: true });
    writeFileSync(join(GOLDEN_DIR, name), text);
  }
  console.log(`wrote ${Object.keys(scripts).length} golden scripts to ${GOLDEN_DIR}`);
}
