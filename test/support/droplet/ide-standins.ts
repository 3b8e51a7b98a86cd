// Stand-ins for the IDE vendors' servers, which are unreachable from the test machine:
// tiny .deb packages for `code`, `cursor` and `antigravity` (each installs /usr/bin/<name>,
// a script printing a version, and depends on real desktop libraries like the real IDEs),
// two apt repositories signed with throwaway GPG keys made at run time (one for `code`,
// one for `antigravity`), and the Cursor .deb as a plain download. Everything is built in
// a temp dir and served over HTTP from the host side of the droplets' bridge.
//
// Repository layout, as a `deb [signed-by=/etc/apt/keyrings/X.gpg] <repo>` line expects:
//   <base>/code/dists/stable/{Release,InRelease,Release.gpg}
//   <base>/code/dists/stable/main/binary-amd64/Packages(.gz)
//   <base>/code/pool/main/code_<version>_amd64.deb
//   <base>/code/key.asc (ASCII-armoured public key) and key.gpg (binary)
// and the same under <base>/antigravity with suite "antigravity-debian" (Google's name).
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runOk, runSyncQuiet } from './host-exec.js';
import { acquireService, releaseLease, setServicePort, HOST_ADDRESS, type ServiceLease } from './host-state.js';

export interface IdeStandins {
  /** http://10.201.0.1:PORT */
  baseUrl: string;
  /** ASCII-armoured key (like Microsoft's microsoft.asc). */
  vscodeKeyUrl: string;
  vscodeKeyBinaryUrl: string;
  /** "http://10.201.0.1:PORT/code stable main": URL, suite, component, as in a sources line. */
  vscodeRepo: string;
  cursorDebUrl: string;
  cursorDebSha256: string;
  /** Binary key (like Google's repo-signing-key.gpg). */
  antigravityKeyUrl: string;
  antigravityKeyArmoredUrl: string;
  /** "http://10.201.0.1:PORT/antigravity antigravity-debian main". */
  antigravityRepo: string;
  /** The same, as the default phases' inventory variables (vscode_key_url, ...). */
  vars: Record<string, string>;
  /** Package versions served, by package name. */
  versions: Record<'code' | 'cursor' | 'antigravity', string>;
  /** Paths requested so far ("GET /code/dists/stable/InRelease"), for assertions. */
  requests: string[];
  /** Stops the server and deletes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StandinOptions {
  /** Address to serve on; default 10.201.0.1 (the host side of the droplets' bridge). */
  host?: string;
  /** TCP port; default: any free one. */
  port?: number;
}

// Libraries a real Electron IDE needs on Debian 13 (t64 names since trixie; the
// alternatives keep the packages installable on Debian 12 / Ubuntu 24.04 too).
const ELECTRON_DEPENDS = [
  'libgtk-3-0t64 | libgtk-3-0',
  'libnss3',
  'libasound2t64 | libasound2',
  'libxss1',
  'libsecret-1-0',
  'libxkbfile1',
  'libgbm1',
  'xdg-utils',
];

const PACKAGES = {
  code: { version: '1.99.3-1744761595', depends: ELECTRON_DEPENDS },
  cursor: { version: '1.0.0', depends: ELECTRON_DEPENDS.filter((d) => d !== 'libxkbfile1') },
  antigravity: { version: '1.11.2-1762000000', depends: ELECTRON_DEPENDS },
} as const;

type PackageName = keyof typeof PACKAGES;

/** Builds the packages and repositories into a temp dir and serves them. */
export async function startIdeStandins(opts: StandinOptions = {}): Promise<IdeStandins> {
  const dir = mkdtempSync(join(tmpdir(), 'vpsprov-ide-'));
  let lease: ServiceLease | null = null;
  let server: Server | null = null;
  try {
    const www = join(dir, 'www');
    const debs = await buildPackages(join(dir, 'build'));
    await buildSignedRepo(dir, join(www, 'code'), 'stable', [debs.code], 'Visual Studio Code stand-in');
    await buildSignedRepo(
      dir,
      join(www, 'antigravity'),
      'antigravity-debian',
      [debs.antigravity],
      'Antigravity stand-in',
    );
    const cursorDeb = join(www, 'cursor', `cursor_${PACKAGES.cursor.version}_amd64.deb`);
    mkdirSync(join(www, 'cursor'), { recursive: true });
    writeFileSync(cursorDeb, readFileSync(debs.cursor));

    const host = opts.host ?? HOST_ADDRESS;
    // The bridge must be up before we can bind its address; the lease keeps it up.
    if (host === HOST_ADDRESS) lease = await acquireService();
    const requests: string[] = [];
    server = await serveStatic(www, host, opts.port ?? 0, requests);
    const port = (server.address() as AddressInfo).port;
    if (lease) await setServicePort(lease, port);
    return describe(`http://${host}:${port}`, sha256(cursorDeb), requests, stopper(server, lease, dir));
  } catch (err) {
    await stopper(server, lease, dir)();
    throw err;
  }
}

function describe(base: string, cursorSha: string, requests: string[], stop: () => Promise<void>): IdeStandins {
  const s = {
    baseUrl: base,
    vscodeKeyUrl: `${base}/code/key.asc`,
    vscodeKeyBinaryUrl: `${base}/code/key.gpg`,
    vscodeRepo: `${base}/code stable main`,
    cursorDebUrl: `${base}/cursor/cursor_${PACKAGES.cursor.version}_amd64.deb`,
    cursorDebSha256: cursorSha,
    antigravityKeyUrl: `${base}/antigravity/key.gpg`,
    antigravityKeyArmoredUrl: `${base}/antigravity/key.asc`,
    antigravityRepo: `${base}/antigravity antigravity-debian main`,
  };
  return {
    ...s,
    vars: {
      vscode_key_url: s.vscodeKeyUrl,
      vscode_repo: s.vscodeRepo,
      vscode_package: 'code',
      cursor_deb_url: s.cursorDebUrl,
      cursor_deb_sha256: s.cursorDebSha256,
      cursor_package: 'cursor',
      antigravity_key_url: s.antigravityKeyUrl,
      antigravity_repo: s.antigravityRepo,
      antigravity_package: 'antigravity',
    },
    versions: {
      code: PACKAGES.code.version,
      cursor: PACKAGES.cursor.version,
      antigravity: PACKAGES.antigravity.version,
    },
    requests,
    stop,
  };
}

function stopper(server: Server | null, lease: ServiceLease | null, dir: string): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  return () => {
    stopping ??= (async () => {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      if (lease) await releaseLease(lease);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
}

// ---------------------------------------------------------------- packages

/** Builds the three .deb files; returns their paths. */
async function buildPackages(buildDir: string): Promise<Record<PackageName, string>> {
  const out = {} as Record<PackageName, string>;
  for (const name of Object.keys(PACKAGES) as PackageName[]) {
    out[name] = await buildDeb(buildDir, name, PACKAGES[name].version, PACKAGES[name].depends);
  }
  return out;
}

async function buildDeb(buildDir: string, name: string, version: string, depends: readonly string[]): Promise<string> {
  const root = join(buildDir, name);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN/control'),
    [
      `Package: ${name}`,
      `Version: ${version}`,
      'Architecture: amd64',
      'Maintainer: vps-provision tests <tests@vps-provision.invalid>',
      `Depends: ${depends.join(', ')}`,
      'Section: devel',
      'Priority: optional',
      `Description: stand-in for the ${name} IDE (vps-provision tests)`,
      ` Installs /usr/bin/${name}, which prints its version like the real one.`,
      '',
    ].join('\n'),
  );
  // `code --version` prints version, commit and architecture on three lines.
  const upstream = version.split('-')[0];
  writeFileSync(join(root, `usr/bin/${name}`), `#!/bin/sh\nprintf '%s\\n' '${upstream}' 'standin' 'x64'\n`);
  chmodSync(join(root, `usr/bin/${name}`), 0o755);
  const deb = join(buildDir, `${name}_${version}_amd64.deb`);
  await runOk('dpkg-deb', ['--root-owner-group', '--build', root, deb], { timeoutMs: 60_000 });
  return deb;
}

// ---------------------------------------------------------------- signed repositories

/** Makes an apt repository <repoDir> with one suite and component "main", signed by a fresh key. */
async function buildSignedRepo(
  workDir: string,
  repoDir: string,
  suite: string,
  debs: string[],
  label: string,
): Promise<void> {
  const pool = join(repoDir, 'pool', 'main');
  const binDir = join(repoDir, 'dists', suite, 'main', 'binary-amd64');
  mkdirSync(pool, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  for (const deb of debs) writeFileSync(join(pool, deb.split(sep).pop()!), readFileSync(deb));

  // Paths in Packages are relative to the repository root (what the sources line names).
  const packages = await runOk('apt-ftparchive', ['packages', 'pool'], { cwd: repoDir, timeoutMs: 60_000 });
  writeFileSync(join(binDir, 'Packages'), packages);
  writeFileSync(join(binDir, 'Packages.gz'), gzipSync(packages));
  const release = await runOk(
    'apt-ftparchive',
    [
      '-o',
      `APT::FTPArchive::Release::Origin=${label}`,
      '-o',
      `APT::FTPArchive::Release::Label=${label}`,
      '-o',
      `APT::FTPArchive::Release::Suite=${suite}`,
      '-o',
      `APT::FTPArchive::Release::Codename=${suite}`,
      '-o',
      'APT::FTPArchive::Release::Architectures=amd64',
      '-o',
      'APT::FTPArchive::Release::Components=main',
      'release',
      `dists/${suite}`,
    ],
    { cwd: repoDir, timeoutMs: 60_000 },
  );
  const releaseFile = join(repoDir, 'dists', suite, 'Release');
  writeFileSync(releaseFile, release);
  await signWithThrowawayKey(join(workDir, `gnupg-${suite}`), repoDir, releaseFile, label);
}

/**
 * Generates a GPG key in a private GNUPGHOME, signs Release (InRelease + Release.gpg),
 * exports the public key (key.asc and key.gpg), then stops gpg-agent and deletes the
 * secret key: it lives only for the time of this build.
 */
async function signWithThrowawayKey(home: string, repoDir: string, releaseFile: string, label: string): Promise<void> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[]) => runOk('gpg', ['--batch', '--quiet', '--no-tty', ...args], { env, timeoutMs: 60_000 });
  try {
    await gpg([
      '--passphrase',
      '',
      '--quick-gen-key',
      `${label} <standin@vps-provision.invalid>`,
      'ed25519',
      'sign',
      '2d',
    ]);
    const fpr = (await gpg(['--with-colons', '--list-secret-keys']))
      .split('\n')
      .find((l) => l.startsWith('fpr:'))
      ?.split(':')[9];
    if (!fpr) throw new Error('gpg made no key');
    const dists = join(releaseFile, '..');
    await gpg([
      '--yes',
      '--local-user',
      fpr,
      '--digest-algo',
      'SHA512',
      '--clearsign',
      '-o',
      join(dists, 'InRelease'),
      releaseFile,
    ]);
    await gpg([
      '--yes',
      '--local-user',
      fpr,
      '--digest-algo',
      'SHA512',
      '--armor',
      '--detach-sign',
      '-o',
      join(dists, 'Release.gpg'),
      releaseFile,
    ]);
    await gpg(['--yes', '--armor', '--output', join(repoDir, 'key.asc'), '--export', fpr]);
    await gpg(['--yes', '--output', join(repoDir, 'key.gpg'), '--export', fpr]);
  } finally {
    runSyncQuiet('gpgconf', ['--kill', 'all'], { env, timeoutMs: 10_000 }); // the agent gpg started
    rmSync(home, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- HTTP

/** A static file server for GET/HEAD; nothing outside `root` is served. */
function serveStatic(root: string, host: string, port: number, requests: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(`${req.method} ${urlPath}`);
    const file = normalize(join(root, urlPath));
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !file.startsWith(root + sep)) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end();
      return;
    }
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': size, 'Content-Type': contentType(file) });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.unref(); // never keeps a test process alive on its own
      resolve(server);
    });
  });
}

function contentType(file: string): string {
  if (file.endsWith('.deb')) return 'application/vnd.debian.binary-package';
  if (file.endsWith('.asc') || file.endsWith('Release') || file.endsWith('Packages')) return 'text/plain';
  return 'application/octet-stream';
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
