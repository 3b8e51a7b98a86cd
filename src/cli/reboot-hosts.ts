// The end of an apply run: which hosts need a reboot, and (--reboot) rebooting them.
import pLimit from 'p-limit';
import type { Connector } from '../transport/connection.js';
import type { RunResult } from '../engine/events.js';
import type { RunContext } from './run-context.js';
import type { Secret } from '../shell/secret.js';
import type { Paint } from './ui/color.js';
import { rebootHost, REBOOT_REQUIRED_FILE } from '../engine/reboot.js';
import { hostSignals } from '../engine/host-signals.js';

/** How long a rebooting host may take to answer SSH from its new boot. */
const REBOOT_TIMEOUT_MS = 10 * 60_000;

export async function rebootWhereRequired(
  connector: Connector,
  ctx: RunContext,
  run: RunResult,
  opts: {
    sudoPassword?: Secret;
    concurrency: number;
    signal?: AbortSignal;
    note: (host: string, message: string) => void;
  },
): Promise<void> {
  const limit = pLimit(Math.max(1, opts.concurrency));
  const signals = hostSignals(opts.signal);
  await Promise.all(
    run.hosts
      .filter((h) => h.rebootRequired && (h.status === 'ok' || h.status === 'failed'))
      .map((h) =>
        limit(async () => {
          const spec = ctx.hosts.find((x) => x.host.name === h.host)!.host;
          opts.note(
            h.host,
            `rebooting (${REBOOT_REQUIRED_FILE}); waiting for SSH, at most ${REBOOT_TIMEOUT_MS / 60_000} min`,
          );
          const signal = signals.take();
          try {
            h.reboot = await rebootHost(connector, spec, {
              become: spec.become,
              sudoPassword: opts.sudoPassword,
              timeoutMs: REBOOT_TIMEOUT_MS,
              signal: signal.signal,
            });
          } catch (err) {
            h.reboot = { ok: false, downMs: 0, detail: err instanceof Error ? err.message : String(err) };
          } finally {
            signal.release();
          }
          if (!h.reboot.ok) {
            h.status = 'failed';
            h.error ??= {
              kind: 'reboot',
              message: `${h.host}: reboot: ${h.reboot.detail}`,
              hint: "look at the host's console (DigitalOcean: Recovery Console); re-run when it answers",
            };
          }
        }),
      ),
  ).finally(() => signals.close());
}

/** Lines for the end of the summary: reboots done, and hosts still waiting for one. */
export function rebootText(run: RunResult, paint: Paint): string {
  const lines: string[] = [];
  for (const h of run.hosts) {
    if (h.reboot)
      lines.push(
        `${h.host}: ${h.reboot.ok ? paint.green('rebooted') : paint.red('reboot failed')}: ${h.reboot.detail}`,
      );
  }
  const pending = run.hosts.filter((h) => h.rebootRequired && !h.reboot).map((h) => h.host);
  if (pending.length) {
    lines.push(
      `${paint.yellow('reboot required')} (${REBOOT_REQUIRED_FILE}): ${pending.join(', ')}; run again with --reboot to reboot and check ${pending.length > 1 ? 'them' : 'it'}, or reboot ${pending.length > 1 ? 'them' : 'it'} yourself`,
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}
