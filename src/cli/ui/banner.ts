// The end-of-provision banner: how to reach each workstation, and where its password is
// saved (the path, never the password).
import type { RunResult } from '../../engine/events.js';
import type { RunContext } from '../run-context.js';
import type { Paint } from './color.js';

export interface ConnectInfo {
  host: string;
  address: string;
  rdpPort: number;
  user: string;
  passwordFile: string;
}

export function connectInfo(
  ctx: RunContext,
  run: RunResult,
  credentials: { host: string; user: string; path: string }[],
): ConnectInfo[] {
  return credentials.flatMap((c) => {
    const h = ctx.hosts.find((x) => x.host.name === c.host);
    const r = run.hosts.find((x) => x.host === c.host);
    if (!h || r?.status !== 'ok') return [];
    const vars = { ...ctx.playbook.vars, ...h.host.vars };
    return [
      {
        host: c.host,
        address: h.host.address,
        rdpPort: Number(vars.rdp_port ?? 3389),
        user: c.user,
        passwordFile: c.path,
      },
    ];
  });
}

export function bannerText(info: ConnectInfo[], paint: Paint): string {
  if (!info.length) return '';
  const lines = ['', paint.bold('Your workstations')];
  for (const i of info) {
    lines.push(
      `  ${paint.bold(i.host)}: RDP to ${i.address}:${i.rdpPort} as ${i.user}`,
      `    password: first line of ${i.passwordFile}`,
      `    e.g. xfreerdp /v:${i.address}:${i.rdpPort} /u:${i.user}   (or Microsoft Remote Desktop, Remmina)`,
      `    ssh: ssh ${i.user}@${i.address}`,
    );
  }
  return lines.join('\n') + '\n';
}
