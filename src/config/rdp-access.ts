// rdp_access and rdp_allow_from (SPEC §4): checked when a host's vars are put together, and
// turned into what the playbooks use. tunnel (the default): xrdp listens on the host's
// 127.0.0.1 only and ufw opens nothing; the desktop is reached through SSH. public: xrdp
// on every address, the RDP port allowed in ufw from rdp_allow_from (anywhere, or CIDRs).
import { isIP } from 'node:net';
import type { Vars } from './template.js';

const RDP_ACCESS_MODES = ['tunnel', 'public'] as const;

export class RdpAccessError extends Error {
  constructor(
    readonly variable: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** One CIDR or address; a bare address is its own /32 or /128. */
export function parseCidr(s: string): string | undefined {
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(s);
  if (!m) return undefined;
  const family = isIP(m[1]!);
  if (!family) return undefined;
  const max = family === 4 ? 32 : 128;
  if (m[2] !== undefined && Number(m[2]) > max) return undefined;
  return m[2] === undefined ? m[1]! : `${m[1]}/${Number(m[2])}`;
}

/**
 * The vars a host's phases see, with rdp_access checked, rdp_allow_from normalised to
 * "anywhere" or space-separated CIDRs, and rdp_listen (xrdp.ini's port= value) derived.
 * Vars without rdp_access or rdp_port (other playbooks) are returned as they are.
 */
export function withRdpAccess(vars: Vars): Vars {
  // other playbooks (no rdp_port of the default site.yml) may still see an inventory's
  // rdp_access: it means nothing to them
  if (
    !Object.prototype.hasOwnProperty.call(vars, 'rdp_access') ||
    !Object.prototype.hasOwnProperty.call(vars, 'rdp_port')
  )
    return vars;
  const access = String(vars.rdp_access);
  if (!(RDP_ACCESS_MODES as readonly string[]).includes(access)) {
    throw new RdpAccessError(
      'rdp_access',
      `rdp_access is "${access}"`,
      'use tunnel (RDP only through SSH: vps-provision connect) or public (RDP port open in ufw)',
    );
  }
  const port = Number(vars.rdp_port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RdpAccessError('rdp_port', `rdp_port is "${String(vars.rdp_port)}"`, 'a TCP port number, 1-65535');
  const raw = String(vars.rdp_allow_from ?? 'anywhere').trim();
  const parts = raw.split(/[\s,]+/).filter(Boolean);
  const sources =
    parts.length === 0 || parts.includes('anywhere')
      ? ['anywhere']
      : parts.map((p) => {
          const c = parseCidr(p);
          if (!c)
            throw new RdpAccessError(
              'rdp_allow_from',
              `rdp_allow_from: "${p}" is not an address or CIDR`,
              'anywhere, or addresses / CIDRs separated by spaces or commas (e.g. "203.0.113.7, 198.51.100.0/24")',
            );
          return c;
        });
  if (sources.includes('anywhere') && parts.length > 1) {
    throw new RdpAccessError(
      'rdp_allow_from',
      'rdp_allow_from mixes "anywhere" with addresses',
      'either anywhere, or a list of addresses / CIDRs',
    );
  }
  return {
    ...vars,
    rdp_allow_from: sources.join(' '),
    rdp_listen: access === 'tunnel' ? `tcp://127.0.0.1:${port}` : String(port),
  };
}
