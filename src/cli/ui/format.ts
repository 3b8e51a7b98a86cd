// Words and symbols shared by the renderers and the summary.
import type { StepStatus } from '../../engine/events.js';
import type { Paint } from './color.js';

export function statusWord(status: StepStatus | string, paint: Paint): string {
  switch (status) {
    case 'ok':
      return paint.green('ok');
    case 'changed':
      return paint.yellow('changed');
    case 'failed':
      return paint.red('failed');
    case 'unreachable':
      return paint.red('unreachable');
    case 'interrupted':
      return paint.red('interrupted');
    default:
      return paint.dim(status);
  }
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
