// Probe: a signed apt source as the apt_repo step writes it: the keyring's sha256 and
// mode, and the source list's content.
import { sh, join } from '../shell/sh.js';

export const KEYRING_DIR = '/etc/apt/keyrings';
export const SOURCES_DIR = '/etc/apt/sources.list.d';

export const keyringPath = (name: string) => `${KEYRING_DIR}/${name}.gpg`;
export const sourceListPath = (name: string) => `${SOURCES_DIR}/${name}.list`;

export interface AptRepoState {
  /** sha256 of a non-empty keyring, undefined when absent or empty */
  keyringSha256?: string;
  /** octal mode of the keyring (apt reads it as user _apt: it must be world-readable) */
  keyringMode?: string;
  /** the source list's text, undefined when absent */
  list?: string;
}

export function aptRepoStateProbe(name: string): string {
  const k = keyringPath(name);
  const l = sourceListPath(name);
  return join(
    [
      sh`if [ -s ${k} ]; then printf 'key=%s %s\\n' "$(sha256sum < ${k} | cut -c1-64)" "$(stat -c %a ${k})"; else echo key=absent; fi; `,
      sh`if [ -f ${l} ]; then echo list=present; cat ${l}; else echo list=absent; fi`,
    ],
    '',
  ).text;
}

export function parseAptRepoState(text: string): AptRepoState {
  const lines = text.split('\n');
  const state: AptRepoState = {};
  const key = /^key=([0-9a-f]{64}) ([0-7]{3,4})$/.exec(lines[0] ?? '');
  if (key) {
    state.keyringSha256 = key[1];
    state.keyringMode = key[2];
  }
  // the list's own trailing newline is trimmed with the probe's output
  if (lines[1] === 'list=present') state.list = lines.slice(2).join('\n');
  return state;
}
