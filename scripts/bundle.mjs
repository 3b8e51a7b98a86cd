// npm run bundle (part of npm run build): dist/src/cli/command-line.js and what it imports,
// as a few ES module files in dist/bundle/ (one per command, plus shared chunks). Unbundled,
// Node 20 resolves, reads and compiles some 380 modules one by one at every start-up.
// dist/src/cli/main.js runs the bundle when it is at least as new as what tsc wrote.
//
// Start-up work the CLI never uses is left out of the bundle:
// - every `string-width` import goes to src/cli/ui/string-width.ts, which loads the library
//   only for text that is not plain ASCII (its Unicode RegExps cost ~70 ms of CPU);
// - zod's `locales` namespace (~360 KB of messages in 40 languages) is empty: src/zod.ts
//   imports zod's English messages from their own file, and this tool never calls
//   z.config(z.locales.xx()).
// And yargs looks for its caller's package.json from the folder above its own `node_modules`;
// bundled it has none, so it read every folder from the user's working directory up to /
// (40 ms in a /tmp of 6000 files) at each start-up. It starts from the package root instead.
import * as esbuild from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)
        ? { path: args.importer, namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: 'export {};',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

const yargsPlatformShim = {
  name: 'yargs-platform-shim',
  setup(build) {
    build.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      const edit = (from, to) => {
        if (text.split(from).length !== 2)
          throw new Error(`${args.path} no longer reads "${from}": see yargsPlatformShim in scripts/bundle.mjs`);
        text = text.replace(from, to);
      };
      // dist/bundle/<chunk>.js -> the package root
      edit(
        'mainFilename: mainFilename || process.cwd(),',
        "mainFilename: fileURLToPath(new URL('../../', import.meta.url)),",
      );
      // yargs' two internal invariants (it checks them on every parse), without loading
      // node:assert, ~8 ms of each start-up; yargs' own browser shim makes them no-ops
      edit(
        "import { notStrictEqual, strictEqual } from 'assert'",
        'const notStrictEqual = (a, b, m) => { if (Object.is(a, b)) throw new Error(m || `yargs: unexpected ${a}`) }\n' +
          'const strictEqual = (a, b, m) => { if (!Object.is(a, b)) throw new Error(m || `yargs: ${a} is not ${b}`) }',
      );
      return { contents: text };
    });
  },
};

// chunk names carry a content hash: old ones would pile up
rmSync('dist/bundle', { recursive: true, force: true });
await esbuild.build({
  entryPoints: ['dist/src/cli/command-line.js'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/bundle',
  // ssh2 loads its optional native parts with require(): it stays in node_modules
  external: ['ssh2', 'cpu-features'],
  alias: { 'string-width': './dist/src/cli/ui/string-width.js' },
  plugins: [zodEnglishOnly, yargsPlatformShim],
  // bundled CommonJS dependencies call require(); an ES module has none
  banner: {
    js: "import { createRequire as __vpsCreateRequire } from 'node:module'; const require = __vpsCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
