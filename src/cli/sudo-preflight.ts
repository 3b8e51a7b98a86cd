// Before any change: on every host that runs steps through sudo, check that sudo works
// (passwordless, or with the one password given), so a wrong password or a missing sudo
// rule stops the run everywhere before anything is changed anywhere.
import pLimit from 'p-limit';
import type { Connector } from '../transport/connection.js';
import type { Secret } from '../commands/secret.js';
import { ProvisionError, CommandError, PreflightError } from '../errors.js';
import type { RunContext } from './run-context.js';

export async function checkSudoEverywhere(connector: Connector, ctx: RunContext, password: Secret | undefined, concurrency: number): Promise<void> {
  const needing = ctx.hosts.filter((h) => h.host.become || h.phases.some((p) => p.def.become));
  if (!needing.length) return;
  const limit = pLimit(Math.max(1, concurrency));
  const failures = (await Promise.all(needing.map((h) => limit(async () => {
    let conn;
    try {
      conn = await connector.connect(h.host.name);
      const shell = await conn.openShell({ become: true, sudoPassword: password });
      const r = await shell.run('id -u');
      shell.close();
      return r.exitCode === 0 ? undefined : `${h.host.name}: sudo ran but the check failed (exit ${r.exitCode})`;
    } catch (err) {
      // unreachable hosts are reported by the run itself; only sudo refusals stop everything
      if (err instanceof CommandError) return err.message;
      if (err instanceof ProvisionError) return undefined;
      throw err;
    } finally {
      conn?.close();
    }
  })))).filter((f): f is string => f !== undefined);
  if (failures.length) {
    throw new PreflightError(
      `sudo does not work on ${failures.length} host(s), nothing was changed anywhere:\n  ${failures.join('\n  ')}`,
      'give the login user passwordless sudo, or set VPS_PROVISION_SUDO_PASSWORD to its sudo password',
    );
  }
}
