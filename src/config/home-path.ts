// `~` and `~/...` as ssh and the inventory read them: the user's home folder. `~user` is
// not expanded here (ssh_config's own rules for it live in config/ssh-config-resolver.ts).
import { homedir } from 'node:os';

export function expandHome(path: string, home: string = homedir()): string {
  return path === '~' || path.startsWith('~/') ? home + path.slice(1) : path;
}
