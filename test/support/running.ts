// How many processes on this machine match a pattern (pgrep -f): the tests' sshd targets run
// here, so a remote step that should be gone is looked for by its unique marker.
import { execFileSync } from 'node:child_process';

export function running(pattern: string): number {
  try {
    return execFileSync('pgrep', ['-f', pattern]).toString().trim().split('\n').filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}
