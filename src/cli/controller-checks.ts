// Checks made from the laptop itself (rdp_check), handed to the engine. With rdp_access
// tunnel the handshake goes through the host's own SSH connection to its 127.0.0.1 (the
// path `connect` uses, so it also works behind a ProxyJump bastion); with public, straight
// to the host's address.
import { rdpHandshake, rdpHandshakeOn, type RdpHandshakeResult } from '../transport/rdp-handshake.js';
import type { Connection } from '../transport/connection.js';
import type { LocalChecks } from '../engine/phase-runner.js';
import { ProvisionError } from '../errors.js';

export function controllerChecks(connection: Connection): LocalChecks {
  return {
    async run(check) {
      let where: string;
      let r: RdpHandshakeResult;
      if (check.through === 'ssh') {
        where = `${connection.remoteHost} 127.0.0.1:${check.port} (through SSH)`;
        try {
          r = await rdpHandshakeOn(await connection.forwardOut('127.0.0.1', check.port), where);
        } catch (err) {
          r = { ok: false, reason: err instanceof ProvisionError ? err.message : String(err) };
        }
      } else {
        where = `${connection.remoteHost}:${check.port}`;
        r = await rdpHandshake(connection.remoteHost, check.port);
      }
      if (r.ok && check.requireTls && r.selectedProtocol === 0)
        return { ok: false, reason: `${where}: ${r.reason}, TLS was required` };
      return {
        ok: r.ok,
        reason: r.ok ? `${where}: ${r.reason}` : r.reason.startsWith(where) ? r.reason : `${where}: ${r.reason}`,
      };
    },
  };
}
