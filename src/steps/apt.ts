// apt: packages installed (or removed); the package cache refreshed first when asked.
import { z } from 'zod';
import { sh } from '../shell/sh.js';
import { packagesProbe, parsePackages } from '../facts/packages.js';
import type { StepType } from './step-type.js';

const pkg = z.string().regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?$/, 'a Debian package name');
const schema = z.strictObject({
  packages: z.array(pkg).min(1),
  state: z.enum(['present', 'absent']).optional(),
  update: z.boolean().optional(),
  no_recommends: z.boolean().optional(),
});
type Args = z.infer<typeof schema>;

/**
 * An apt-get command line, serialised on the host: phases running in parallel take
 * turns on one lock file (apt's own lists lock does not wait), and apt itself waits
 * for the dpkg lock held by anything else (unattended-upgrades).
 */
export function aptGetCommand(args: readonly string[]): string {
  return sh`DEBIAN_FRONTEND=noninteractive ${['flock', '-w', '1800', '/run/lock/vps-provision-apt.lock', 'apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=600', ...args]}`.text;
}

const bareName = (p: string) => p.split('=')[0]!.split(':')[0]!;

export const aptStep: StepType<Args> = {
  id: 'apt',
  schema,
  fieldModes: {},
  probe: (a) => packagesProbe(a.packages.map(bareName)),
  decide(a, probed) {
    const states = parsePackages(probed?.text ?? '');
    const installed = (p: string) => states.get(bareName(p))?.installed === true;
    if (a.state === 'absent') {
      const present = a.packages.filter(installed);
      if (!present.length) return { status: 'ok', reason: `not installed: ${a.packages.join(', ')}` };
      const cmd = aptGetCommand(['remove', '--', ...present]);
      return { status: 'change', reason: `remove ${present.join(', ')}`, script: cmd, display: [cmd] };
    }
    const missing = a.packages.filter((p) => !installed(p));
    if (!missing.length) {
      const versions = a.packages.map((p) => `${bareName(p)} ${states.get(bareName(p))?.version}`);
      return { status: 'ok', reason: `installed: ${versions.join(', ')}` };
    }
    const cmds = [
      ...(a.update ? [aptGetCommand(['update'])] : []),
      aptGetCommand(['install', ...(a.no_recommends ? ['--no-install-recommends'] : []), '--', ...missing]),
    ];
    return { status: 'change', reason: `install ${missing.join(', ')}`, script: cmds.join(' && '), display: cmds };
  },
};
