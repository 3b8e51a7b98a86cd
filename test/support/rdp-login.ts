// A real RDP login from the test machine: xfreerdp (Debian's freerdp2-x11) on a virtual X
// display (Xvfb), as the developer user with the saved password, kept up until the caller
// sees the desktop session on the droplet (or the time runs out), then stopped.
// Where the two programs are not installed, VPSPROV_RDP_CLIENT_ROOT may name a tree made by
// fetch-rdp-client.sh: it is overlaid on /usr in a private mount namespace of the client's
// own (needs root), so nothing on this machine changes.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface RdpClient {
  /** how to start a shell script with xfreerdp and Xvfb on its PATH */
  argv(script: string): [string, string[]];
  describe: string;
}

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The RDP client to use, or null with the reason. */
export function findRdpClient(env: NodeJS.ProcessEnv = process.env): RdpClient | { missing: string } {
  if (onPath('xfreerdp') && onPath('Xvfb'))
    return { describe: 'installed xfreerdp + Xvfb', argv: (s) => ['sh', ['-c', s]] };
  const root = env.VPSPROV_RDP_CLIENT_ROOT;
  if (root && existsSync(join(root, 'usr/bin/xfreerdp')) && existsSync(join(root, 'usr/bin/Xvfb'))) {
    const mount = `mount -t overlay overlay -o lowerdir=${join(root, 'usr')}:/usr /usr`;
    return {
      describe: `xfreerdp + Xvfb unpacked in ${root}`,
      argv: (s) => ['unshare', ['-m', 'sh', '-c', `${mount} && ${s}`]],
    };
  }
  return {
    missing:
      'xfreerdp and Xvfb are not installed (Debian packages freerdp2-x11 and xvfb), and VPSPROV_RDP_CLIENT_ROOT names no unpacked copy (test/support/fetch-rdp-client.sh)',
  };
}

/** A display number nobody uses on this machine. */
function freeDisplay(): number {
  for (let n = 90; n < 200; n++) if (!existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`)) return n;
  throw new Error('no free X display number in 90..199');
}

export interface RdpLoginOptions {
  address: string;
  port: number;
  user: string;
  password: string;
  /** polled every 2 s while the client runs: true ends the wait with success */
  until: () => Promise<boolean>;
  timeoutMs: number;
}

export interface RdpLoginResult {
  ok: boolean;
  elapsedMs: number;
  /** the client's output (the password is not in it: xfreerdp does not print it) */
  output: string;
}

export async function rdpLogin(client: RdpClient, o: RdpLoginOptions): Promise<RdpLoginResult> {
  const display = freeDisplay();
  // Xvfb dies with the script (trap); the process group is stopped from here at the end
  const script = [
    `Xvfb :${display} -nolisten tcp -screen 0 1280x800x24 2>&1 & x=$!`,
    `trap 'kill $x 2>/dev/null' EXIT`,
    `i=0; while [ ! -e /tmp/.X11-unix/X${display} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`,
    `DISPLAY=:${display} xfreerdp /v:${o.address}:${o.port} /u:"$RDP_USER" /p:"$RDP_PASSWORD" /cert:ignore /sec:tls /size:1280x800 /log-level:WARN`,
  ].join('\n');
  const [cmd, args] = client.argv(script);
  const started = Date.now();
  const child = spawn(cmd, args, {
    detached: true, // its own process group, so the client and Xvfb stop together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RDP_USER: o.user, RDP_PASSWORD: o.password },
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  let ok = false;
  try {
    while (!exited && Date.now() - started < o.timeoutMs) {
      await new Promise((r) => setTimeout(r, 2000));
      if (await o.until()) {
        ok = true;
        break;
      }
    }
  } finally {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (!exited)
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    }
  }
  return { ok, elapsedMs: Date.now() - started, output: output.split(o.password).join('[password]') };
}
