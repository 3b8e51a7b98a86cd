// assert: a check that changes nothing: a command that must succeed, a file that must exist
// (and contain a text), or services that must be active. Ok when it holds; otherwise the
// step fails with one line saying what is wrong (its `message` when given). verify's form.
import * as z from '../zod.js';
import { sh, raw } from '../shell/sh.js';
import type { Decision, StepType } from './step-type.js';

const unit = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9@._:-]*$/,
      'a systemd unit name (a letter or digit first, then letters, digits, @ . _ : -)',
    ),
  );
const oneLine = (what: string) =>
  z.string().check(
    z.minLength(1),
    z.refine((s) => !/[\r\n]/.test(s), `${what} is one line`),
  );

const schema = z
  .strictObject({
    /** shell that must exit 0 (run read-only: its output is not kept by the probe) */
    command: z.optional(z.string().check(z.minLength(1))),
    /** a path that must exist */
    file: z.optional(z.string().check(z.minLength(1))),
    /** with file: a text (fixed, one line) that must occur in it */
    contains: z.optional(oneLine('contains')),
    /** one or more systemd units that must be active */
    service: z.optional(
      z.union([
        z.pipe(
          unit,
          z.transform((u: string) => [u]),
        ),
        z.array(unit).check(z.minLength(1)),
      ]),
    ),
    /** shown (as the failure's last line) instead of the built-in wording */
    message: z.optional(oneLine('message')),
  })
  .check(
    z.superRefine((a, ctx) => {
      const kinds = [a.command, a.file, a.service].filter((k) => k !== undefined).length;
      if (kinds !== 1)
        ctx.addIssue({ code: 'custom', message: 'assert needs exactly one of command, file, service', path: [] });
      if (a.contains !== undefined && a.file === undefined)
        ctx.addIssue({ code: 'custom', message: 'contains goes with file', path: ['contains'] });
    }),
  );
type Args = z.infer<typeof schema>;

/** The script that reports a failed assertion: what the check shows (a command's own output), then the one line. */
function failure(a: Args, line: string, show = ''): Decision {
  const text = `assertion failed: ${a.message ?? line}`;
  // printf's format is fixed; the text is an argument (a value from YAML or the host is data)
  const script = sh`${raw(show)}printf '%s\\n' ${text} >&2; exit 1`.text;
  return {
    status: 'change',
    reason: text,
    script,
    display: [sh`${raw(show)}echo ${text} >&2; exit 1`.text],
    fails: true,
  };
}

export const assertStep: StepType<Args> = {
  id: 'assert',
  schema,
  // command is the author's shell (values quoted into it); file a path; the rest plain text
  fieldModes: { command: 'shell', file: 'path', contains: 'text', service: 'text', message: 'text' },
  probe(a) {
    if (a.command !== undefined)
      return `if ( ${a.command}\n) </dev/null >/dev/null 2>&1; then echo assert=ok; else echo "assert=exit $?"; fi`;
    if (a.file !== undefined) {
      const has =
        a.contains === undefined
          ? sh`echo assert=ok`
          : sh`if grep -qF -e ${a.contains} -- ${a.file} 2>/dev/null; then echo assert=ok; else echo assert=lacks; fi`;
      return sh`if [ -e ${a.file} ]; then ${has}; else echo assert=missing; fi`.text;
    }
    // one line per unit: its ActiveState as systemctl says it (printed empty when unknown)
    return a.service!.map((u) => sh`printf 'unit=%s\\n' "$(systemctl is-active -- ${u} 2>/dev/null)"`.text).join('; ');
  },
  decide(a, probed): Decision {
    const text = probed?.text ?? '';
    if (a.command !== undefined) {
      if (text === 'assert=ok') return { status: 'ok', reason: `holds: ${firstLine(a.command)}` };
      const code = /^assert=exit (\d+)$/.exec(text)?.[1] ?? '?';
      // the command again, its output shown (to stderr) above the verdict
      return failure(a, `exit ${code}: ${firstLine(a.command)}`, `( ${a.command}\n) </dev/null >&2 2>&1; `);
    }
    if (a.file !== undefined) {
      if (text === 'assert=ok')
        return {
          status: 'ok',
          reason: a.contains === undefined ? `${a.file} exists` : `${a.file} contains ${JSON.stringify(a.contains)}`,
        };
      return failure(
        a,
        text === 'assert=lacks'
          ? `${a.file} does not contain ${JSON.stringify(a.contains)}`
          : `${a.file} does not exist`,
      );
    }
    const states = a.service!.map((u, i) => ({
      unit: u,
      state: /^unit=([a-z-]*)$/.exec(text.split('\n')[i] ?? '')?.[1] || 'unknown',
    }));
    const down = states.filter((s) => s.state !== 'active');
    if (!down.length) return { status: 'ok', reason: `active: ${a.service!.join(', ')}` };
    return failure(a, `${down.map((s) => `${s.unit} is ${s.state}`).join(', ')} (wanted active)`);
  },
};

function firstLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines[0]! + (lines.length > 1 ? ' ...' : '');
}
