// Generated passwords (user steps with `password: generated`): made once per host and
// user with a CSPRNG, kept on the laptop in ~/.config/vps-provision/credentials/<host>/<user>
// (XDG_CONFIG_HOME honoured; folders 0700, file 0600, the password alone on line 1),
// and handed to the engine wrapped in a Secret so no printer can show it.
import { randomBytes, randomInt } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  writeSync,
  chmodSync,
  existsSync,
  renameSync,
  openSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  unlinkSync,
  constants,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../shell/secret.js';
import type { GeneratedPassword } from '../steps/user.js';
import type { RunContext } from './run-context.js';

// letters and digits without look-alikes (0/O, 1/l/I), plus two symbols RDP clients type safely
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_';
export const PASSWORD_LENGTH = 24;

export function credentialsDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'vps-provision', 'credentials');
}

export function generatePassword(length = PASSWORD_LENGTH): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** The saved password of host+user, made and saved first when there is none. */
export function ensurePassword(
  host: string,
  user: string,
  env: NodeJS.ProcessEnv = process.env,
  create = true,
): GeneratedPassword {
  const dir = join(credentialsDir(env), host);
  const path = join(dir, user);
  if (existsSync(path)) {
    // a saved password left readable by others (copied in by hand, an older version) is made private
    try {
      chmodSync(path, 0o600);
    } catch {
      /* not ours to change: read it all the same */
    }
    const saved = readFileSync(path, 'utf8').split('\n')[0]!;
    if (saved.length >= 20) return { secret: new Secret(saved), fresh: false, path };
  }
  // a plan changes nothing, here either: it only says a password would be made
  if (!create) return { secret: new Secret(''), fresh: true, path };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const d of [join(credentialsDir(env), '..'), credentialsDir(env), dir]) chmodSync(d, 0o700);
  const password = generatePassword();
  writePrivateFile(path, `${password}\n`);
  return { secret: new Secret(password), fresh: true, path };
}

/**
 * Writes a 0600 file through a temp file of our own: created here (O_EXCL, so neither a
 * leftover file with a loose mode nor a symlink planted in its place is ever written
 * through) and set to 0600 on the open descriptor before the secret goes in; then renamed.
 */
export function writePrivateFile(path: string, text: string): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Replace every `password: generated` of the context's user steps with the host's saved password. */
export function attachGeneratedPasswords(
  ctx: RunContext,
  create: boolean,
  env: NodeJS.ProcessEnv = process.env,
): { host: string; user: string; path: string }[] {
  const made: { host: string; user: string; path: string }[] = [];
  for (const { host, phases } of ctx.hosts) {
    for (const phase of phases) {
      for (const step of phase.steps) {
        const args = step.args as { name?: string; password?: unknown };
        if (step.type.id !== 'user' || args.password !== 'generated') continue;
        const pw = ensurePassword(host.name, args.name!, env, create);
        step.args = { ...args, password: pw };
        // a fresh password must reach the host: the phase may not be skipped by its checkpoint
        if (pw.fresh) phase.hash = `${phase.hash}-new-password`;
        made.push({ host: host.name, user: args.name!, path: pw.path });
      }
    }
  }
  return made;
}
