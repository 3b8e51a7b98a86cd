// Plain output when not on a terminal (CI, pipes): one line per event.
import type { EngineEvent } from '../../engine/events.js';
import type { Paint } from './color.js';
import { statusWord, seconds } from './format.js';

export function lineRenderer(out: NodeJS.WritableStream, paint: Paint, verbose: boolean) {
  return (e: EngineEvent): void => {
    const line = (s: string) => out.write(`${s}\n`);
    switch (e.type) {
      case 'host-start': if (verbose) line(`${e.host}: connecting`); break;
      case 'host-connected': line(`${e.host}: connected (${e.os}) in ${seconds(e.durationMs)}`); break;
      case 'phase-start': line(`${e.host}: phase ${e.phase} (${e.index + 1}/${e.total})`); break;
      case 'step':
        if (verbose || e.step.status !== 'ok') line(`${e.host}: ${e.phase} / ${e.step.name}: ${statusWord(e.step.status, paint)} - ${e.step.reason}`);
        break;
      case 'phase-end': line(`${e.host}: phase ${e.phase.name} ${statusWord(e.phase.status, paint)} in ${seconds(e.phase.durationMs)} (${e.phase.reason})`); break;
      case 'host-end': line(`${e.host}: ${statusWord(e.result.status, paint)} in ${seconds(e.result.durationMs)}${e.result.error ? `: ${e.result.error.message}` : ''}`); break;
      case 'warning': line(`${e.host}: ${paint.yellow('warning')}: ${e.message}`); break;
    }
  };
}
