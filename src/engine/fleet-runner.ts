// Hosts in parallel, capped with p-limit; one failing host never stops the others.
import pLimit from 'p-limit';
import { randomBytes } from 'node:crypto';
import type { Connector } from '../transport/connection.js';
import type { HostSpec } from '../config/inventory.js';
import type { PhaseInstance } from '../config/playbook.js';
import { runHost, type HostRunOptions } from './host-runner.js';
import { hostSignals } from './host-signals.js';
import type { RunResult } from './events.js';

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  // 64 random bits: two controllers never pick the same id (the lock tells runs apart by it)
  return `${stamp}-${randomBytes(8).toString('hex')}`;
}

export interface FleetRunOptions extends Omit<HostRunOptions, 'phases'> {
  hosts: { host: HostSpec; phases: PhaseInstance[] }[];
  concurrency: number;
  /** when the run began (ISO); default now */
  startedAt?: string;
}

export async function runFleet(connector: Connector, opts: FleetRunOptions): Promise<RunResult> {
  const startedAt = opts.startedAt ?? new Date().toISOString();
  const limit = pLimit(Math.max(1, opts.concurrency));
  const signals = hostSignals(opts.signal);
  try {
    const hosts = await Promise.all(
      opts.hosts.map(({ host, phases }) =>
        limit(async () => {
          const s = signals.take();
          try {
            return await runHost(connector, host, { ...opts, phases, signal: s.signal });
          } finally {
            s.release();
          }
        }),
      ),
    );
    return { runId: opts.runId, mode: opts.mode, startedAt, endedAt: new Date().toISOString(), hosts };
  } finally {
    signals.close();
  }
}
