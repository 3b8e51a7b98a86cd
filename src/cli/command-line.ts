// vps-provision command line (after main.ts's fast path): yargs, the commands, and the only
// place that prints errors and picks exit codes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ProvisionError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { installInterruptHandler } from './interrupt.js';
import { dropOutputToClosedStreams } from './closed-output.js';
import { terminalLine } from './ui/terminal-text.js';
import { positiveWhole, nameList, closest, parseShard } from './options.js';
import { completionShell } from './completion.js';
import { COMMAND_INDEX, commandModules } from './command-index.js';
import { HOST_KEY_POLICIES } from '../config/host-key-policy.js';
import { packageRoot } from '../monitor/script-files.js';

function exitCodeOf(err: ProvisionError): number {
  switch (err.kind) {
    case 'config':
      return EXIT.config;
    case 'interrupted':
      return EXIT.interrupted;
    case 'cancelled':
      return EXIT.cancelled;
    case 'connect':
    case 'preflight':
      return EXIT.preflight;
    default:
      return EXIT.failed;
  }
}

function report(err: unknown, verbose: boolean): number {
  if (err instanceof ProvisionError) {
    process.stderr.write(`error: ${terminalLine(err.message)}\nhint: ${terminalLine(err.hint)}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return exitCodeOf(err);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `error: ${terminalLine(message)}\nhint: this is unexpected; run again with --verbose and report it\n`,
  );
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return EXIT.failed;
}

const verbose = process.argv.includes('--verbose');
// --shard i/n, checked when parsed (a bad value is exit 5 in one line)
const shardOption = (v: unknown) => (v === undefined ? undefined : parseShard(String([v].flat().at(-1))));

const COMMANDS = [...Object.keys(COMMAND_INDEX), 'completion'];

/** Tagged DigitalOcean droplets as hosts: the module (and the API client) only for commands that take hosts. */
async function addTaggedDroplets(argv: { _: (string | number)[]; inventory?: string }): Promise<void> {
  const [command] = argv._.map(String);
  if (!command || !['provision', 'run', 'plan', 'check', 'hosts', 'bench', 'report'].includes(command)) return;
  await (await import('./tagged-droplets.js')).addTaggedDroplets(argv);
}
/**
 * yargs formats a command's whole help text each time it runs one (usage.cacheHelpMessage:
 * cliui, wrap-ansi, string-width; ~100 ms of CPU), to show it later from an async handler.
 * Help is printed only for --help (before any handler) and never on failure here (.fail
 * prints one line), so unless help is asked the formatting is skipped (Angular's CLI does the same).
 */
function skipHelpCache(cli: object, args: readonly string[]): void {
  if (args.includes('--help') || args.includes('-h')) return;
  const usage = (cli as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } })
    .getInternalMethods?.()
    .getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}
// Ctrl-C is the tool's from the first moment: at a prompt, while connecting, during a run
installInterruptHandler();
dropOutputToClosedStreams();

try {
  completionShell(hideBin(process.argv));
  const commands = await commandModules(hideBin(process.argv));
  let cli = yargs(hideBin(process.argv))
    .scriptName('vps-provision')
    // named here: yargs' own guess reads the package.json above its module, which a bundle has not
    .version((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version)
    .usage('$0 <command> [options]\n\nProvision droplets over SSH into developer workstations, and measure it.')
    .option('inventory', {
      alias: 'i',
      type: 'string',
      default: 'inventory/hosts.yml',
      describe: 'inventory YAML file',
    })
    .option('playbooks', {
      type: 'string',
      default: 'playbooks',
      describe: 'folder with site.yml and <phase>.yml files',
    })
    // one value per --limit (repeat it, or a comma list): an array option would eat `run -l h1 rdp`'s phase
    .option('limit', {
      alias: 'l',
      type: 'string',
      requiresArg: true,
      coerce: nameList,
      describe: 'hosts or groups (names or comma lists; repeatable)',
    })
    .option('shard', {
      type: 'string',
      requiresArg: true,
      coerce: shardOption,
      describe: "i/n: only this runner's part of the selected hosts (a stable split by host name hash; CI matrix)",
    })
    .option('concurrency', {
      type: 'string',
      default: '10',
      coerce: positiveWhole('concurrency'),
      describe: 'hosts worked on at once',
    })
    .option('ide-concurrency', {
      type: 'string',
      default: '3',
      coerce: positiveWhole('ide-concurrency'),
      describe: 'phases of one parallel group (the IDEs) run at once on a host',
    })
    .option('sample-interval', {
      type: 'string',
      default: '10',
      coerce: positiveWhole('sample-interval'),
      describe: 'seconds between resource samples on the hosts',
    })
    .option('reports-dir', { type: 'string', default: 'reports', describe: 'where reports/<run-id>/ are written' })
    .option('keep-runs', {
      type: 'number',
      describe: 'runs kept on each host and in the reports dir (default: keep_runs of the inventory, 20)',
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'one JSON document on stdout (progress goes to stderr)',
    })
    .option('color', { type: 'boolean', describe: 'force colour output (--no-color or NO_COLOR turn it off)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'every step and stack traces of errors' })
    .option('host-key-policy', {
      type: 'string',
      choices: HOST_KEY_POLICIES,
      describe: 'override the inventory: how unknown host keys are treated',
    })
    .option('ssh-config', { type: 'string', describe: 'ssh_config file (default ~/.ssh/config)' });
  for (const c of commands) cli = cli.command(c as never);
  skipHelpCache(cli, hideBin(process.argv));
  await cli
    // an inventory with digitalocean: { tag } gets the droplets with that tag as hosts
    .middleware(addTaggedDroplets as never)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .example('$0 check', 'can every host be reached and provisioned?')
    .example('$0 plan --limit droplet-1', 'what would change on droplet-1')
    .example('$0 provision --yes', 'provision every host in inventory/hosts.yml')
    .example('$0 run rdp --limit droplet-1 --yes', 're-run the rdp phase on droplet-1')
    .example('$0 up dev1', 'a DigitalOcean droplet, provisioned as a workstation')
    .example('$0 connect dev1', 'its desktop through an SSH tunnel')
    .example('$0 report compare 20261101T100000Z-ab12 --fail-on-regression', 'the latest run against a baseline')
    .completion('completion', 'print a shell completion script: completion bash, completion zsh')
    .epilogue(
      'Exit codes: 0 ok, 1 preflight failed, 2 provisioning failed, 4 verification failed, 5 bad configuration or arguments, 130 interrupted.',
    )
    .fail((msg, err) => {
      // a coerce function's refusal comes back as yargs' own error: it is a bad argument too
      if (err && (err instanceof ProvisionError || err.name !== 'YError')) throw err;
      let text = msg ?? err?.message ?? 'bad arguments';
      // an unknown first word is a command name mistyped
      const command = hideBin(process.argv).find((a) => !a.startsWith('-'));
      if (command !== undefined && text === `Unknown argument: ${command}`) {
        const guess = closest(command, COMMANDS);
        text = `unknown command "${command}"${guess ? `; did you mean ${guess}?` : ''} (commands: ${COMMANDS.join(', ')})`;
      }
      process.stderr.write(`error: ${terminalLine(text)}\nhint: see vps-provision --help\n`);
      process.exit(EXIT.config);
    })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .parseAsync();
} catch (err) {
  process.exitCode = report(err, verbose);
}
// after an interrupt nothing may keep the process alive (a connection attempt still timing out)
if (process.exitCode === EXIT.interrupted) process.exit(EXIT.interrupted);
