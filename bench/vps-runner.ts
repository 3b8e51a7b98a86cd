// Runs vps-provision's engine in this process against bench targets and reports what a
// run cost: wall time, connection set-up, round trips. In-process so per-step figures
// are not blurred by Node's start-up; the CLI path is timed separately (cliWallMs).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { loadRunContext } from '../src/cli/run-context.js';
import { createSshConnector } from '../src/transport/ssh-connector.js';
import { runFleet, newRunId } from '../src/engine/fleet-runner.js';
import type { RunResult } from '../src/engine/events.js';
import { onProcessEnd } from './process-cleanup.js';

export interface VpsRunStats {
  wallMs: number;
  /** slowest host's connect + shell + session round trip */
  connectMs: number;
  /** wall time minus the slowest connection set-up */
  afterConnectMs: number;
  roundTripsPerHost: number;
  changed: number;
  ok: number;
  failed: number;
}

export async function runVpsInProcess(inventory: string, playbooks: string): Promise<VpsRunStats> {
  const args = { inventory, playbooks, concurrency: 50, json: true, verbose: false };
  const ctx = await loadRunContext(args);
  const connector = createSshConnector({ inventory: ctx.inventory });
  await connector.prepare(ctx.hosts.map((h) => h.host.name));
  const connected: number[] = [];
  const t0 = performance.now();
  const run: RunResult = await runFleet(connector, {
    mode: 'apply',
    runId: newRunId(),
    holder: 'bench',
    force: true,
    concurrency: 50,
    emit: (e) => {
      if (e.type === 'host-connected') connected.push(e.durationMs);
    },
    hosts: ctx.hosts,
  });
  const wallMs = performance.now() - t0;
  const steps = run.hosts.flatMap((h) => h.phases.flatMap((p) => p.steps));
  const connectMs = Math.max(0, ...connected);
  return {
    wallMs,
    connectMs,
    afterConnectMs: wallMs - connectMs,
    roundTripsPerHost: Math.max(...run.hosts.map((h) => h.roundTrips)),
    changed: steps.filter((s) => s.status === 'changed').length,
    ok: steps.filter((s) => s.status === 'ok').length,
    failed: steps.filter((s) => s.status === 'failed').length + run.hosts.filter((h) => h.status !== 'ok').length,
  };
}

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

/** The whole CLI as a user runs it (Node start-up included), like ansible-playbook's wall time. */
export function runVpsCli(
  inventory: string,
  playbooks: string,
  reportsDir: string,
  nodeArgs: string[] = [],
  concurrency = 50,
  /** past this, the CLI gets SIGINT (as Ctrl-C), and SIGKILL 15 s later; timedOut is set */
  timeoutMs?: number,
): Promise<{
  wallMs: number;
  code: number | null;
  peakRssKb: number;
  cpuMs: number;
  stderr: string;
  stdoutTail: string;
  timedOut: boolean;
}> {
  return new Promise((done) => {
    const t0 = performance.now();
    // GNU time-like figures without GNU time: the child reports its own resource usage
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        '--import',
        'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();process.stderr.write("\\nRUSAGE "+u.maxRSS+" "+(u.userCPUTime+u.systemCPUTime)/1000+"\\n")})',
        CLI,
        'provision',
        '-i',
        inventory,
        '--playbooks',
        playbooks,
        '--yes',
        '--force',
        '--concurrency',
        String(concurrency),
        '--reports-dir',
        reportsDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    // the bench ended by a signal: the CLI goes with it (by PID)
    const unregister = onProcessEnd(() => child.kill('SIGKILL'));
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    // what a failed run says: its lines other than a host's "ok in" (which hosts failed and
    // why), the last 100 of them (the whole output of 1000 hosts is not kept)
    const said: string[] = [];
    let partial = '';
    child.stdout.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l.trim() && !/^\S+ ok in \S+ m?s: /.test(l)) said.push(l);
      said.splice(0, Math.max(0, said.length - 100));
    });
    let timedOut = false;
    let kill: NodeJS.Timeout | undefined;
    const limit =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGINT');
            kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
          }, timeoutMs);
    child.on('close', (code) => {
      unregister();
      clearTimeout(limit);
      clearTimeout(kill);
      const m = /RUSAGE (\d+) ([\d.]+)/.exec(err);
      done({
        wallMs: performance.now() - t0,
        code,
        peakRssKb: m ? Number(m[1]) : 0,
        cpuMs: m ? Number(m[2]) : 0,
        stderr: err,
        stdoutTail: [...said, partial].join('\n'),
        timedOut,
      });
    });
  });
}
