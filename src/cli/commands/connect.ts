// vps-provision connect <name>: the desktop through SSH (SPEC §8). A local port (--port, or a
// free one) is forwarded over the tool's own SSH connection to the droplet's
// 127.0.0.1:rdp_port; the platform's RDP client is started on it unless --no-launch; the
// tunnel is held until Ctrl-C (exit 130). The host is an inventory host of that name, else
// the droplet of that name with the tag.
import type { CommandModule } from 'yargs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { hostVars, type CommonArgs } from '../run-context.js';
import { cloudSettings, inventoryOrEmpty, openCloud } from '../cloud.js';
import { credentialsDir } from '../credentials.js';
import { loadPlaybook } from '../../config/playbook.js';
import { preparedConnector } from '../each-host.js';
import { forwardLocalPort } from '../../transport/port-forward.js';
import { ConfigError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';

interface Args extends CommonArgs {
  name: string;
  port?: number;
  launch: boolean;
  tag?: string;
}

/** The RDP client of this platform, as a command line (the password is never on it). */
export function rdpClientCommand(
  platform: NodeJS.Platform,
  port: number,
  user: string,
  onPath: (bin: string) => boolean,
): [string, string[]] | undefined {
  if (platform === 'darwin')
    return ['open', [`rdp://full%20address=s:127.0.0.1:${port}&username=s:${encodeURIComponent(user)}`]];
  if (platform === 'win32') return ['mstsc', [`/v:127.0.0.1:${port}`]];
  // the server's certificate is the droplet's own; the SSH host key already vouches for the far end
  if (onPath('xfreerdp'))
    return ['xfreerdp', [`/v:127.0.0.1:${port}`, `/u:${user}`, '/cert:tofu', '/dynamic-resolution']];
  if (onPath('remmina')) return ['remmina', ['-c', `rdp://${user}@127.0.0.1:${port}`]];
  return undefined;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)));
}

export const connectCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'inventory host or droplet name' })
      .option('port', { type: 'number', describe: 'local port (default: a free one)' })
      .option('launch', {
        type: 'boolean',
        default: true,
        describe: 'start the RDP client (--no-launch: print where to point one)',
      })
      .option('tag', { type: 'string', describe: 'droplet tag (default vps-provision)' }) as never,
  handler: async (args) => {
    if (args.port !== undefined && (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535))
      throw new ConfigError(`--port ${args.port} is not a TCP port`, '1-65535, or leave it out for a free one');
    const inv = inventoryOrEmpty(args.inventory);
    let host = inv.hosts.find((h) => h.name === args.name);
    if (!host) {
      const { tag } = cloudSettings(args, inv);
      const d = await (await openCloud()).findDroplet(args.name, tag);
      if (!d?.address)
        throw new ConfigError(
          `${args.name} is neither a host of ${inv.path} nor a droplet with the tag ${tag}${d ? ' that has an address yet' : ''}`,
          'vps-provision droplets lists the droplets; vps-provision up <name> makes one',
        );
      host = inv.newHost(d.name, d.address);
    }
    const vars = hostVars(inv, host, loadPlaybook(args.playbooks).vars);
    const rdpPort = Number(vars.rdp_port ?? 3389);
    const user = String(vars.developer_user ?? 'devuser');
    const connector = await preparedConnector({ ...inv, hosts: [host] }, args, [host.name]);
    const conn = await connector.connect(host.name);
    const fwd = await forwardLocalPort(conn, { host: '127.0.0.1', port: rdpPort }, args.port ?? 0, (m) =>
      process.stderr.write(`tunnel: ${m}\n`),
    );
    const passwordFile = join(credentialsDir(), host.name, user);
    process.stdout.write(
      [
        `RDP to ${host.name} through SSH: 127.0.0.1:${fwd.port}`,
        `user: ${user}`,
        `password: first line of ${passwordFile}${existsSync(passwordFile) ? '' : ' (not there: provision the host from this machine first)'}`,
        'Ctrl-C closes the tunnel',
        '',
      ].join('\n'),
    );
    if (args.launch) {
      const cmd = rdpClientCommand(process.platform, fwd.port, user, onPath);
      if (!cmd) process.stderr.write('no RDP client found (xfreerdp or remmina): point yours at the address above\n');
      else {
        const child = spawn(cmd[0], cmd[1], { stdio: 'ignore', detached: true });
        child.on('error', (e) => process.stderr.write(`could not start ${cmd[0]}: ${e.message}\n`));
        child.unref();
      }
    }
    const code = await new Promise<number>((resolve) => {
      const stop = () => resolve(EXIT.interrupted);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void conn.closed.then(() => {
        process.stderr.write(`the SSH connection to ${host!.name} closed\n`);
        resolve(EXIT.failed);
      });
    });
    await fwd.close();
    conn.close();
    process.stderr.write('tunnel closed\n');
    process.exitCode = code;
  },
};
