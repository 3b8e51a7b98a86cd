// user: the account, its shell and groups, its authorized keys and a checked sudo drop-in.
import * as z from '../zod.js';
import { sh, join } from '../shell/sh.js';
import { atomicWrite, sha256 } from '../shell/file-commands.js';
import { userStateProbe, parseUserState, sudoersPath } from '../facts/user-state.js';
import type { StepType } from './step-type.js';
import { Secret } from '../shell/secret.js';

/** A password made and saved by the controller (cli/credentials.ts) for `password: generated`. */
export interface GeneratedPassword {
  secret: Secret;
  /** made in this run: the host does not have it yet */
  fresh: boolean;
  /** where it is saved on the laptop */
  path: string;
}

const generatedPassword = z.custom<GeneratedPassword>(
  (v) => typeof v === 'object' && v !== null && (v as GeneratedPassword).secret instanceof Secret,
);

/** Debian's adduser default NAME_REGEX, without the trailing '$' of machine accounts. */
const LINUX_USER = /^[a-z][-a-z0-9_]{0,31}$/;

const schema = z.strictObject({
  name: z
    .string()
    .check(
      z.regex(
        LINUX_USER,
        'a Linux user name: lowercase letter first, then lowercase letters, digits, - or _, at most 32',
      ),
    ),
  shell: z.optional(z.string().check(z.regex(/^\/[A-Za-z0-9/._-]+$/, 'an absolute path to a shell'))),
  groups: z.optional(z.array(z.string().check(z.regex(LINUX_USER, 'a group name')))),
  authorized_keys: z.optional(
    z.array(z.string().check(z.regex(/^(ssh-|ecdsa-|sk-)[^\n]+$/, 'an OpenSSH public key line'))),
  ),
  sudo: z.optional(z.union([z.enum(['nopasswd', 'password']), z.boolean()])),
  // 'generated' in the YAML; the controller swaps in the saved password before the run
  password: z.optional(z.union([z.literal('generated'), generatedPassword])),
});
type Args = z.infer<typeof schema>;

function keysText(a: Args): string {
  return (a.authorized_keys ?? []).map((k) => k.trim()).join('\n') + '\n';
}

function sudoersText(a: Args): string {
  const rule = a.sudo === 'password' ? 'ALL=(ALL:ALL) ALL' : 'ALL=(ALL:ALL) NOPASSWD: ALL';
  return `# managed by vps-provision\n${a.name} ${rule}\n`;
}

export const userStep: StepType<Args> = {
  id: 'user',
  schema,
  fieldModes: {},
  probe: (a) => userStateProbe(a.name),
  decide(a, probed) {
    const s = parseUserState(probed?.text ?? 'absent');
    const cmds: string[] = [];
    const display: string[] = [];
    const why: string[] = [];
    const add = (script: string, shown: string[] = [script]) => {
      cmds.push(script);
      display.push(...shown);
    };
    const wantGroups = a.groups ?? [];
    const missingGroups = wantGroups.filter((g) => !s.groups.includes(g));
    if (!s.exists) {
      why.push('account absent');
      // groups are created when missing so the account can join them
      for (const g of wantGroups) add(sh`getent group ${g} >/dev/null || groupadd ${g}`.text);
      add(
        join([
          'useradd',
          '--create-home',
          '--user-group',
          ...(a.shell ? ['--shell', a.shell] : []),
          ...(wantGroups.length ? ['--groups', wantGroups.join(',')] : []),
          a.name,
        ]).text,
      );
    } else {
      if (a.shell && a.shell !== s.shell) {
        why.push(`shell ${s.shell} -> ${a.shell}`);
        add(sh`usermod --shell ${a.shell} ${a.name}`.text);
      }
      if (missingGroups.length) {
        why.push(`join ${missingGroups.join(', ')}`);
        for (const g of missingGroups) add(sh`getent group ${g} >/dev/null || groupadd ${g}`.text);
        add(sh`usermod --append --groups ${missingGroups.join(',')} ${a.name}`.text);
      }
    }
    if (a.authorized_keys) {
      const text = keysText(a);
      if (s.authorizedKeysSha256 !== sha256(text)) {
        why.push('authorized_keys differ');
        const home = sh`"$(getent passwd ${a.name} | cut -d: -f6)"`;
        add(
          join(
            [
              // a symlinked ~/.ssh could point anywhere (root's own): install -d would hand it to the user
              sh`h=${home} && { [ ! -L "$h/.ssh" ] || { echo "$h/.ssh is a symbolic link: refused (make it a real folder)" >&2; exit 1; }; } && `,
              sh`install -d -m 0700 -o ${a.name} -g "$(id -gn ${a.name})" "$h/.ssh" && `,
              sh`t=$(mktemp "$h/.ssh/.vpsp.XXXXXX") && printf '%s' ${text} > "$t" && chmod 0600 "$t" && `,
              sh`chown ${a.name} "$t" && mv -f "$t" "$h/.ssh/authorized_keys"`,
            ],
            '',
          ).text,
          [`write ${a.authorized_keys.length} key(s) to ~${a.name}/.ssh/authorized_keys (0600)`],
        );
      }
    }
    if (a.sudo) {
      const text = sudoersText(a);
      if (s.sudoersSha256 !== sha256(text)) {
        why.push('sudo drop-in differs');
        const w = atomicWrite(sudoersPath(a.name), text, {
          mode: '0440',
          owner: 'root',
          group: 'root',
          validate: ['visudo', '-c', '-q', '-f'],
        });
        add(w.script, w.display);
      }
    }
    if (a.password && typeof a.password === 'object') {
      const pw = a.password;
      if (pw.fresh || !s.exists || s.passwordStatus !== 'P') {
        why.push(pw.fresh ? 'new generated password' : `password ${s.passwordStatus ?? 'unset'} -> set`);
        // printf is a shell builtin: the password is in no process's argv; the script file is root-only
        add(sh`printf '%s:%s\\n' ${a.name} ${pw.secret.reveal()} | chpasswd`.text, [
          `set the password of ${a.name} with chpasswd (saved on this machine in ${pw.path})`,
        ]);
      }
    }
    if (!cmds.length)
      return {
        status: 'ok',
        reason: `${a.name} exists with shell ${s.shell}, groups ${s.groups.join(' ')}${a.password ? ', password set' : ''}`,
      };
    return { status: 'change', reason: why.join(', '), script: cmds.join(' &&\n'), display };
  },
};
