// `when:` on a step or a phase: whether it applies to a host, from the host's OS facts
// (read in the session's first round trip) and its variables. Small on purpose:
//   when: { os_version: "12" }                       the OS's VERSION_ID
//   when: { os_id: debian, os_codename: [bookworm, trixie] }   a list: any of them
//   when: { var: desktop_profile, equals: lean }     a variable's value (any of a list)
//   when: { not: { os_version: "12" } }              the opposite of a condition
// Every key given must hold. A step or phase whose `when` is false is skipped (shown and
// recorded as skipped, in plan too), never failed.
import * as z from '../zod.js';
import type { OsFacts } from '../facts/os-release.js';
import type { Vars } from './template.js';

// one value, or a list of them (any of): non-empty text, or a whole number (YAML reads
// `os_version: 12` as one)
function valueProblem(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? 'an empty value never matches' : undefined;
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= 0 ? undefined : 'a whole number, or a quoted value ("13.1")';
  return 'a value (text or a whole number) or a list of them';
}
// (zod/mini's transform has no ctx.addIssue: its issues go on the payload as zod's classic
// addIssue put them)
const oneOrMore = z.pipe(
  z.unknown(),
  z.transform((v, ctx): string[] => {
    const fail = (message: string, path: PropertyKey[]) => ctx.issues.push({ code: 'custom', message, path, input: v });
    const list = Array.isArray(v) ? v : [v];
    if (!list.length) fail('a list of at least one value', []);
    list.forEach((item, i) => {
      const problem = valueProblem(item);
      if (problem) fail(problem, Array.isArray(v) ? [i] : []);
    });
    return list.map(String);
  }),
);

const baseShape = {
  os_id: z.optional(oneOrMore),
  os_version: z.optional(oneOrMore),
  os_codename: z.optional(oneOrMore),
  var: z.optional(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'))),
  equals: z.optional(oneOrMore),
};

function complete<T extends { var?: string; equals?: string[] }>(c: T, ctx: z.core.$RefinementCtx<T>): void {
  if (Object.keys(c).length === 0)
    ctx.addIssue({
      code: 'custom',
      message: 'when: needs a condition (os_id, os_version, os_codename, var + equals, not)',
      path: [],
    });
  if ((c.var === undefined) !== (c.equals === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'when: var and equals go together (e.g. { var: desktop_profile, equals: lean })',
      path: [c.var === undefined ? 'equals' : 'var'],
    });
  }
}

const inner = z.strictObject(baseShape).check(z.superRefine(complete));
export const whenSchema = z.strictObject({ ...baseShape, not: z.optional(inner) }).check(z.superRefine(complete));

export type WhenCondition = z.infer<typeof whenSchema>;
type Inner = z.infer<typeof inner>;

/** A condition with the host's values of the variables it names (resolved when the phase is rendered). */
export interface HostWhen {
  condition: WhenCondition;
  vars: Readonly<Record<string, string>>;
}

/** The variables a condition names (an unknown one is a load error for that host). */
function whenVars(c: WhenCondition): string[] {
  return [c.var, c.not?.var].filter((v): v is string => v !== undefined);
}

/** Binds a condition to one host's variables; returns the name of an unknown variable instead. */
export function bindWhen(c: WhenCondition, vars: Vars): HostWhen | { unknownVar: string } {
  const bound: Record<string, string> = {};
  for (const name of whenVars(c)) {
    if (!Object.hasOwn(vars, name)) return { unknownVar: name };
    bound[name] = String(vars[name]);
  }
  return { condition: c, vars: bound };
}

export interface WhenVerdict {
  applies: boolean;
  /** why, in the words of the condition: "os_version is 13 (wanted 12)" */
  reason: string;
}

const show = (values: string[]) => values.join(' or ');

/** The first part of a condition that does not hold, or undefined when all hold. */
function firstMiss(c: Inner, os: OsFacts, vars: Readonly<Record<string, string>>): string | undefined {
  const checks: [string, string, string[] | undefined][] = [
    ['os_id', os.id, c.os_id],
    ['os_version', os.versionId, c.os_version],
    ['os_codename', os.codename, c.os_codename],
  ];
  for (const [key, have, want] of checks) {
    if (want && !want.includes(have))
      return `${key} is ${have ? JSON.stringify(have) : 'not known'}, not ${show(want)}`;
  }
  if (c.var !== undefined && c.equals) {
    const have = vars[c.var] ?? '';
    if (!c.equals.includes(have)) return `${c.var} is ${JSON.stringify(have)}, not ${show(c.equals)}`;
  }
  return undefined;
}

/** What a condition says of a host. Pure: the OS facts and variable values are given. */
export function evaluateWhen(w: HostWhen, os: OsFacts): WhenVerdict {
  const { not, ...own } = w.condition;
  const miss = firstMiss(own, os, w.vars);
  if (miss) return { applies: false, reason: `not for this host: ${miss}` };
  if (not && !firstMiss(not, os, w.vars)) return { applies: false, reason: `not for this host: ${describe(not)}` };
  return { applies: true, reason: 'applies' };
}

/** "os_version is 12" / "desktop_profile is lean", for a `not:` that matched. */
function describe(c: Inner): string {
  const parts = [
    c.os_id && `os_id is ${show(c.os_id)}`,
    c.os_version && `os_version is ${show(c.os_version)}`,
    c.os_codename && `os_codename is ${show(c.os_codename)}`,
    c.var !== undefined && c.equals && `${c.var} is ${show(c.equals)}`,
  ].filter(Boolean);
  return parts.join(' and ');
}
