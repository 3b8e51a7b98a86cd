// The one per-host connect loop of the commands that visit every selected host once
// (check, bench, report fetch, the sudo/source preflight of a run): at most `concurrency`
// hosts at a time, each connected, handed to the command's work and always closed; what
// went wrong on a host becomes that host's result, and a Ctrl-C (the signal) starts no
// new host and ends the connection attempts under way.
import pLimit from 'p-limit';
import type { Inventory } from '../config/inventory.js';
import { InterruptedError, ProvisionError } from '../errors.js';
import type { Connection, Connector } from '../transport/connection.js';
import { createSshConnector } from '../transport/ssh-connector.js';
import type { CommonArgs } from './run-context.js';
import { hostSignals } from '../engine/host-signals.js';

/** The SSH connector of a command, with every host's settings and keys resolved before any connection. */
export async function preparedConnector(
  inventory: Inventory,
  args: Pick<CommonArgs, 'hostKeyPolicy' | 'sshConfig'>,
  hostNames: readonly string[],
  onWarning?: (host: string, message: string) => void,
): Promise<Connector> {
  const connector = createSshConnector({
    inventory,
    hostKeyPolicy: args.hostKeyPolicy,
    sshConfigPath: args.sshConfig,
    ...(onWarning ? { onWarning } : {}),
  });
  await connector.prepare(hostNames);
  return connector;
}

/** A host's failure in one line: a ProvisionError's message and hint, else the error's message. */
export function hostFailureText(err: unknown): string {
  if (err instanceof ProvisionError) return `${err.message} (${err.hint})`;
  return err instanceof Error ? err.message : String(err);
}

export interface EachHostOptions {
  /** hosts connected and worked on at once (at least 1) */
  concurrency: number;
  signal?: AbortSignal;
}

/** Where a host's failure happened: connecting (nothing ran) or in the work. */
export type HostFailureStage = 'connect' | 'work';

/**
 * Runs `work` on a connection to each host and returns the results in the hosts' order.
 * A failure becomes `failed(host, error, stage)`'s result; `failed` may throw to stop
 * everything (the other hosts' connections are still closed).
 */
export async function onEachHost<H extends { name: string }, R>(
  connector: Connector,
  hosts: readonly H[],
  opts: EachHostOptions,
  work: (conn: Connection, host: H, connectMs: number) => Promise<R>,
  failed: (host: H, err: unknown, stage: HostFailureStage) => R,
): Promise<R[]> {
  const limit = pLimit(Math.max(1, opts.concurrency));
  // one listener on the signal, not one per host connecting (engine/host-signals.ts)
  const signals = hostSignals(opts.signal);
  return Promise.all(
    hosts.map((host) =>
      limit(async () => {
        let conn: Connection;
        const started = performance.now();
        const signal = signals.take();
        try {
          if (signal.signal?.aborted) throw new InterruptedError();
          conn = await connector.connect(host.name, signal.signal);
        } catch (err) {
          return failed(host, err, 'connect');
        } finally {
          signal.release();
        }
        try {
          return await work(conn, host, performance.now() - started);
        } catch (err) {
          return failed(host, err, 'work');
        } finally {
          conn.close();
        }
      }),
    ),
  ).finally(() => signals.close());
}
