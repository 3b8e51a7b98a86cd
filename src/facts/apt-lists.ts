// Probe: how old the host's package lists are (since this tool last refreshed them), and
// which installed packages a safe upgrade would bring up to date.

/** Touched after every refresh of the lists by this tool: its mtime is their age. */
export const APT_UPDATE_STAMP = '/var/lib/apt/vps-provision-update-stamp';

/** The safe upgrade: installed packages to their candidates, new dependencies allowed, nothing removed. */
export const SAFE_UPGRADE_ARGS = ['upgrade', '--with-new-pkgs'] as const;

export interface AptListsState {
  /** seconds since the lists were last refreshed by this tool; null: never (or unknown) */
  ageS: number | null;
  /** packages a safe upgrade would install or upgrade (empty when not asked) */
  upgradable: string[];
}

/** Prints "apt-lists-age=<s|none>" and, when asked, one "apt-upgradable=<package>" per package. */
export function aptListsProbe(opts: { age: boolean; upgrade: boolean }): string {
  const parts: string[] = [];
  if (opts.age) {
    parts.push(
      `if t=$(stat -c %Y ${APT_UPDATE_STAMP} 2>/dev/null); then echo "apt-lists-age=$(( $(date +%s) - t ))"; else echo apt-lists-age=none; fi`,
    );
  }
  if (opts.upgrade) {
    // a simulation: no lock taken, nothing changed (apt-daily may hold the real lock)
    parts.push(
      `apt-get -s -o Debug::NoLocking=1 ${SAFE_UPGRADE_ARGS.join(' ')} 2>/dev/null | awk '/^Inst /{print "apt-upgradable=" $2}'`,
    );
  }
  return parts.join('; ');
}

const PACKAGE = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/;

/** The probe's lines (other lines ignored); a package name not in Debian's shape is dropped. */
export function parseAptLists(text: string): AptListsState {
  const state: AptListsState = { ageS: null, upgradable: [] };
  for (const line of text.split('\n')) {
    const age = /^apt-lists-age=(\d{1,12})$/.exec(line);
    // a stamp from the future (clock moved back) counts as fresh, not as negative
    if (age) state.ageS = Number(age[1]);
    else if (/^apt-lists-age=-\d+$/.test(line)) state.ageS = 0;
    const up = /^apt-upgradable=(.*)$/.exec(line);
    if (up && PACKAGE.test(up[1]!)) state.upgradable.push(up[1]!);
  }
  return state;
}
