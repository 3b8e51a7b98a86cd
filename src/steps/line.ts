// line: the line is present in the file, replacing the first match of regexp.
import { posix } from 'node:path';
import * as z from '../zod.js';
import { sh, join } from '../shell/sh.js';
import { lineInput, LINE_BEGIN, lineStateProbe, parseLineState } from '../facts/line-state.js';
import type { StepType, Settle } from './step-type.js';

const schema = z.strictObject({
  path: z.string().check(z.regex(/^\//, 'an absolute path')),
  line: z.string().check(z.refine((l) => !/[\n\r]/.test(l), 'a single line (no newline)')),
  regexp: z.optional(
    z.string().check(
      z.minLength(1),
      z.refine((r) => !/[\n\r]/.test(r), 'a single line (no newline)'),
      z.refine(validRegexp, 'a valid extended regular expression'),
    ),
  ),
  create: z.optional(z.boolean()),
});
type Args = z.infer<typeof schema>;

function validRegexp(re: string): boolean {
  try {
    new RegExp(re);
    return true;
  } catch {
    return false;
  }
}

/**
 * awk rewrite of the file (replace the first match, or append), then temp file + rename. The
 * file's folder is known here (posix.dirname): no `dirname` process on the host.
 */
function rewrite(a: Args, replaceAt: number): string {
  const p = a.path;
  const prog =
    replaceAt > 0 ? `${LINE_BEGIN} NR==${replaceAt}{print l; next} {print}` : `${LINE_BEGIN} {print} END{print l}`;
  return join(
    [
      sh`t=$(mktemp ${posix.dirname(p)}/.vpsp.XXXXXX) && awk ${prog} ${p} > "$t" ${lineInput(a.line, undefined)}`,
      sh`[ $? -eq 0 ] && chmod --reference=${p} "$t" && chown --reference=${p} "$t" && mv -f "$t" ${p} || { rm -f "$t"; exit 1; }`,
    ],
    '',
  ).text;
}

/**
 * The line step decided on the host (StepType.settle): the same choices as decide() in one
 * awk pass over the file - an unchanged first regexp match or the line present: nothing to
 * do; a different first match: replaced; else appended - or the file created with the line.
 */
function settle(a: Args): Settle {
  const p = a.path;
  const missing =
    a.create === false
      ? sh`printf '%s\\n' ${`${a.path} does not exist`} >&2; exit 1`
      : sh`mkdir -p -- ${posix.dirname(p)} && printf '%s\\n' ${a.line} > ${p}; exit $?`;
  const prog =
    `${LINE_BEGIN} r!="" && !m && $0 ~ r {m=NR; if ($0 != l) {c=1; print l; next}} $0==l {p=1} {print} ` +
    'END{if (m) exit (c ? 0 : 3); if (p) exit 3; print l}';
  const script = join(
    [
      sh`if [ ! -f ${p} ]; then ${missing}; fi\n`,
      sh`t=$(mktemp ${posix.dirname(p)}/.vpsp.XXXXXX) || exit 1\nawk ${prog} ${p} > "$t" ${lineInput(a.line, a.regexp)}`,
      sh`r=$?; if [ $r -eq 3 ]; then rm -f "$t"; : > "\${0%/*}/ok"; exit 0; fi\n`,
      sh`[ $r -eq 0 ] && chmod --reference=${p} "$t" && chown --reference=${p} "$t" && mv -f "$t" ${p} || { rm -f "$t"; exit 1; }`,
    ],
    '',
  ).text;
  return {
    script,
    display: [
      `ensure ${JSON.stringify(a.line)} in ${a.path}${a.regexp ? ` (replacing the first match of ${JSON.stringify(a.regexp)})` : ''}`,
    ],
  };
}

export const lineStep: StepType<Args> = {
  id: 'line',
  schema,
  fieldModes: { path: 'path' },
  probe: (a) => lineStateProbe(a.path, a.line, a.regexp),
  batchProbe: (a) => ({ kind: 'line', path: a.path, line: a.line, regexp: a.regexp }),
  settle,
  decide(a, probed) {
    const s = parseLineState(probed?.text ?? 'missing');
    const p = a.path;
    if (!s.fileExists) {
      if (a.create === false) {
        return {
          status: 'change',
          reason: `${a.path} is missing (create: false)`,
          script: sh`printf '%s\\n' ${`${a.path} does not exist`} >&2; exit 1`.text,
          display: ['(fails: file missing)'],
        };
      }
      const script = sh`mkdir -p -- ${posix.dirname(p)} && printf '%s\\n' ${a.line} > ${p}`.text;
      return { status: 'change', reason: `${a.path} is missing: create it with the line`, script, display: [script] };
    }
    if (a.regexp && s.matchAt > 0) {
      if (s.matchText === a.line) return { status: 'ok', reason: `line present at ${a.path}:${s.matchAt}` };
      return {
        status: 'change',
        reason: `replace line ${s.matchAt} (${JSON.stringify(s.matchText)})`,
        script: rewrite(a, s.matchAt),
        display: [`replace ${a.path}:${s.matchAt} with ${JSON.stringify(a.line)}`],
      };
    }
    if (s.presentAt > 0) return { status: 'ok', reason: `line present at ${a.path}:${s.presentAt}` };
    return {
      status: 'change',
      reason: 'line absent: append it',
      script: rewrite(a, 0),
      display: [`append ${JSON.stringify(a.line)} to ${a.path}`],
    };
  },
};
