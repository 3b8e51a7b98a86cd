// apt: packages installed (or removed); the package lists refreshed first when asked (always,
// or only when older than update_max_age_s); installed packages upgraded (safe upgrade).
import * as z from '../zod.js';
import { sh } from '../shell/sh.js';
import { packagesProbe, parsePackages } from '../facts/packages.js';
import { aptListsProbe, parseAptLists, APT_UPDATE_STAMP, SAFE_UPGRADE_ARGS } from '../facts/apt-lists.js';
import type { Decision, StepType } from './step-type.js';

const pkg = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?$/, 'a Debian package name'));
const schema = z
  .strictObject({
    packages: z.optional(z.array(pkg).check(z.minLength(1))),
    state: z.optional(z.enum(['present', 'absent'])),
    /** refresh the lists before installing missing packages */
    update: z.optional(z.boolean()),
    /** refresh the lists when this tool last did more than this many seconds ago (or never) */
    update_max_age_s: z.optional(
      z.number().check(z.int('a whole number of seconds'), z.nonnegative('0 or more seconds')),
    ),
    /** safe upgrade of the installed packages (new dependencies allowed, nothing removed) */
    upgrade: z.optional(z.boolean()),
    no_recommends: z.optional(z.boolean()),
  })
  .check(
    z.superRefine((a, ctx) => {
      if (!a.packages && !a.upgrade && a.update_max_age_s === undefined) {
        ctx.addIssue({ code: 'custom', message: 'apt needs packages, upgrade: true or update_max_age_s', path: [] });
      }
      if (a.update && a.update_max_age_s !== undefined)
        ctx.addIssue({
          code: 'custom',
          message: 'update and update_max_age_s are two ways of saying when to refresh: give one',
          path: ['update'],
        });
      if (a.state === 'absent' && (a.upgrade || a.update || a.update_max_age_s !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: 'state: absent removes packages; refresh and upgrade go in a step of their own',
          path: ['state'],
        });
      }
      if (!a.packages && (a.state !== undefined || a.no_recommends !== undefined))
        ctx.addIssue({ code: 'custom', message: 'state and no_recommends need packages', path: [] });
    }),
  );
type Args = z.infer<typeof schema>;

/**
 * An apt-get command line, serialised on the host: phases running in parallel take
 * turns on one lock file (apt's own lists lock does not wait), and apt itself waits
 * for the dpkg lock held by anything else (unattended-upgrades).
 */
export function aptGetCommand(args: readonly string[]): string {
  return sh`DEBIAN_FRONTEND=noninteractive ${['flock', '-w', '1800', '/run/lock/vps-provision-apt.lock', 'apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=600', ...args]}`
    .text;
}

/**
 * Refreshing the lists: tried up to 5 times (on a droplet's first boot apt-daily may hold
 * the lists lock, which apt does not wait for), then the stamp whose age update_max_age_s reads.
 */
function aptUpdateCommand(): string {
  return `{ n=0; until ${aptGetCommand(['update'])}; do n=$((n+1)); [ $n -lt 5 ] || exit 1; sleep 15; done; } && touch ${APT_UPDATE_STAMP}`;
}

const bareName = (p: string) => p.split('=')[0]!.split(':')[0]!;

function listsProbe(a: Args): string | null {
  const lists = aptListsProbe({ age: a.update_max_age_s !== undefined, upgrade: a.upgrade === true });
  return lists || null;
}

export const aptStep: StepType<Args> = {
  id: 'apt',
  schema,
  fieldModes: {},
  probe: (a) =>
    [a.packages ? packagesProbe(a.packages.map(bareName)) : null, listsProbe(a)].filter(Boolean).join('; ') || null,
  decide(a, probed): Decision {
    const text = probed?.text ?? '';
    const states = parsePackages(text);
    const installed = (p: string) => states.get(bareName(p))?.installed === true;
    const packages = a.packages ?? [];
    if (a.state === 'absent') {
      const present = packages.filter(installed);
      if (!present.length) return { status: 'ok', reason: `not installed: ${packages.join(', ')}` };
      const cmd = aptGetCommand(['remove', '--', ...present]);
      return { status: 'change', reason: `remove ${present.join(', ')}`, script: cmd, display: [cmd] };
    }
    const lists = parseAptLists(text);
    const missing = packages.filter((p) => !installed(p));
    const stale = a.update_max_age_s !== undefined && (lists.ageS === null || lists.ageS > a.update_max_age_s);
    const refresh = stale || (a.update === true && missing.length > 0);
    // fresh lists may offer upgrades the old ones did not: after a refresh the upgrade runs
    const upgrade = a.upgrade === true && (lists.upgradable.length > 0 || refresh);
    const reasons: string[] = [];
    const cmds: string[] = [];
    if (refresh) {
      // update: true refreshes as part of installing (its reason is the install)
      if (stale)
        reasons.push(
          lists.ageS === null
            ? 'refresh the package lists (never refreshed by vps-provision)'
            : `refresh the package lists (${lists.ageS} s old, more than ${a.update_max_age_s})`,
        );
      cmds.push(aptUpdateCommand());
    }
    if (upgrade) {
      const n = lists.upgradable.length;
      reasons.push(
        n
          ? `upgrade ${n} package(s): ${lists.upgradable.slice(0, 8).join(', ')}${n > 8 ? ', ...' : ''}`
          : 'upgrade what the fresh lists offer',
      );
      cmds.push(aptGetCommand([...SAFE_UPGRADE_ARGS]));
    }
    if (missing.length) {
      reasons.push(`install ${missing.join(', ')}`);
      cmds.push(aptGetCommand(['install', ...(a.no_recommends ? ['--no-install-recommends'] : []), '--', ...missing]));
    }
    if (!cmds.length) {
      const parts = [
        packages.length
          ? `installed: ${packages.map((p) => `${bareName(p)} ${states.get(bareName(p))?.version}`).join(', ')}`
          : '',
        a.update_max_age_s !== undefined ? `package lists ${lists.ageS} s old (at most ${a.update_max_age_s})` : '',
        a.upgrade ? 'nothing to upgrade' : '',
      ].filter(Boolean);
      return { status: 'ok', reason: parts.join('; ') };
    }
    // maintainer scripts create files readable by all: not with the remote shell's umask 077
    const all = ['umask 022', ...cmds];
    return { status: 'change', reason: reasons.join('; '), script: all.join(' && '), display: all };
  },
};
