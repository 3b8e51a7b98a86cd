// Runs the engine for a command: connector, renderer, Ctrl-C, summary or JSON, exit code.
import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { createSshConnector } from '../transport/ssh-connector.js';
import { runFleet, newRunId } from '../engine/fleet-runner.js';
import type { EngineEvent, RunResult } from '../engine/events.js';
import { ConfigError } from '../errors.js';
import { Secret } from '../commands/secret.js';
import type { CommonArgs, RunContext } from './run-context.js';
import { makePaint, colorWanted } from './ui/color.js';
import { lineRenderer } from './ui/line-renderer.js';
import { listrRenderer } from './ui/listr-renderer.js';
import { summaryText, planText } from './ui/summary.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import { controllerChecks } from './controller-checks.js';
import { attachGeneratedPasswords } from './credentials.js';
import { connectInfo, bannerText } from './ui/banner.js';

export const SUDO_PASSWORD_ENV = 'VPS_PROVISION_SUDO_PASSWORD';

/** Commands that change hosts ask first on a terminal; without one they need --yes. */
export async function confirm(what: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConfigError(`refusing to ${what} without confirmation (no terminal to ask on)`, 'add --yes to proceed');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${what}? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new ConfigError('cancelled', 'nothing was changed');
}

export async function executeRun(args: CommonArgs, ctx: RunContext, mode: 'apply' | 'plan', force: boolean): Promise<{ code: number; run: RunResult }> {
  const credentials = attachGeneratedPasswords(ctx, mode === 'apply');
  const json = args.json;
  // stdout carries the result (JSON, or the plan); progress goes to stderr then
  const out = json || mode === 'plan' ? process.stderr : process.stdout;
  const paint = makePaint(colorWanted(args.color, out as NodeJS.WriteStream));
  const live = !json && mode === 'apply' && Boolean(process.stdout.isTTY) && !process.env.CI;
  const renderer = live
    ? listrRenderer(ctx.hosts.map((h) => ({ name: h.host.name, phases: h.phases.map((p) => p.def.name) })), paint)
    : { sink: lineRenderer(out, paint, args.verbose, mode), done: Promise.resolve() };
  const emit = (e: EngineEvent) => renderer.sink(e);

  const connector = createSshConnector({
    inventory: ctx.inventory,
    hostKeyPolicy: args.hostKeyPolicy,
    sshConfigPath: args.sshConfig,
    onWarning: (host, message) => emit({ type: 'warning', host, message }),
  });
  await connector.prepare(ctx.hosts.map((h) => h.host.name));
  const sudo = process.env[SUDO_PASSWORD_ENV];
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupt: stopping the running steps, releasing locks (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const run = await runFleet(connector, {
      mode, runId: newRunId(), holder: `${userInfo().username}@${hostname()} (pid ${process.pid})`,
      force, emit, signal: abort.signal, concurrency: args.concurrency, groupConcurrency: args.ideConcurrency,
      sudoPassword: sudo ? new Secret(sudo) : undefined,
      localChecks: controllerChecks,
      hosts: ctx.hosts,
    });
    await renderer.done;
    const connect = mode === 'apply' ? connectInfo(ctx, run, credentials) : [];
    if (json) process.stdout.write(`${JSON.stringify(connect.length ? { ...run, connect } : run, null, 2)}\n`);
    else process.stdout.write(mode === 'plan' ? planText(run, paint) + summaryText(run, paint) : summaryText(run, paint) + bannerText(connect, paint));
    let code = exitCodeFor(run);
    // plan exits 0 whether or not changes are pending; an unreachable host is a failure
    if (mode === 'plan' && code !== EXIT.interrupted) code = run.hosts.every((h) => h.status === 'ok') ? EXIT.ok : EXIT.failed;
    return { code, run };
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
