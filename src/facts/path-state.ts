// Probe: does a path exist, its kind, mode, owner, group, and the sha256 of a regular file.
import { sh, join } from '../shell/sh.js';

export interface PathState {
  exists: boolean;
  kind?: string;
  mode?: string; // octal, as stat %a prints it (e.g. "644")
  owner?: string;
  group?: string;
  sha256?: string;
}

export function pathStateProbe(path: string): string {
  const p = path;
  return join(
    [
      sh`if [ -e ${p} ] || [ -L ${p} ]; then stat -c 'exists|%F|%a|%U|%G' -- ${p}; `,
      sh`if [ -f ${p} ]; then sha256sum < ${p} | cut -c1-64; fi; else echo absent; fi`,
    ],
    '',
  ).text;
}

export function parsePathState(text: string): PathState {
  const [first = '', second] = text.split('\n');
  if (!first.startsWith('exists|')) return { exists: false };
  const [, kind, mode, owner, group] = first.split('|');
  return {
    exists: true,
    kind,
    mode,
    owner,
    group,
    sha256: second && /^[0-9a-f]{64}$/.test(second) ? second : undefined,
  };
}
