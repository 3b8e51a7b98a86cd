// command: the command has run, unless a guard (creates / unless) says it is not needed.
import * as z from '../zod.js';
import { sh, raw, join } from '../shell/sh.js';
import type { StepType } from './step-type.js';

const schema = z.strictObject({
  run: z.string().check(z.minLength(1)),
  creates: z.optional(z.string().check(z.minLength(1))),
  unless: z.optional(z.string().check(z.minLength(1))),
});
type Args = z.infer<typeof schema>;

export const commandStep: StepType<Args> = {
  id: 'command',
  schema,
  // run and unless are shell written by the playbook author: values are quoted into them
  fieldModes: { run: 'shell', unless: 'shell', creates: 'path' },
  probe(a) {
    const checks = [];
    if (a.creates) checks.push(sh`if [ -e ${a.creates} ]; then echo creates=yes; else echo creates=no; fi`);
    if (a.unless)
      checks.push(sh`if ( ${raw(a.unless)}\n) </dev/null >/dev/null 2>&1; then echo unless=0; else echo unless=1; fi`);
    return checks.length ? join(checks, '; ').text : null;
  },
  // a creates guard alone is a builtin test: read in the script's own shell; unless is the author's shell
  // a creates guard re-checked on the host: the command runs only if the path is still missing
  settle: (a) =>
    a.creates && !a.unless
      ? { script: sh`if [ -e ${a.creates} ]; then : > "\${0%/*}/ok"; exit 0; fi\n${raw(a.run)}`.text, display: [a.run] }
      : undefined,
  batchProbe: (a) => (a.creates && !a.unless ? { kind: 'inline', script: commandStep.probe(a)! } : undefined),
  decide(a, probed) {
    const script = a.run;
    if (!probed) return { status: 'change', reason: 'unguarded command: runs every time', script, display: [a.run] };
    if (probed.text.includes('creates=yes')) return { status: 'ok', reason: `${a.creates} exists` };
    if (probed.text.includes('unless=0')) return { status: 'ok', reason: `guard succeeded: ${a.unless}` };
    const why = [a.creates && `${a.creates} is missing`, a.unless && 'guard failed'].filter(Boolean).join(', ');
    return { status: 'change', reason: why, script, display: [a.run] };
  },
};
