// string-width for the bundle: `npm run build` points every `string-width` import of the
// bundled libraries (yargs, cliui, wrap-ansi, listr2's cli-truncate) here. Printable ASCII,
// once ANSI escapes are stripped, is one column a character, and nearly every line this tool
// prints (help, progress, summaries) is that. string-width itself builds Unicode RegExps
// (\p{RGI_Emoji} with the v flag, the emoji-regex of its older copies) and an Intl.Segmenter
// when loaded and on first use: about 70 ms of CPU at each start-up on a 2-core machine. It is
// loaded (require of an ES module, Node >= 20.19) only when some text is not plain ASCII.
import { createRequire } from 'node:module';
import stripAnsi from 'strip-ansi';

interface WidthOptions {
  ambiguousIsNarrow?: boolean;
  countAnsiEscapeCodes?: boolean;
}
type StringWidth = (text: string, options?: WidthOptions) => number;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
let library: StringWidth | undefined;

/** Columns `input` takes in a terminal: string-width's answer, without loading it for ASCII. */
export default function stringWidth(input: string, options: WidthOptions = {}): number {
  if (typeof input !== 'string' || input.length === 0) return 0;
  const visible =
    !options.countAnsiEscapeCodes && (input.includes('\x1b') || input.includes('\x9b')) ? stripAnsi(input) : input;
  if (PRINTABLE_ASCII.test(visible)) return visible.length;
  library ??= (createRequire(import.meta.url)('string-width') as { default: StringWidth }).default;
  return library(input, options);
}
