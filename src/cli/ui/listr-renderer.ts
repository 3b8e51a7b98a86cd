// The live tree on a terminal (listr2): host -> phases (the phases of a `parallel` group
// under one node, running side by side) with the running step and its elapsed time.
// Warnings, live alerts, reconnect and lock notices are printed above the tree as they
// happen and stay on screen. The engine pushes events; listr2 pulls tasks: each task
// waits on promises that the matching events settle. Only this folder knows listr2.
import { Listr, DefaultRenderer, type ListrTask } from 'listr2';
import type { EngineEvent, PhaseResult } from '../../engine/events.js';
import type { Paint } from './color.js';
import { seconds, statusWord } from './format.js';
import { terminalLine } from './terminal-text.js';

export interface HostView {
  name: string;
  phases: { name: string; parallel?: string }[];
}

/** listr2's default renderer, plus lines printed above the tree without breaking it. */
class NoticeRenderer extends DefaultRenderer {
  static current: NoticeRenderer | undefined;
  #ended = false;

  constructor(...args: ConstructorParameters<typeof DefaultRenderer>) {
    super(...args);
    NoticeRenderer.current = this;
  }

  // a title set after the end (a late event) must not draw the tree a second time
  override update(): void {
    if (!this.#ended) super.update();
  }

  override end(): void {
    this.#ended = true;
    super.end();
  }

  printAbove(text: string): void {
    // log-update redraws the tree from where it last started: clear it, print, redraw
    const self = this as unknown as { updater?: { clear(): void }; logger: { process: { toStdout(s: string): void } } };
    if (!self.updater || this.#ended) {
      process.stdout.write(`${text}\n`);
      return;
    }
    self.updater.clear();
    self.logger.process.toStdout(text);
    this.update();
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface PhaseState {
  started: Deferred<void>;
  done: Deferred<PhaseResult>;
  startedAt?: number;
  step?: string;
  stepAt?: number;
  setTitle?: (s: string) => void;
  addOutput?: (s: string) => void;
}

const elapsed = (since: number) => `${Math.floor((Date.now() - since) / 1000)} s`;

export function listrRenderer(hosts: HostView[], paint: Paint, verbose: boolean) {
  const phases = new Map<string, PhaseState>();
  const key = (h: string, p: string) => `${h}\0${p}`;
  for (const h of hosts)
    for (const p of h.phases) phases.set(key(h.name, p.name), { started: deferred(), done: deferred() });
  const hostTitles = new Map<string, (s: string) => void>();
  const hostEnded = new Map(hosts.map((h) => [h.name, deferred<void>()]));

  const runningTitle = (name: string, st: PhaseState) => {
    const step = st.step
      ? ` ${paint.dim('›')} ${terminalLine(st.step)} ${paint.dim(elapsed(st.stepAt!))}`
      : ` ${paint.dim("› reading the host's state")}`;
    return `${name} ${paint.dim(elapsed(st.startedAt!))}${step}`;
  };

  const phaseTask = (host: string, name: string): ListrTask => ({
    title: name,
    // --verbose keeps every step's result under its phase
    rendererOptions: verbose ? { outputBar: Infinity, persistentOutput: true } : { outputBar: false },
    task: async (_c, t) => {
      const st = phases.get(key(host, name))!;
      st.setTitle = (s) => {
        t.title = s;
      };
      st.addOutput = (s) => {
        t.output = s;
      };
      t.title = `${name} ${paint.dim('waiting')}`;
      const first = await Promise.race([st.started.promise.then(() => 'started' as const), st.done.promise]);
      if (first === 'started') t.title = runningTitle(name, st);
      const r = await st.done.promise;
      st.setTitle = undefined;
      if (r.status === 'skipped') return t.skip(`${name}: ${terminalLine(r.reason)}`);
      if (r.status === 'failed') throw new Error(`${name}: ${terminalLine(r.reason)}`);
      t.title = `${name} ${statusWord(r.status, paint)} ${paint.dim(seconds(r.durationMs))}`;
    },
  });

  /** Adjacent phases of one `parallel` group become one node whose phases run together. */
  const hostTasks = (h: HostView): ListrTask[] => {
    const tasks: ListrTask[] = [];
    for (let i = 0; i < h.phases.length;) {
      const group = h.phases[i]!.parallel;
      let end = i + 1;
      while (group && end < h.phases.length && h.phases[end]!.parallel === group) end++;
      const batch = h.phases.slice(i, end);
      i = end;
      if (batch.length === 1) tasks.push(phaseTask(h.name, batch[0]!.name));
      else {
        tasks.push({
          title: `${terminalLine(group!)} ${paint.dim(`(parallel: ${batch.map((p) => p.name).join(', ')})`)}`,
          task: (_c, t) =>
            t.newListr(
              batch.map((p) => phaseTask(h.name, p.name)),
              { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false } },
            ),
        });
      }
    }
    return tasks;
  };

  const list = new Listr(
    hosts.map(
      (h) =>
        ({
          title: h.name,
          task: (_c, task) => {
            hostTitles.set(h.name, (s) => {
              task.title = s;
            });
            // a last task without a title: the host's line is final only once the host ended
            const untilEnd: ListrTask = { task: () => hostEnded.get(h.name)!.promise };
            return task.newListr([...hostTasks(h), untilEnd], {
              concurrent: false,
              exitOnError: false,
              rendererOptions: { collapseSubtasks: false },
            });
          },
        }) satisfies ListrTask,
    ),
    {
      concurrent: true,
      exitOnError: false,
      // Ctrl-C belongs to the tool (src/cli/interrupt.ts): listr2's own handler would exit 127
      registerSignalListeners: false,
      renderer: NoticeRenderer,
      rendererOptions: { collapseSubtasks: false, showSkipMessage: true, collapseSkips: true },
    } as never,
  );
  // elapsed times of the running phases and steps
  const ticker = setInterval(() => {
    for (const [k, st] of phases) if (st.setTitle && st.startedAt) st.setTitle(runningTitle(k.split('\0')[1]!, st));
  }, 1000);
  ticker.unref();
  const done = (list.run() as Promise<unknown>).catch(() => undefined).finally(() => clearInterval(ticker));

  const notice = (line: string) => {
    const r = NoticeRenderer.current;
    if (r) r.printAbove(line);
    else process.stdout.write(`${line}\n`);
  };

  const sink = (e: EngineEvent) => {
    switch (e.type) {
      case 'host-connected':
        hostTitles.get(e.host)?.(
          `${e.host} ${paint.dim(`${terminalLine(e.os)}, connected in ${seconds(e.durationMs)}`)}`,
        );
        break;
      case 'phase-start': {
        const st = phases.get(key(e.host, e.phase));
        if (st) {
          st.startedAt = Date.now();
          st.started.resolve();
        }
        break;
      }
      case 'step-start': {
        const st = phases.get(key(e.host, e.phase));
        if (st) {
          st.step = e.step;
          st.stepAt = Date.now();
          if (st.startedAt) st.setTitle?.(runningTitle(e.phase, st));
        }
        break;
      }
      case 'step':
        if (verbose)
          phases
            .get(key(e.host, e.phase))
            ?.addOutput?.(
              `${terminalLine(e.step.name)}: ${statusWord(e.step.status, paint)} - ${terminalLine(e.step.reason)}`,
            );
        break;
      case 'phase-skip':
      case 'phase-end':
        phases.get(key(e.host, e.phase.name))?.done.resolve(e.phase);
        break;
      case 'host-end': {
        const r = e.result;
        hostTitles.get(e.host)?.(
          `${e.host} ${statusWord(r.status, paint)} ${paint.dim(seconds(r.durationMs))}${r.error ? `: ${terminalLine(r.error.message)}` : ''}`,
        );
        hostEnded.get(e.host)?.resolve();
        const h = hosts.find((x) => x.name === e.host);
        for (const p of h?.phases ?? []) {
          const res = r.phases.find((x) => x.name === p.name);
          phases.get(key(e.host, p.name))?.done.resolve(
            res ?? {
              name: p.name,
              status: 'skipped',
              reason: `not run (host ${r.status})`,
              durationMs: 0,
              estimateS: 0,
              critical: false,
              steps: [],
            },
          );
        }
        break;
      }
      case 'warning': {
        const msg = terminalLine(e.message);
        const tag = /^CRITICAL /.test(msg)
          ? paint.red('critical')
          : /^ALERT /.test(msg)
            ? paint.yellow('alert')
            : paint.yellow('warning');
        notice(`${paint.bold(e.host)}: ${tag}: ${msg.replace(/^(CRITICAL|ALERT) /, '')}`);
        break;
      }
    }
  };
  return { sink, done, notice };
}
