// Before any change, on every host, in one round trip each: sudo works where steps run
// through it (passwordless, or with the one password given), and every external source of
// the host's selected phases resolves from the host itself (src/facts/source-reach.ts).
// A failure on any host stops the run everywhere before anything is changed anywhere.
import { randomBytes } from 'node:crypto';
import type { Connector } from '../transport/connection.js';
import type { Secret } from '../shell/secret.js';
import { ProvisionError, CommandError, PreflightError } from '../errors.js';
import type { PhaseInstance } from '../config/playbook.js';
import { phaseSources, type PhaseSource } from '../config/phase-sources.js';
import { sourceProbeScript, sourceReplyReader, sourceFailure } from '../facts/source-reach.js';
import type { RunContext } from './run-context.js';
import { onEachHost } from './each-host.js';

export interface SourceVerdicts {
  sources: PhaseSource[];
  failures: { source: PhaseSource; url: string; reason: string }[];
  /** the check could not be made (no curl on the host): said, not failed */
  warning?: string;
}

/** The source probe of a host's phases: the script, a line filter, and the verdicts once it ran. */
export function sourceCheck(phases: readonly PhaseInstance[]): {
  sources: PhaseSource[];
  script: string;
  onLine: (line: string) => boolean;
  verdicts: () => SourceVerdicts;
} {
  const sources = phaseSources(phases);
  const nonce = randomBytes(6).toString('hex');
  const reader = sourceReplyReader(nonce);
  return {
    sources,
    script: sourceProbeScript(nonce, sources),
    onLine: reader.onLine,
    verdicts() {
      if (reader.noCurl())
        return {
          sources,
          failures: [],
          warning: `curl is not installed on the host: its ${sources.length} source(s) were not checked`,
        };
      if (reader.error()) return { sources, failures: [], warning: `the sources were not checked: ${reader.error()}` };
      const failures = sources.flatMap((source, i) => {
        const reply = reader.replies.get(i);
        const reason = sourceFailure(source.urls[0]!, reply);
        // an apt repository's failure names the alternative tried last (Release after InRelease)
        return reason ? [{ source, url: source.urls[reply?.tried ?? 0] ?? source.urls[0]!, reason }] : [];
      });
      return { sources, failures };
    },
  };
}

/** One line per failing source: the variable, the URL, what the host got. */
export function sourceFailureText(f: SourceVerdicts['failures'][number]): string {
  return `${f.source.origin}: ${f.url}: ${f.reason}`;
}

export interface HostPreflightOptions {
  sudoPassword?: Secret;
  concurrency: number;
  /** check the phases' external sources (off: --skip-source-check) */
  sources: boolean;
  /** said, not failed (a host without curl; with `sourcesWarnOnly`, every failing source) */
  warn: (host: string, message: string) => void;
  /** plan: a source that does not resolve is said (provision would stop there), not failed */
  sourcesWarnOnly?: boolean;
}

export async function preflightEverywhere(
  connector: Connector,
  ctx: RunContext,
  opts: HostPreflightOptions,
): Promise<void> {
  const needing = ctx.hosts
    .map((h) => ({
      ...h,
      name: h.host.name,
      sudo: h.host.become || h.phases.some((p) => p.def.become),
      check: opts.sources ? sourceCheck(h.phases) : undefined,
    }))
    .filter((h) => h.sudo || h.check?.sources.length);
  if (!needing.length) return;
  const results = await onEachHost(
    connector,
    needing,
    { concurrency: opts.concurrency },
    async (conn, h): Promise<{ sudo?: string; sources: string[] }> => {
      const shell = await conn.openShell(h.sudo ? { become: true, sudoPassword: opts.sudoPassword } : {});
      let uid = '';
      const r = await shell.run(`id -u\n${h.check?.script ?? ''}`, (line) => {
        if (!h.check?.onLine(line) && !uid) uid = line;
      });
      shell.close();
      if (h.sudo && (r.exitCode !== 0 || !/^\d+$/.test(uid)))
        return { sudo: `${h.name}: sudo ran but the check failed (exit ${r.exitCode})`, sources: [] };
      const verdicts = h.check?.verdicts();
      if (verdicts?.warning) opts.warn(h.name, verdicts.warning);
      if (opts.sourcesWarnOnly) {
        for (const f of verdicts?.failures ?? [])
          opts.warn(
            h.name,
            `source does not resolve (provision would stop before any change): ${sourceFailureText(f)}`,
          );
        return { sources: [] };
      }
      return { sources: (verdicts?.failures ?? []).map((f) => `${h.name}: ${sourceFailureText(f)}`) };
    },
    (_h, err) => {
      // unreachable hosts are reported by the run itself; only sudo refusals stop everything
      if (err instanceof CommandError) return { sudo: err.message, sources: [] };
      if (err instanceof ProvisionError) return { sources: [] };
      throw err;
    },
  );
  const sudo = results.flatMap((r) => (r.sudo ? [r.sudo] : []));
  const sources = results.flatMap((r) => r.sources);
  if (sudo.length) {
    throw new PreflightError(
      `sudo does not work on ${sudo.length} host(s), nothing was changed anywhere:\n  ${[...sudo, ...sources].join('\n  ')}`,
      'give the login user passwordless sudo, or set VPS_PROVISION_SUDO_PASSWORD to its sudo password',
    );
  }
  if (sources.length) {
    throw new PreflightError(
      `${sources.length} source(s) do not resolve from the host(s), nothing was changed anywhere:\n  ${sources.join('\n  ')}`,
      'set the named variable in the inventory to a URL that resolves (a mirror, a release that exists), or add --skip-source-check to go ahead anyway',
    );
  }
}
