// service: a systemd unit enabled and running (or stopped); restarted when a named step changed.
import * as z from '../zod.js';
import { sh } from '../shell/sh.js';
import { serviceStateProbe, parseServiceState } from '../facts/service-state.js';
import type { StepType, Decision } from './step-type.js';

const schema = z.strictObject({
  // never starting with "-": a name must not read as a systemctl option
  name: z
    .string()
    .check(
      z.regex(
        /^[A-Za-z0-9][A-Za-z0-9@._:-]*$/,
        'a systemd unit name (a letter or digit first, then letters, digits, @ . _ : -)',
      ),
    ),
  enabled: z.optional(z.boolean()),
  state: z.optional(z.enum(['started', 'stopped'])),
  restart_on: z.optional(z.array(z.string().check(z.minLength(1)))),
});
type Args = z.infer<typeof schema>;

/** `--` ends systemctl's options: the unit name is never read as one. */
const systemctl = (verb: string, name: string) => sh`systemctl ${verb} -- ${name}`.text;

export const serviceStep: StepType<Args> = {
  id: 'service',
  schema,
  fieldModes: {},
  probe: (a) => serviceStateProbe(a.name),
  watches: (a) => a.restart_on ?? [],
  decide(a, probed): Decision {
    const s = parseServiceState(probed?.text ?? 'no-systemd');
    const restart = a.restart_on?.length
      ? {
          steps: a.restart_on,
          reason: `restart: ${a.restart_on.join(', ')} changed`,
          script: systemctl('restart', a.name),
          display: [systemctl('restart', a.name)],
        }
      : undefined;
    if (!s.systemd) {
      const msg = `echo 'systemctl not found: this host does not run systemd' >&2; exit 1`;
      return { status: 'change', reason: 'no systemd on this host', script: msg, display: ['(fails: no systemd)'] };
    }
    const cmds: string[] = [];
    const why: string[] = [];
    const isEnabled =
      s.enabled === 'enabled' || s.enabled === 'static' || s.enabled === 'alias' || s.enabled === 'indirect';
    if (a.enabled === true && !isEnabled) {
      cmds.push(systemctl('enable', a.name));
      why.push(`${s.enabled} -> enabled`);
    }
    if (a.enabled === false && s.enabled === 'enabled') {
      cmds.push(systemctl('disable', a.name));
      why.push('enabled -> disabled');
    }
    const running = s.active === 'active' || s.active === 'activating' || s.active === 'reloading';
    if (a.state === 'started' && !running) {
      cmds.push(systemctl('start', a.name));
      why.push(`${s.active} -> started`);
    }
    if (a.state === 'stopped' && running) {
      cmds.push(systemctl('stop', a.name));
      why.push(`${s.active} -> stopped`);
    }
    if (!cmds.length) return { status: 'ok', reason: `${a.name} is ${s.enabled} and ${s.active}`, onChanged: restart };
    // a unit just started does not also need the restart, and one just stopped must not get it
    const onChanged = (a.state === 'started' && !running) || (a.state === 'stopped' && running) ? undefined : restart;
    return { status: 'change', reason: why.join(', '), script: cmds.join(' && '), display: cmds, onChanged };
  },
};
