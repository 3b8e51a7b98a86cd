// The external sources of rendered phases (apt repositories, keys, .debs: what the step
// types declare), each named by the inventory/playbook variable that holds its URL, so a
// failing source says what to change. Works the same for a user's own playbooks.
import type { PhaseInstance } from './playbook.js';
import type { ExternalSource } from '../steps/step-type.js';
import { templateVars } from './template.js';

export interface PhaseSource extends ExternalSource {
  phase: string;
  step: string;
  /** the variable(s) the URL came from ("cursor_deb_url"), else "<phase> / <step> (<field>)" for a literal URL */
  origin: string;
}

/** The variables a step argument was rendered from, read from the phase as written. */
function originOf(phase: PhaseInstance, stepIndex: number, stepName: string, field: string): string {
  const raw = phase.def.steps.find((s) => s.index === stepIndex)?.args as Record<string, unknown> | undefined;
  const text = raw?.[field];
  const names = typeof text === 'string' ? [...new Set(templateVars(text))] : [];
  return names.length ? names.join(', ') : `${phase.def.name} / ${stepName} (${field})`;
}

/** Every source of the phases, in order; a source listed twice (same URLs) is kept once. */
export function phaseSources(phases: readonly PhaseInstance[]): PhaseSource[] {
  const seen = new Set<string>();
  const out: PhaseSource[] = [];
  for (const phase of phases) {
    for (const step of phase.steps) {
      for (const src of step.type.sources?.(step.args) ?? []) {
        const key = src.urls.join('\n');
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          ...src,
          phase: phase.def.name,
          step: step.name,
          origin: originOf(phase, step.index, step.name, src.field),
        });
      }
    }
  }
  return out;
}
