// A real RDP login the way the product offers it by default (rdp_access tunnel: xrdp on the
// host's loopback): `vps-provision connect --no-launch` holds an SSH tunnel and prints its
// local port, xfreerdp logs in through it until `sessionUp` says the desktop runs, then
// Ctrl-C closes the tunnel. Shared by the droplet tests and the manual workstation run.
import { spawnCli } from './cli.js';
import { findRdpClient, rdpLogin } from './rdp-login.js';

export interface TunnelLoginOptions {
  /** connect's arguments after `connect` (host name, -i inventory, ...) */
  args: string[];
  env: NodeJS.ProcessEnv;
  user: string;
  password: string;
  /** polled while the client runs: true once the desktop session is up */
  sessionUp: () => Promise<boolean>;
  timeoutMs: number;
}

export interface TunnelLogin {
  ok: boolean;
  /** from the client's start to the session seen (or to giving up) */
  elapsedMs: number;
  /** connect's exit code after Ctrl-C (130), null when it was not reached */
  connectExit: number | null;
  /** what connect printed */
  out: string;
  err: string;
  /** the RDP client's output, or why no login was tried */
  clientOutput: string;
}

export async function rdpThroughConnect(o: TunnelLoginOptions): Promise<TunnelLogin> {
  const client = findRdpClient();
  if ('missing' in client)
    return { ok: false, elapsedMs: 0, connectExit: null, out: '', err: '', clientOutput: client.missing };
  const child = spawnCli(['connect', ...o.args, '--no-launch'], o.env);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  try {
    const deadline = Date.now() + Math.min(o.timeoutMs, 60_000);
    while (!/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 200));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    if (!port) return { ok: false, elapsedMs: 0, connectExit: null, out, err, clientOutput: 'connect printed no port' };
    const login = await rdpLogin(client, {
      address: '127.0.0.1',
      port,
      user: o.user,
      password: o.password,
      until: o.sessionUp,
      timeoutMs: o.timeoutMs,
    });
    child.kill('SIGINT');
    const connectExit = await exited;
    return { ok: login.ok, elapsedMs: login.elapsedMs, connectExit, out, err, clientOutput: login.output };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
