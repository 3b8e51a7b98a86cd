// ESLint (flat config): typescript-eslint's recommended rules, plus the layers of
// docs/ARCHITECTURE.md as import rules, so a change that crosses a layer the wrong
// way fails `npm run lint` (and CI) instead of a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** A relative import that lands in the folder `layer` of src/, from any depth. */
const into = (layer) => `^(\\.\\./)+${layer}/`;
const layers = (names, why) => names.map((l) => ({ regex: into(l), message: `${why} (docs/ARCHITECTURE.md)` }));
/** Modules that reach the disk, processes or the network. */
const IO_MODULES = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'tls',
  'dgram',
  'http',
  'https',
  'http2',
  'readline',
  'worker_threads',
  'cluster',
]
  .flatMap((m) => [m, `node:${m}`])
  .concat(['ssh2', 'openapi-fetch']);
const noIo = (why) => IO_MODULES.map((name) => ({ name, message: `${why} (docs/ARCHITECTURE.md)` }));

/** One block per layer: what its files may not import. */
function layer(folder, { deny = [], why, io = false, files = [`src/${folder}/**/*.ts`], ignores = [], extra = [] }) {
  return {
    files,
    ignores,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: io ? noIo(`${folder}/ does no I/O: ${why}`) : [],
          patterns: [
            ...layers(deny, `${folder}/ may not import from these layers: ${why}`),
            // product code never reaches into the tests, the benchmark or the demo
            { regex: '^(\\.\\./)+(test|bench|demo)/', message: 'src/ never imports test/, bench/ or demo/' },
            ...extra,
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', 'src/cloud/openapi/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_` marks a parameter a signature needs but the body does not
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // relative imports end in .js (NodeNext); type-only imports are marked as such
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // control characters are matched on purpose: terminal, CSV and key-file sanitising
      'no-control-regex': 'off',
      // `let { a, b } = ...` where only some are reassigned stays one destructuring
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
  // Shell by construction: scripts are built with the `sh` tag of src/shell/sh.ts, which
  // quotes every value; a hand-placed shQuote in a template literal is how quoting bugs came in.
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'TemplateLiteral :matches(CallExpression[callee.name=/^sh(Quote|Join)$/], Identifier[name=/^sh(Quote|Join)$/])',
          message:
            'build shell text with the sh`...` tag (src/shell/sh.ts): it quotes every value; raw() marks trusted shell text',
        },
      ],
    },
  },
  // The layers (DESIGN §1): cli -> engine -> steps, facts, commands; cli -> transport, config, report.
  // Only cli prints, prompts and maps errors to exit codes, so nothing imports cli.
  layer('engine', {
    deny: ['cli', 'cloud'],
    why: 'the engine runs phases through the Connector it is handed',
    io: true,
    extra: [
      {
        regex: 'transport/(ssh-connector|ssh2-connection)\\.js$',
        message: 'the engine gets a Connector handed in and never creates one (docs/ARCHITECTURE.md)',
      },
    ],
  }),
  layer('steps', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'report', 'monitor'],
    why: 'a step is a pure decision from arguments and facts',
    io: true,
  }),
  layer('facts', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'report', 'monitor', 'steps', 'config'],
    why: 'a fact is a command and a pure parser',
    io: true,
  }),
  layer('shell', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'report', 'config'],
    why: 'shell/ holds pure builders of shell text',
    io: true,
  }),
  layer('transport', {
    deny: ['cli', 'engine', 'steps', 'facts', 'cloud', 'report', 'monitor'],
    why: 'transport talks to hosts and knows nothing above it',
  }),
  layer('config', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'monitor'],
    why: 'config turns files into typed objects',
    // report/formats.ts owns the alert thresholds and their defaults (run.json records them)
    extra: [
      {
        regex: '^(\\.\\./)+report/(?!formats\\.js$)',
        message: 'config/ may import report/formats.ts only (docs/ARCHITECTURE.md)',
      },
    ],
  }),
  layer('report', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'steps', 'facts', 'config'],
    why: 'report reads and writes run files only',
  }),
  layer('monitor', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'steps', 'facts', 'config', 'report'],
    why: 'monitor builds the scripts run on the hosts',
    io: true,
    ignores: ['src/monitor/script-files.ts'],
  }),
  layer('cloud', {
    deny: ['cli', 'engine', 'transport', 'steps', 'facts', 'report', 'monitor', 'config'],
    why: 'cloud is the DigitalOcean API and nothing else',
  }),
  // script-files reads the package's own .sh files: the one read monitor/ does
  layer('monitor', {
    deny: ['cli', 'engine', 'transport', 'cloud', 'steps', 'facts', 'config', 'report'],
    why: 'monitor builds the scripts run on the hosts',
    files: ['src/monitor/script-files.ts'],
  }),
  // Prettier owns the layout (npm run format); ESLint's layout rules are turned off
  prettier,
);
