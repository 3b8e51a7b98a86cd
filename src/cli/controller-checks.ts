// Checks made from the laptop itself (rdp_check), handed to the engine.
import { rdpHandshake } from '../transport/rdp-handshake.js';
import type { LocalChecks } from '../engine/phase-runner.js';

export function controllerChecks(remoteHost: string): LocalChecks {
  return {
    async run(check) {
      const r = await rdpHandshake(remoteHost, check.port);
      if (r.ok && check.requireTls && r.selectedProtocol === 0) return { ok: false, reason: `${remoteHost}:${check.port}: ${r.reason}, TLS was required` };
      return { ok: r.ok, reason: `${remoteHost}:${check.port}: ${r.reason}` };
    },
  };
}
