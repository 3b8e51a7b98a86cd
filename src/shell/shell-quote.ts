// The single POSIX quoting function. Remote /bin/sh is dash: single quotes are the
// only quoting that leaves every byte (including newlines, $, `, \) as data.

/** Quote one argument for POSIX sh. */
export function shQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quote an argument list and join it into one command line. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}
