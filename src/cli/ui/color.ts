// Colour on a terminal unless NO_COLOR or --no-color; --color forces it.
export interface Paint {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function makePaint(enabled: boolean): Paint {
  const wrap = (code: number, reset: number) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[${reset}m` : s);
  return { green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** --color forces colour (also into a pipe or over NO_COLOR); --no-color and NO_COLOR turn it off. */
export function colorWanted(flag: boolean | undefined, stream: NodeJS.WriteStream): boolean {
  if (flag !== undefined) return flag;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY);
}
