// Plain output when not on a terminal (CI, pipes): one line per event.
import type { EngineEvent } from '../../engine/events.js';
import type { Paint } from './color.js';
import { statusWord, seconds } from './format.js';
import { terminalLine as t } from './terminal-text.js';

export function lineRenderer(
  out: NodeJS.WritableStream,
  paint: Paint,
  verbose: boolean,
  mode: 'apply' | 'plan' = 'apply',
) {
  // in a plan nothing changes: say what would
  const word = (s: string) =>
    mode === 'plan' && s === 'changed' ? paint.yellow('would change') : statusWord(s, paint);
  return (e: EngineEvent): void => {
    const line = (s: string) => out.write(`${s}\n`);
    switch (e.type) {
      case 'host-start':
        if (verbose) line(`${e.host}: connecting`);
        break;
      case 'host-connected':
        line(`${e.host}: connected (${t(e.os)}) in ${seconds(e.durationMs)}`);
        break;
      case 'phase-start':
        line(`${e.host}: phase ${e.phase} (${e.index + 1}/${e.total})`);
        break;
      case 'step':
        if (verbose || e.step.status !== 'ok')
          line(
            `${e.host}: ${e.phase} / ${t(e.step.name)}: ${e.step.fails ? paint.red('would fail') : word(e.step.status)} - ${t(e.step.reason)}`,
          );
        break;
      case 'phase-end':
        line(
          `${e.host}: phase ${e.phase.name} ${word(e.phase.status)} in ${seconds(e.phase.durationMs)} (${t(e.phase.reason)})`,
        );
        break;
      case 'host-end':
        line(
          `${e.host}: ${statusWord(e.result.status, paint)} in ${seconds(e.result.durationMs)}${e.result.error ? `: ${t(e.result.error.message)}` : ''}`,
        );
        break;
      case 'warning':
        line(`${e.host}: ${paint.yellow('warning')}: ${t(e.message)}`);
        break;
    }
  };
}
