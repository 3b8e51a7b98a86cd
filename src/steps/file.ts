// file: the file has this content, mode and owner. `template` is read and rendered
// at load time (config/), so here it has become `content`.
import * as z from '../zod.js';
import { atomicWrite, sha256, chownSpec } from '../shell/file-commands.js';
import { sh } from '../shell/sh.js';
import { pathStateProbe, parsePathState } from '../facts/path-state.js';
import type { StepType } from './step-type.js';

const name = z.string().check(z.regex(/^[a-z_][a-z0-9_-]*\$?$/i, 'a user or group name'));
const schema = z
  .strictObject({
    path: z.string().check(z.regex(/^\//, 'an absolute path')),
    content: z.optional(z.string()),
    template: z.optional(z.string()),
    mode: z.optional(z.string().check(z.regex(/^0?[0-7]{3,4}$/, 'an octal mode such as "0644"'))),
    owner: z.optional(name),
    group: z.optional(name),
  })
  .check(
    z.refine(
      (a) => (a.content === undefined) !== (a.template === undefined),
      'give exactly one of content or template',
    ),
  );
type Args = z.infer<typeof schema>;

/** "0644" and "644" are the same mode; stat prints the short form. */
function normaliseMode(mode: string): string {
  return mode.replace(/^0+(?=[0-7]{3})/, '');
}

export const fileStep: StepType<Args> = {
  id: 'file',
  schema,
  fieldModes: { path: 'path' },
  probe: (a) => pathStateProbe(a.path),
  batchProbe: (a) => ({ kind: 'path', path: a.path }),
  decide(a, probed) {
    const state = parsePathState(probed?.text ?? '');
    const content = a.content ?? '';
    const want = sha256(content);
    if (state.exists && state.kind !== 'regular file') {
      return {
        status: 'change',
        reason: `${a.path} is a ${state.kind}, not a regular file`,
        script: sh`printf '%s\\n' ${`${a.path} is a ${state.kind}; remove it first`} >&2; exit 1`.text,
        display: ['(refuses: not a regular file)'],
      };
    }
    if (!state.exists || state.sha256 !== want) {
      const w = atomicWrite(a.path, content, { mode: a.mode, owner: a.owner, group: a.group });
      const reason = state.exists
        ? `content differs (sha256 ${state.sha256?.slice(0, 12)} -> ${want.slice(0, 12)})`
        : `${a.path} is absent`;
      return { status: 'change', reason, ...w };
    }
    const fixes: string[] = [];
    const why: string[] = [];
    if (a.mode && normaliseMode(a.mode) !== state.mode) {
      fixes.push(sh`chmod ${a.mode} ${a.path}`.text);
      why.push(`mode ${state.mode} -> ${normaliseMode(a.mode)}`);
    }
    const ownerWrong = a.owner && a.owner !== state.owner;
    const groupWrong = a.group && a.group !== state.group;
    if (ownerWrong || groupWrong) {
      fixes.push(sh`chown ${chownSpec(a.owner, a.group)!} ${a.path}`.text);
      why.push(`owner ${state.owner}:${state.group} -> ${a.owner ?? state.owner}:${a.group ?? state.group}`);
    }
    if (fixes.length) return { status: 'change', reason: why.join(', '), script: fixes.join(' && '), display: fixes };
    return {
      status: 'ok',
      reason: `content (sha256 ${want.slice(0, 12)}), mode ${state.mode} and owner ${state.owner}:${state.group} match`,
    };
  },
};
