// Runs the engine for a command: connector, renderer, Ctrl-C, summary or JSON, exit code.
import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { preparedConnector } from './each-host.js';
import { runFleet, newRunId } from '../engine/fleet-runner.js';
import type { EngineEvent, RunResult } from '../engine/events.js';
import { ConfigError, CancelledError, InterruptedError } from '../errors.js';
import { Secret } from '../shell/secret.js';
import type { CommonArgs, RunContext } from './run-context.js';
import { makePaint, colorWanted } from './ui/color.js';
import { lineRenderer } from './ui/line-renderer.js';
import { summaryText, planText, alertsText } from './ui/summary.js';
import { interruptibleRun } from './interrupt.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import { controllerChecks } from './controller-checks.js';
import { attachGeneratedPasswords } from './credentials.js';
import { connectInfo, bannerText } from './ui/banner.js';
import { liveAlerts } from './live-alerts.js';
import { preflightEverywhere } from './host-preflight.js';
import { writeRunReport, hostRunRecord, type RunRecordContext } from './run-report.js';
import { rebootWhereRequired, rebootText } from './reboot-hosts.js';
import { pruneLocalRuns, checkKeep } from '../report/prune-runs.js';
import type { FetchedCsvs, RunRecordFiles } from '../engine/host-session.js';
import { jsonText } from './ui/json-output.js';

/** The sampler stops by itself after this, whatever happens to the controller. */
function maxLifetimeS(ctx: RunContext): number {
  const budget = Math.max(0, ...ctx.hosts.map((h) => h.phases.reduce((sum, p) => sum + p.def.estimateS, 0)));
  return Math.max(3600, Math.ceil(3 * budget));
}

export const SUDO_PASSWORD_ENV = 'VPS_PROVISION_SUDO_PASSWORD';

/** Commands that change hosts ask first on a terminal; without one they need --yes. */
export async function confirm(what: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConfigError(`refusing to ${what} without confirmation (no terminal to ask on)`, 'add --yes to proceed');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // the line editor turns Ctrl-C into its own event, not a signal
  const stop = new AbortController();
  let interrupted = false;
  rl.on('SIGINT', () => {
    interrupted = true;
    stop.abort();
  });
  let answer: string;
  try {
    answer = await rl.question(`${what}? [y/N] `, { signal: stop.signal });
  } catch {
    if (interrupted) throw new InterruptedError('interrupted at the confirmation prompt', 'nothing was changed');
    throw new CancelledError(); // end of input (Ctrl-D)
  } finally {
    rl.close();
  }
  if (!/^y(es)?$/i.test(answer.trim())) throw new CancelledError();
}

export interface RunExtras {
  /** reboot the hosts that need it at the end (/var/run/reboot-required), wait, check */
  reboot?: boolean;
  /** leave out the source preflight (--skip-source-check) */
  skipSourceCheck?: boolean;
}

export async function executeRun(
  args: CommonArgs,
  ctx: RunContext,
  mode: 'apply' | 'plan',
  force: boolean,
  extras: RunExtras = {},
): Promise<{ code: number; run: RunResult }> {
  const credentials = attachGeneratedPasswords(ctx, mode === 'apply');
  const json = args.json;
  // stdout carries the result (JSON, or the plan); progress goes to stderr then
  const out = json || mode === 'plan' ? process.stderr : process.stdout;
  const paint = makePaint(colorWanted(args.color, out as NodeJS.WriteStream));
  const live = !json && mode === 'apply' && Boolean(process.stdout.isTTY) && !process.env.CI;
  // listr2 is loaded only for the live terminal view
  const renderer = live
    ? (await import('./ui/listr-renderer.js')).listrRenderer(
        ctx.hosts.map((h) => ({
          name: h.host.name,
          phases: h.phases.map((p) => ({ name: p.def.name, parallel: p.def.parallel })),
        })),
        paint,
        args.verbose,
      )
    : {
        sink: lineRenderer(out, paint, args.verbose, mode),
        done: Promise.resolve(),
        notice: (line: string) => void process.stderr.write(`${line}\n`),
      };
  const alerts = liveAlerts(ctx.inventory.thresholds, (a) =>
    renderer.sink({
      type: 'warning',
      host: a.host,
      message: `${a.severity === 'critical' ? 'CRITICAL' : 'ALERT'} ${a.kind}: ${a.message}`,
    }),
  );
  const emit = (e: EngineEvent) => {
    alerts.observe(e);
    renderer.sink(e);
  };
  // what a step's arguments risk (a key over plain http), said once per host before anything runs
  for (const { host, phases } of ctx.hosts) {
    for (const p of phases)
      for (const s of p.steps) {
        const w = s.type.warning?.(s.args);
        if (w) emit({ type: 'warning', host: host.name, message: `${p.def.name} / ${s.name}: ${w}` });
      }
  }
  const runFiles = new Map<string, FetchedCsvs>();
  const runId = newRunId();
  const keepRuns = checkKeep(args.keepRuns ?? ctx.inventory.keepRuns, '--keep-runs');
  const record: RunRecordContext = {
    runId,
    startedAt: new Date().toISOString(),
    thresholds: ctx.inventory.thresholds,
    alertsOf: (h) => alerts.byHost(h),
  };
  const records = new Map<string, RunRecordFiles>();
  const intervalS = Math.max(1, Math.round(args.sampleInterval ?? 10));

  const connector = await preparedConnector(
    ctx.inventory,
    args,
    ctx.hosts.map((h) => h.host.name),
    (host, message) => emit({ type: 'warning', host, message }),
  );
  const sudo = process.env[SUDO_PASSWORD_ENV];
  // before the first change anywhere: sudo and the phases' external sources, one round trip per host
  // (a plan runs it too: it changes nothing, and a source that would stop provision is said)
  await preflightEverywhere(connector, ctx, {
    sudoPassword: sudo ? new Secret(sudo) : undefined,
    concurrency: args.concurrency,
    sources: !extras.skipSourceCheck,
    sourcesWarnOnly: mode === 'plan',
    warn: (host, message) => emit({ type: 'warning', host, message }),
  });
  // from here a Ctrl-C stops the run cleanly instead of exiting (src/cli/interrupt.ts)
  const interrupt = interruptibleRun((line) => renderer.notice(`\n${line}`));
  try {
    const run = await runFleet(connector, {
      mode,
      runId,
      startedAt: record.startedAt,
      keepRuns,
      holder: `${userInfo().username}@${hostname()} (pid ${process.pid})`,
      force,
      emit,
      signal: interrupt.signal,
      concurrency: args.concurrency,
      groupConcurrency: args.ideConcurrency,
      sudoPassword: sudo ? new Secret(sudo) : undefined,
      localChecks: controllerChecks,
      monitor: { intervalS, maxLifetimeS: maxLifetimeS(ctx) },
      sampleReadMs: Math.min(30_000, Math.max(2_000, intervalS * 2_000)),
      collect: (host, files) => runFiles.set(host, files),
      runRecord: (result) => {
        const files = hostRunRecord(record, result);
        records.set(result.host, files);
        return files;
      },
      hosts: ctx.hosts,
    });
    if (mode === 'apply' && extras.reboot && !interrupt.signal.aborted) {
      await rebootWhereRequired(connector, ctx, run, {
        sudoPassword: sudo ? new Secret(sudo) : undefined,
        concurrency: args.concurrency,
        signal: interrupt.signal,
        note: (host, message) => renderer.notice(`${host}: ${message}`),
      });
    }
    await renderer.done;
    alerts.stop();
    const raised = ctx.hosts.flatMap((h) => alerts.byHost(h.host.name));
    if (!json) out.write(alertsText(raised, paint));
    const reportPath =
      mode === 'apply' && args.reportsDir !== ''
        ? await writeRunReport(args.reportsDir ?? 'reports', run, runFiles, records, record)
            .then(async (html) => {
              await pruneLocalRuns(args.reportsDir ?? 'reports', keepRuns);
              return html;
            })
            .catch((err: Error) => {
              process.stderr.write(`warning: the report could not be written: ${err.message}\n`);
              return undefined;
            })
        : undefined;
    const connect = mode === 'apply' ? connectInfo(ctx, run, credentials) : [];
    if (json) process.stdout.write(`${jsonText(connect.length ? { ...run, connect } : run)}\n`);
    else
      process.stdout.write(
        mode === 'plan'
          ? planText(run, paint) + summaryText(run, paint)
          : summaryText(run, paint) + bannerText(connect, paint),
      );
    if (mode === 'apply') out.write(rebootText(run, paint));
    if (reportPath) out.write(`report: ${reportPath}\n`);
    let code = exitCodeFor(run);
    // plan exits 0 whether or not changes are pending; an unreachable host is a failure
    if (mode === 'plan' && code !== EXIT.interrupted)
      code = run.hosts.every((h) => h.status === 'ok') ? EXIT.ok : EXIT.failed;
    return { code, run };
  } finally {
    alerts.stop();
    interrupt.end();
  }
}
