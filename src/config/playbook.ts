// Playbooks folder: site.yml (phase order, default vars) + one <phase>.yml each (SPEC §3).
// Loading is in two stages: the structure once, then per host the {{ var }} rendering and
// the step arguments' validation, so every host is checked before anything is sent.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve, isAbsolute } from 'node:path';
import * as z from '../zod.js';
import { ConfigError } from '../errors.js';
import { STEP_TYPES } from '../steps/registry.js';
import type { AnyStepType } from '../steps/step-type.js';
import { readYamlFile, validate, configErrorAt, type YamlFile } from './yaml-file.js';
import { varsSchema } from './inventory-schema.js';
import { render, renderChecked, checkTemplate, TemplateError, type Vars, type InsertMode } from './template.js';
import { whenSchema, bindWhen, type WhenCondition, type HostWhen } from './when.js';

const PHASE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const siteSchema = z.strictObject({
  phases: z
    .array(z.string().check(z.regex(PHASE_NAME, 'phase names are lowercase letters, digits, - and _')))
    .check(z.minLength(1)),
  vars: z.optional(varsSchema),
});

/** Seconds: a positive whole number. */
const seconds = z.number().check(z.int('a whole number of seconds'), z.positive('a positive number of seconds'));

// timeout_s and when sit beside name; the one other key is the step type
const STEP_KEYS = new Set(['name', 'timeout_s', 'when']);
const stepShape = z.catchall(
  z.object({
    name: z.string().check(z.minLength(1)),
    timeout_s: z.optional(seconds),
    when: z.optional(whenSchema),
  }),
  z.unknown(),
);

/** SPEC §3: a phase without timeout_s is stopped after 5 x estimate_s, at least 600 s. */
function defaultPhaseTimeoutS(estimateS: number): number {
  return Math.max(600, Math.ceil(5 * estimateS));
}

const phaseSchema = z.strictObject({
  name: z.string().check(z.regex(PHASE_NAME)),
  description: z.optional(z.string()),
  estimate_s: z.number().check(z.positive()),
  critical: z.optional(z.boolean()),
  needs: z.optional(z.array(z.string())),
  become: z.optional(z.boolean()),
  parallel: z.optional(z.string().check(z.regex(PHASE_NAME, 'a group name'))),
  timeout_s: z.optional(seconds),
  when: z.optional(whenSchema),
  steps: z.array(stepShape).check(z.minLength(1)),
});

interface RawStep {
  name: string;
  type: AnyStepType;
  args: unknown;
  index: number;
  line?: number;
  /** the step's own limit in seconds (the phase's limit applies as well) */
  timeoutS?: number;
  /** applies only to hosts where this holds (OS facts, a variable's value) */
  when?: WhenCondition;
}

export interface PhaseDef {
  name: string;
  file: string;
  yaml: YamlFile;
  description: string;
  estimateS: number;
  /** the phase's limit in seconds: its timeout_s or the SPEC default */
  timeoutS: number;
  critical: boolean;
  needs: string[];
  become?: boolean;
  /** adjacent phases with the same group run at the same time on a host */
  parallel?: string;
  /** applies only to hosts where this holds */
  when?: WhenCondition;
  steps: RawStep[];
}

export interface Playbook {
  dir: string;
  phases: PhaseDef[];
  /** Default values of the playbooks' variables; the inventory overrides them. */
  vars: Vars;
}

export interface StepInstance {
  name: string;
  type: AnyStepType;
  args: unknown;
  index: number;
  timeoutS?: number;
  /** decided once the host's OS facts are read: a step that does not apply is skipped */
  when?: HostWhen;
}

/** A phase rendered for one host. */
export interface PhaseInstance {
  def: PhaseDef;
  steps: StepInstance[];
  when?: HostWhen;
  /** Changes when the rendered phase changes: a checkpoint of another hash is not trusted. */
  hash: string;
}

export function loadPlaybook(dir: string): Playbook {
  const sitePath = join(dir, 'site.yml');
  const site = readYamlFile(sitePath, 'playbook list');
  const siteData = validate(site, siteSchema, site.data ?? {});
  const seen = new Set<string>();
  const phases = siteData.phases.map((name, i) => {
    if (seen.has(name))
      throw configErrorAt(site, ['phases', i], `phase "${name}" is listed twice`, 'list each phase once');
    seen.add(name);
    return loadPhase(dir, name);
  });
  phases.forEach((p, i) => {
    // phases of one parallel group start together: none of them can wait for another
    const earlier = new Set(
      phases
        .slice(0, i)
        .filter((q) => !p.parallel || q.parallel !== p.parallel)
        .map((q) => q.name),
    );
    p.needs.forEach((n, j) => {
      if (!earlier.has(n)) {
        throw configErrorAt(
          p.yaml,
          ['needs', j],
          `phase "${p.name}" needs "${n}", which is not listed before it in site.yml`,
          `phases in order: ${siteData.phases.join(', ')}`,
        );
      }
    });
  });
  return { dir, phases, vars: siteData.vars ?? {} };
}

function loadPhase(dir: string, name: string): PhaseDef {
  const file = join(dir, `${name}.yml`);
  const yaml = readYamlFile(file, `phase "${name}"`);
  const data = validate(yaml, phaseSchema, yaml.data ?? {});
  if (data.name !== name)
    throw configErrorAt(
      yaml,
      ['name'],
      `name "${data.name}" differs from the file name "${name}.yml"`,
      `set name: ${name}`,
    );
  const names = new Set<string>();
  const steps = data.steps.map((raw, index): RawStep => {
    const at = ['steps', index];
    const keys = Object.keys(raw).filter((k) => !STEP_KEYS.has(k));
    if (keys.length !== 1) {
      throw configErrorAt(
        yaml,
        at,
        `step "${raw.name}" must have exactly one step type key (has ${keys.length ? keys.join(', ') : 'none'})`,
        `step types: ${[...STEP_TYPES.keys()].join(', ')}`,
      );
    }
    const typeKey = keys[0]!;
    const type = STEP_TYPES.get(typeKey);
    if (!type)
      throw configErrorAt(
        yaml,
        [...at, typeKey],
        `unknown step type "${typeKey}"`,
        `step types: ${[...STEP_TYPES.keys()].join(', ')}`,
      );
    if (names.has(raw.name))
      throw configErrorAt(
        yaml,
        [...at, 'name'],
        `step name "${raw.name}" is used twice in this phase`,
        'give each step its own name',
      );
    const args = raw[typeKey];
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw configErrorAt(
        yaml,
        [...at, typeKey],
        `the arguments of "${typeKey}" must be a mapping`,
        `e.g. ${typeKey}: { ... } (see the README)`,
      );
    }
    const restartOn = (args as { restart_on?: unknown }).restart_on;
    if (Array.isArray(restartOn)) {
      restartOn.forEach((n, j) => {
        if (!names.has(String(n)))
          throw configErrorAt(
            yaml,
            [...at, typeKey, 'restart_on', j],
            `restart_on names "${n}", which is not an earlier step of this phase`,
            `earlier steps: ${[...names].join(', ') || 'none'}`,
          );
      });
    }
    names.add(raw.name);
    if (
      !type.local &&
      index > 0 &&
      data.steps
        .slice(0, index)
        .some((earlier) => STEP_TYPES.get(Object.keys(earlier).find((k) => !STEP_KEYS.has(k)) ?? '')?.local)
    ) {
      throw configErrorAt(
        yaml,
        at,
        `step "${raw.name}" comes after a check run from the controller`,
        'put controller-side checks (rdp_check) at the end of the phase',
      );
    }
    checkArgTemplates(yaml, [...at, typeKey], args as Record<string, unknown>, type.fieldModes);
    return { name: raw.name, type, args, index, line: yaml.lineOf(at), timeoutS: raw.timeout_s, when: raw.when };
  });
  return {
    name,
    file,
    yaml,
    description: data.description ?? '',
    estimateS: data.estimate_s,
    timeoutS: data.timeout_s ?? defaultPhaseTimeoutS(data.estimate_s),
    critical: data.critical ?? false,
    needs: data.needs ?? [],
    become: data.become,
    parallel: data.parallel,
    when: data.when,
    steps,
  };
}

/** Render and validate a phase for one host's vars. */
export function instantiatePhase(pb: Playbook, phase: PhaseDef, vars: Vars, hostName: string): PhaseInstance {
  const steps = phase.steps.map((step): StepInstance => {
    const typeKey = step.type.id;
    const base = ['steps', step.index, typeKey];
    const rendered = renderArgs(step.args as Record<string, unknown>, step.type.fieldModes, vars, (path, err) => {
      const where = configErrorAt(phase.yaml, [...base, ...path], `${err.message} (host ${hostName})`, err.hint);
      return where;
    });
    if (typeof rendered.template === 'string') {
      const tplPath = isAbsolute(rendered.template) ? rendered.template : resolve(pb.dir, rendered.template);
      let text: string;
      try {
        text = readFileSync(tplPath, 'utf8');
      } catch {
        throw configErrorAt(
          phase.yaml,
          [...base, 'template'],
          `template ${tplPath} cannot be read`,
          'the path is relative to the playbooks folder',
        );
      }
      if (text.includes('\0'))
        throw configErrorAt(
          phase.yaml,
          [...base, 'template'],
          `template ${tplPath} holds a NUL byte`,
          'templates are text files',
        );
      try {
        rendered.content = render(text, vars, 'text');
      } catch (err) {
        if (err instanceof TemplateError)
          throw new ConfigError(
            `${tplPath}:${err.line}: ${err.message} (host ${hostName})`,
            err.hint,
            tplPath,
            err.line,
          );
        throw err;
      }
      delete rendered.template;
    }
    const args = validate(phase.yaml, step.type.schema, rendered, base);
    const when = step.when && bindHostWhen(phase.yaml, ['steps', step.index, 'when'], step.when, vars, hostName);
    return {
      name: step.name,
      type: step.type,
      args,
      index: step.index,
      timeoutS: step.timeoutS,
      ...(when ? { when } : {}),
    };
  });
  const when = phase.when && bindHostWhen(phase.yaml, ['when'], phase.when, vars, hostName);
  // a condition is part of what the phase is (a changed one is a changed phase); phases
  // without any keep the hash they had before conditions existed
  const hash = createHash('sha256')
    .update(
      JSON.stringify({
        become: phase.become,
        steps: steps.map((s) => [s.name, s.type.id, s.args, ...(s.when ? [s.when] : [])]),
        ...(when ? { when } : {}),
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return { def: phase, steps, hash, ...(when ? { when } : {}) };
}

function bindHostWhen(
  yaml: YamlFile,
  at: (string | number)[],
  c: WhenCondition,
  vars: Vars,
  hostName: string,
): HostWhen {
  const bound = bindWhen(c, vars);
  if ('unknownVar' in bound) {
    const where = c.var === bound.unknownVar ? [...at, 'var'] : [...at, 'not', 'var'];
    throw configErrorAt(
      yaml,
      where,
      `when: unknown variable "${bound.unknownVar}" (host ${hostName})`,
      `define it in the inventory's vars or site.yml (known: ${Object.keys(vars).sort().join(', ')})`,
    );
  }
  return bound;
}

/** Every string argument's placeholders checked once at load, before any host's values. */
function checkArgTemplates(
  yaml: YamlFile,
  base: (string | number)[],
  args: Record<string, unknown>,
  modes: Readonly<Record<string, InsertMode>>,
): void {
  const walk = (value: unknown, mode: InsertMode, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      try {
        checkTemplate(value, mode);
      } catch (err) {
        if (err instanceof TemplateError) throw configErrorAt(yaml, [...base, ...path], err.message, err.hint);
        throw err;
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, mode, [...path, i]));
    else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, mode, [...path, k]));
  };
  Object.entries(args).forEach(([k, v]) => walk(v, modes[k] ?? 'text', [k]));
}

function renderArgs(
  args: Record<string, unknown>,
  modes: Readonly<Record<string, InsertMode>>,
  vars: Vars,
  fail: (path: (string | number)[], err: TemplateError) => ConfigError,
): Record<string, unknown> {
  const walk = (value: unknown, mode: InsertMode, path: (string | number)[]): unknown => {
    if (typeof value === 'string') {
      try {
        // checked when the playbook loaded (checkArgTemplates), with these modes
        return renderChecked(value, vars, mode);
      } catch (err) {
        if (err instanceof TemplateError) throw fail(path, err);
        throw err;
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, mode, [...path, i]));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, mode, [...path, k])]));
    }
    return value;
  };
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, walk(v, modes[k] ?? 'text', [k])]));
}
