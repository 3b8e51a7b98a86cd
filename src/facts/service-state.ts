// Probe: is a systemd unit enabled and active.
import { sh, join } from '../shell/sh.js';

export interface ServiceState {
  systemd: boolean;
  enabled: string; // enabled | disabled | static | masked | not-found | ...
  active: string; // active | inactive | failed | activating | ...
}

export function serviceStateProbe(name: string): string {
  const n = name;
  return join(
    [
      sh`if command -v systemctl >/dev/null 2>&1; then systemctl is-enabled -- ${n} 2>/dev/null || true; echo; `,
      sh`systemctl is-active -- ${n} 2>/dev/null || true; else echo no-systemd; fi`,
    ],
    '',
  ).text;
}

export function parseServiceState(text: string): ServiceState {
  if (text.trim() === 'no-systemd') return { systemd: false, enabled: 'unknown', active: 'unknown' };
  const parts = text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  // is-enabled prints nothing for unknown units on some versions; is-active always prints
  const active = parts.pop() ?? 'unknown';
  return { systemd: true, enabled: parts[0] ?? 'not-found', active };
}
