// The fake-droplet harness end to end: one Debian 13 droplet booted with systemd-nspawn,
// reached over SSH (ssh2) with a key made now and its host key pinned, apt through the
// NAT / apt-cacher-ng, a stand-in IDE repository, and a clean machine after stop().
// Needs root and the host packages listed in test/support/droplet/README.md. The first
// run builds the rootfs (about a minute); set VPSPROV_SKIP_DROPLET_TESTS=1 to skip.
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import ssh2, { Client } from 'ssh2';
import {
  HOST_ADDRESS,
  hostNetworkState,
  startDroplets,
  stopAll,
  type FakeDroplet,
} from '../support/droplet/fake-droplet.js';
import { startIdeStandins, type IdeStandins } from '../support/droplet/ide-standins.js';

const skip = process.env.VPSPROV_SKIP_DROPLET_TESTS === '1';
const describeDroplet = skip ? describe.skip : describe;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one command on the droplet (bounded); a non-zero exit is returned, not thrown. */
function exec(client: Client, command: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${command}`)), timeoutMs);
    client.exec(command, (err, stream) => {
      if (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('close', (code: number | null) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  });
}

/** Like exec, but fails the test with the command's output unless it exits 0. */
async function must(client: Client, command: string, timeoutMs?: number): Promise<string> {
  const r = await exec(client, command, timeoutMs);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${command}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** Connects as root, accepting only the droplet's own ed25519 host key. */
function connectRoot(droplet: FakeDroplet, privateKey: string): Promise<Client> {
  const expected = Buffer.from(droplet.hostPublicKey.split(' ')[1]!, 'base64');
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on('ready', () => resolve(client))
      .on('error', reject)
      .connect({
        host: droplet.address,
        port: droplet.sshPort,
        username: 'root',
        privateKey,
        readyTimeout: 20_000,
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => key.equals(expected),
      });
    client.setNoDelay(true);
  });
}

const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=60';

describeDroplet('fake droplet', () => {
  const keys = ssh2.utils.generateKeyPairSync('ed25519');
  const timings: Record<string, number> = {};
  let droplet: FakeDroplet;
  let client: Client;
  let standins: IdeStandins | undefined;

  beforeAll(async () => {
    const started = Date.now();
    [droplet] = await startDroplets(1, { authorizedKey: keys.public, namePrefix: 'vpsprov-test' });
    timings.startMs = Date.now() - started;
    timings.untarMs = droplet.timings.untarMs;
    timings.bootMs = droplet.timings.bootMs;
    client = await connectRoot(droplet, keys.private);
  }, 600_000); // may build the rootfs first

  afterAll(async () => {
    client?.end();
    await standins?.stop();
    await stopAll();
    process.stderr.write(`fake-droplet timings (ms): ${JSON.stringify(timings)}\n`);
  }, 180_000);

  test('boots Debian 13 with systemd as PID 1 and its own identity', async () => {
    const state = (await exec(client, 'timeout 60 systemctl is-system-running --wait')).stdout.trim();
    expect(['running', 'degraded']).toContain(state);
    expect(await must(client, 'cat /proc/1/comm')).toBe('systemd\n');
    expect(await must(client, '. /etc/os-release && echo $ID $VERSION_ID')).toBe('debian 13\n');
    expect((await must(client, 'hostname')).trim()).toBe(droplet.name);
    expect(await must(client, 'ip -4 -o addr show dev eth0')).toContain(`${droplet.address}/24`);
    expect((await must(client, 'cat /etc/machine-id')).trim()).toMatch(/^[0-9a-f]{32}$/);
  }, 90_000);

  test('reaches Debian only: apt installs through the NAT / apt cache, other ports are dropped', async () => {
    let t = Date.now();
    await must(client, `${APT} update`, 180_000);
    timings.aptUpdateMs = Date.now() - t;
    t = Date.now();
    await must(client, `${APT} install hello`, 180_000);
    timings.aptInstallHelloMs = Date.now() - t;
    expect(await must(client, 'hello')).toContain('Hello, world!');
    // Directly through the NAT (no proxy): Debian's mirror answers...
    const mirror = await exec(
      client,
      'curl -sS -o /dev/null -w "%{http_code}" --max-time 20 http://deb.debian.org/debian/dists/trixie/Release',
    );
    expect(mirror.stdout).toBe('200');
    // ...but only on its web ports: anything else is dropped (a time-out, not a refusal).
    const otherPort = await exec(client, 'curl -sS -o /dev/null --max-time 3 http://deb.debian.org:8080/');
    expect(otherPort.code).toBe(28);
    // The test machine itself is reachable only on the ports leased for the droplets.
    const hostSsh = await exec(client, `timeout 3 bash -c 'exec 3<>/dev/tcp/${HOST_ADDRESS}/22' </dev/null`);
    expect(hostSsh.code).toBe(124);
  }, 420_000);

  test('installs the stand-in IDEs from signed repositories and a .deb', async () => {
    standins = await startIdeStandins();
    const s = standins;
    const t = Date.now();
    // VSCode: binary key, as the apt_repo step stores it.
    await must(
      client,
      [
        'install -d -m 0755 /etc/apt/keyrings',
        `curl -fsS --max-time 20 -o /etc/apt/keyrings/vscode.gpg ${s.vscodeKeyBinaryUrl}`,
        `echo "deb [signed-by=/etc/apt/keyrings/vscode.gpg] ${s.vscodeRepo}" > /etc/apt/sources.list.d/vscode.list`,
        // Antigravity: the ASCII-armoured key works as a .asc keyring too.
        `curl -fsS --max-time 20 -o /etc/apt/keyrings/antigravity.asc ${s.antigravityKeyArmoredUrl}`,
        `echo "deb [signed-by=/etc/apt/keyrings/antigravity.asc] ${s.antigravityRepo}" > /etc/apt/sources.list.d/antigravity.list`,
      ].join(' && '),
    );
    await must(client, `${APT} update`, 180_000);
    await must(client, `${APT} install --no-install-recommends code antigravity`, 300_000);
    await must(
      client,
      `curl -fsS --max-time 20 -o /tmp/cursor.deb ${s.cursorDebUrl} && echo "${s.cursorDebSha256}  /tmp/cursor.deb" | sha256sum -c - && ${APT} install --no-install-recommends /tmp/cursor.deb`,
      300_000,
    );
    timings.ideInstallMs = Date.now() - t;
    expect((await must(client, 'code --version')).split('\n')[0]).toBe(s.versions.code.split('-')[0]);
    expect(await must(client, 'antigravity --version')).toContain(s.versions.antigravity.split('-')[0]);
    expect(await must(client, 'cursor --version')).toContain(s.versions.cursor);
    expect(await must(client, "dpkg-query -W -f='${Status}' libgtk-3-0t64")).toBe('install ok installed');
    expect(s.requests).toContain('GET /code/dists/stable/InRelease');
    // The repository signed by another key is refused: apt must not take unsigned indexes.
    const wrongKey = await exec(
      client,
      `sed -i 's#keyrings/vscode.gpg#keyrings/antigravity.asc#' /etc/apt/sources.list.d/vscode.list && ${APT} update; ` +
        `sed -i 's#keyrings/antigravity.asc#keyrings/vscode.gpg#' /etc/apt/sources.list.d/vscode.list`,
      180_000,
    );
    expect(wrongKey.stdout + wrongKey.stderr).toMatch(/NO_PUBKEY|not signed|Missing key|signature/i);
  }, 600_000);

  test('stop() leaves no namespace, process, rootfs or (when last) firewall table behind', async () => {
    client.end();
    await standins?.stop();
    standins = undefined;
    const t = Date.now();
    await droplet.stop();
    timings.stopMs = Date.now() - t;
    expect(existsSync(`/run/netns/${droplet.name}`)).toBe(false);
    const nspawnRunning = (() => {
      try {
        return readlinkSync(`/proc/${droplet.pid}/exe`).includes('nspawn');
      } catch {
        return false; // no such process
      }
    })();
    expect(nspawnRunning).toBe(false);
    expect(droplet.pidNamespace).toMatch(/^pid:\[\d+\]$/);
    const leftovers = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readlinkSync(`/proc/${p}/ns/pid`) === droplet.pidNamespace;
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
    expect(existsSync(droplet.rootDir)).toBe(false);
    const host = hostNetworkState();
    // Another test process may be using droplets right now: the shared pieces stay up then.
    if (host.leases === 0) {
      expect(host.nftTable).toBe(false);
      expect(host.bridge).toBe(false);
    }
  }, 120_000);
});
