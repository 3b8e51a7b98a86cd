// Fake droplets ready to be provisioned with the default playbooks (playbooks/): booted
// droplets, the stand-in IDE servers, a client key, known_hosts pinned to the droplets'
// host keys, an inventory, and an XDG_CONFIG_HOME of their own (where the generated
// passwords land), all in one temp folder. Shared by the end-to-end test and the scripts
// that run the lean profile, several droplets, or keep a droplet up while developing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeClientKey, type ClientKey } from './local-sshd.js';
import { runCli, REPO, type CliResult } from './cli.js';
import { rdpThroughConnect, type TunnelLogin } from './tunnel-login.js';
import { startDroplets, stopAll, type DebianRelease, type FakeDroplet } from './droplet/fake-droplet.js';
import { startIdeStandins, type IdeStandins } from './droplet/ide-standins.js';

export const PLAYBOOKS = join(REPO, 'playbooks');

export interface WorkstationOptions {
  count?: number;
  profile?: 'full' | 'lean';
  /** Debian release of the droplets (default trixie, Debian 13) */
  release?: DebianRelease;
  namePrefix?: string;
  developerUser?: string;
  /** more inventory vars for every host (e.g. rdp_access) */
  vars?: Record<string, string | number | boolean>;
  log?: (line: string) => void;
}

interface RemoteRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Workstations {
  dir: string;
  key: ClientKey;
  droplets: FakeDroplet[];
  standins: IdeStandins;
  names: string[];
  developerUser: string;
  inventoryPath: string;
  knownHostsPath: string;
  /** XDG_CONFIG_HOME of the CLI runs: credentials/<host>/<user> lands under it */
  configHome: string;
  /** --reports-dir of the CLI runs: reports/<run-id>/ of each run */
  reportsDir: string;
  /** Runs the real CLI with this inventory and the default playbooks (or others); wallMs is its wall time. */
  cli(args: string[], timeoutMs: number, playbooks?: string): Promise<CliResult & { wallMs: number }>;
  /** The generated password saved for host i's developer user (line 1 of the credentials file). */
  password(i: number): string;
  credentialsPath(i: number): string;
  /** OpenSSH's client, with this key and known_hosts only (bounded). */
  ssh(i: number, user: string, command: string, timeoutMs?: number): Promise<RemoteRun>;
  /**
   * A real RDP login to host i as the product offers it by default (rdp_access tunnel):
   * `connect --no-launch` holds the tunnel, xfreerdp logs in through it until the
   * developer's xfce4-session runs; then Ctrl-C closes the tunnel.
   */
  loginThroughConnect(i: number, timeoutMs: number): Promise<TunnelLogin>;
  stop(): Promise<void>;
}

/** Boots the droplets and stand-ins and writes the inventory; stops what started when a part fails. */
export async function startWorkstations(opts: WorkstationOptions = {}): Promise<Workstations> {
  const count = opts.count ?? 1;
  const developerUser = opts.developerUser ?? 'devuser';
  const dir = mkdtempSync(join(tmpdir(), 'vpsprov-ws-'));
  const configHome = join(dir, 'config');
  mkdirSync(configHome, { mode: 0o700 });
  const key = makeClientKey(dir);
  let standins: IdeStandins | undefined;
  try {
    const droplets = await startDroplets(count, {
      authorizedKey: key.publicKey,
      namePrefix: opts.namePrefix ?? 'vpsprov-ws',
      release: opts.release,
      log: opts.log,
    });
    standins = await startIdeStandins();
    const names = droplets.map((d) => d.name);
    const knownHostsPath = join(dir, 'known_hosts');
    writeFileSync(knownHostsPath, droplets.map((d) => d.knownHostsLine).join('\n') + '\n');
    const inventoryPath = join(dir, 'inventory.yml');
    writeFileSync(
      inventoryPath,
      stringify({
        host_key_policy: 'strict',
        known_hosts_file: knownHostsPath,
        defaults: {
          user: 'root',
          identity_file: key.privateKeyPath,
          vars: {
            developer_user: developerUser,
            // developer_ssh_key is left to its default: the public half of identity_file (key.publicKey)
            desktop_profile: opts.profile ?? 'full',
            ...standins.vars,
            ...opts.vars,
          },
        },
        hosts: Object.fromEntries(droplets.map((d) => [d.name, { address: d.address }])),
      }),
    );
    const env = { XDG_CONFIG_HOME: configHome };
    const reportsDir = join(dir, 'reports');
    const credentialsPath = (i: number) => join(configHome, 'vps-provision', 'credentials', names[i]!, developerUser);
    const ws: Workstations = {
      dir,
      key,
      droplets,
      standins,
      names,
      developerUser,
      inventoryPath,
      knownHostsPath,
      configHome,
      reportsDir,
      async cli(args, timeoutMs, playbooks = PLAYBOOKS) {
        const started = Date.now();
        const r = await runCli([...args, '-i', inventoryPath, '--playbooks', playbooks, '--reports-dir', reportsDir], {
          env,
          timeoutMs,
        });
        return { ...r, wallMs: Date.now() - started };
      },
      credentialsPath,
      password: (i) => readFileSync(credentialsPath(i), 'utf8').split('\n')[0]!,
      ssh(i, user, command, timeoutMs = 60_000) {
        const d = droplets[i]!;
        const args = [
          '-i',
          key.privateKeyPath,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          `UserKnownHostsFile=${knownHostsPath}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'BatchMode=yes',
          '-o',
          'ConnectTimeout=15',
          '-F',
          '/dev/null',
          '-p',
          String(d.sshPort),
          `${user}@${d.address}`,
          command,
        ];
        return new Promise((resolve) => {
          execFile('ssh', args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
            const code = err
              ? typeof (err as { code?: unknown }).code === 'number'
                ? (err as { code: number }).code
                : null
              : 0;
            resolve({ code, stdout, stderr });
          });
        });
      },
      loginThroughConnect: (i, timeoutMs) =>
        rdpThroughConnect({
          args: [names[i]!, '-i', inventoryPath, '--playbooks', PLAYBOOKS],
          env,
          user: developerUser,
          password: ws.password(i),
          sessionUp: async () =>
            (await ws.ssh(i, 'root', `pgrep -u ${developerUser} -x xfce4-session`, 20_000)).code === 0,
          timeoutMs,
        }),
      async stop() {
        await standins?.stop();
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return ws;
  } catch (err) {
    await standins?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
