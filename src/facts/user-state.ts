// Probe: an account, its shell and groups, its authorized_keys and its sudo drop-in.
import { sh, join } from '../shell/sh.js';

export interface UserState {
  exists: boolean;
  home?: string;
  shell?: string;
  groups: string[];
  authorizedKeysSha256?: string;
  sudoersSha256?: string;
  /** passwd -S: P usable password, L locked, NP none */
  passwordStatus?: string;
}

export function sudoersPath(user: string): string {
  return `/etc/sudoers.d/90-vps-provision-${user.replace(/\./g, '_')}`;
}

export function userStateProbe(name: string): string {
  const n = name;
  const s = sudoersPath(name);
  return join(
    [
      sh`e=$(getent passwd ${n} 2>/dev/null) || { echo absent; exit 0; }; printf 'passwd=%s\\n' "$e"; `,
      sh`printf 'groups=%s\\n' "$(id -nG ${n})"; h=$(printf %s "$e" | cut -d: -f6); `,
      sh`[ -f "$h/.ssh/authorized_keys" ] && printf 'keys=%s\\n' "$(sha256sum < "$h/.ssh/authorized_keys" | cut -c1-64)"; `,
      sh`[ -f ${s} ] && printf 'sudo=%s\\n' "$(sha256sum < ${s} | cut -c1-64)"; `,
      sh`printf 'pw=%s\\n' "$(passwd -S ${n} 2>/dev/null | cut -d' ' -f2)"; true`,
    ],
    '',
  ).text;
}

export function parseUserState(text: string): UserState {
  if (text.trim() === 'absent') return { exists: false, groups: [] };
  const kv = new Map<string, string>();
  for (const row of text.split('\n')) {
    const i = row.indexOf('=');
    if (i > 0) kv.set(row.slice(0, i), row.slice(i + 1));
  }
  const passwd = (kv.get('passwd') ?? '').split(':');
  return {
    exists: true,
    home: passwd[5],
    shell: passwd[6],
    groups: (kv.get('groups') ?? '').split(/\s+/).filter(Boolean),
    authorizedKeysSha256: kv.get('keys'),
    sudoersSha256: kv.get('sudo'),
    passwordStatus: kv.get('pw') || undefined,
  };
}
