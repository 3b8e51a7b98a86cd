// The live tree on a terminal: host -> phases, the current step as output.
// The engine pushes events; listr2 pulls tasks: each task waits on a promise that
// the matching event settles.
import { Listr, type ListrTask } from 'listr2';
import type { EngineEvent, PhaseResult } from '../../engine/events.js';
import type { Paint } from './color.js';
import { seconds, statusWord } from './format.js';

interface Deferred<T> { promise: Promise<T>; resolve: (v: T) => void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

export function listrRenderer(hosts: { name: string; phases: string[] }[], paint: Paint) {
  const phaseDone = new Map<string, Deferred<PhaseResult>>();
  const outputs = new Map<string, (s: string) => void>();
  const key = (h: string, p: string) => `${h}\0${p}`;
  for (const h of hosts) for (const p of h.phases) phaseDone.set(key(h.name, p), deferred());

  const list = new Listr(
    hosts.map((h) => ({
      title: h.name,
      task: (_, task) => task.newListr(
        h.phases.map((p) => ({
          title: p,
          task: async (_c, t) => {
            outputs.set(key(h.name, p), (s) => { t.output = s; });
            const r = await phaseDone.get(key(h.name, p))!.promise;
            if (r.status === 'skipped') return t.skip(`${p}: ${r.reason}`);
            if (r.status === 'failed') throw new Error(`${p}: ${r.reason}`);
            t.title = `${p} ${statusWord(r.status, paint)} ${paint.dim(seconds(r.durationMs))}`;
          },
        } satisfies ListrTask)),
        { concurrent: false, exitOnError: false },
      ),
    } satisfies ListrTask)),
    { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false, showSkipMessage: true } },
  );
  const done = list.run().catch(() => undefined);

  const sink = (e: EngineEvent) => {
    if (e.type === 'step') outputs.get(key(e.host, e.phase))?.(`${e.step.name}: ${e.step.status} - ${e.step.reason}`);
    if (e.type === 'phase-end') phaseDone.get(key(e.host, e.phase.name))?.resolve(e.phase);
    if (e.type === 'host-end') {
      const h = hosts.find((x) => x.name === e.host);
      for (const p of h?.phases ?? []) {
        const r = e.result.phases.find((x) => x.name === p);
        phaseDone.get(key(e.host, p))?.resolve(r ?? { name: p, status: 'failed', reason: e.result.error?.message ?? e.result.status, durationMs: 0, estimateS: 0, critical: false, steps: [] });
      }
    }
  };
  return { sink, done };
}
