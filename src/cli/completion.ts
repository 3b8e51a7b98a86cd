// `completion [bash|zsh]`: yargs writes the script for the shell named in $SHELL, so the
// shell asked for is put there first; a shell it cannot serve is refused in one line.
import { ConfigError } from '../errors.js';

const SHELLS = ['bash', 'zsh'] as const;

export function completionShell(argv: readonly string[]): void {
  if (argv[0] !== 'completion') return;
  const asked = argv.slice(1).find((a) => !a.startsWith('-'));
  if (asked === undefined) return; // yargs picks from $SHELL (bash unless it is zsh)
  if (!(SHELLS as readonly string[]).includes(asked)) {
    throw new ConfigError(`completion: no completion script for "${asked}"`, `supported shells: ${SHELLS.join(', ')}`);
  }
  process.env.SHELL = `/bin/${asked}`;
}
