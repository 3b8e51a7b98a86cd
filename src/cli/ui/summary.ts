// The end-of-run summary: which hosts failed, where, and why; and the plan listing.
import type { RunResult } from '../../engine/events.js';
import type { Paint } from './color.js';
import { statusWord, seconds } from './format.js';
import { terminalLine as t, terminalText as block } from './terminal-text.js';
import type { Alert } from '../../report/formats.js';

export function summaryText(run: RunResult, paint: Paint): string {
  const out: string[] = [''];
  for (const h of run.hosts) {
    const counts = { ok: 0, changed: 0, failed: 0, skipped: 0 };
    for (const p of h.phases) for (const s of p.steps) counts[s.status]++;
    out.push(
      `${paint.bold(h.host)} ${statusWord(h.status, paint)} in ${seconds(h.durationMs)}: ` +
        `${counts.ok} ok, ${counts.changed} changed, ${counts.failed} failed, ${counts.skipped} skipped`,
    );
    if (h.error)
      out.push(`  ${paint.red('error')}: ${t(h.error.message)}`, `  ${paint.dim('hint')}: ${t(h.error.hint)}`);
    for (const p of h.phases.filter((x) => x.status === 'failed')) {
      const s = p.steps.find((x) => x.status === 'failed');
      out.push(
        `  ${paint.red('failed')} in phase ${p.name}${s ? `, step "${t(s.name)}"` : ''}: ${t(s?.reason ?? p.reason)}`,
      );
      if (s?.output)
        out.push(
          ...block(s.output)
            .split('\n')
            .slice(-10)
            .map((l) => `    ${paint.dim(l)}`),
        );
    }
  }
  out.push('', `run ${run.runId}`);
  return out.join('\n') + '\n';
}

export function planText(run: RunResult, paint: Paint): string {
  const out: string[] = [];
  for (const h of run.hosts) {
    out.push(`${paint.bold(h.host)} (${h.address})${h.status === 'ok' ? '' : ` ${statusWord(h.status, paint)}`}`);
    if (h.error)
      out.push(`  ${paint.red('error')}: ${t(h.error.message)}`, `  ${paint.dim('hint')}: ${t(h.error.hint)}`);
    for (const p of h.phases) {
      const pending = p.steps.filter((s) => s.status === 'changed' && !s.fails).length;
      const failing = p.steps.filter((s) => s.fails).length;
      const state = [
        ...(pending ? [paint.yellow(`${pending} to change`)] : []),
        // a check that fails now may hold once the changes before it are made
        ...(failing ? [paint.red(`${failing} check${failing > 1 ? 's' : ''} failing now`)] : []),
      ];
      out.push(
        `  phase ${p.name}: ${p.status === 'skipped' ? paint.dim(`skipped (${t(p.reason)})`) : state.length ? state.join(', ') : paint.green('nothing to change')}`,
      );
      if (p.status === 'skipped') continue;
      for (const s of p.steps) {
        const mark = s.fails
          ? paint.red('! would fail')
          : s.status === 'changed'
            ? paint.yellow('~ will change')
            : s.status === 'failed'
              ? paint.red('x failed')
              : s.status === 'skipped'
                ? paint.dim('- skipped')
                : paint.green('= ok');
        out.push(`    ${mark} ${t(s.name)} [${s.type}]: ${t(s.reason)}`);
        for (const c of s.commands ?? []) out.push(`        $ ${block(c).split('\n').join('\n          ')}`);
      }
    }
  }
  return out.join('\n') + '\n';
}

/** The alerts raised during the run, listed at its end (both renderers). */
export function alertsText(alerts: readonly Alert[], paint: Paint): string {
  if (!alerts.length) return '';
  const out = ['', paint.bold(`alerts (${alerts.length})`)];
  for (const a of alerts)
    out.push(
      `  ${paint.bold(a.host)}: ${a.severity === 'critical' ? paint.red('critical') : paint.yellow('alert')} ${a.kind}: ${t(a.message)}`,
    );
  return out.join('\n') + '\n';
}
