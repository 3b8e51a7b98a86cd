// What the download steps (deb, apt_repo) run on the host, run here for real: the curl
// command line against a local https server (a throwaway certificate made now) that
// redirects to plain http, and the apt_repo key_fingerprint check with gpg on keys made now
// in temp folders. Neither touches this machine's system files.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync, spawn } from 'node:child_process';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createServer as createHttp, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { curlDownload } from '../../src/steps/download.js';
import { keyFingerprintCheck } from '../../src/steps/apt-repo.js';

let dir: string;
let https: HttpsServer;
let http: Server;
let httpsPort: number;
let httpPort: number;
const httpHits: string[] = [];
const KEY_BODY = 'the key bytes\n';

const listen = (s: Server | HttpsServer) =>
  new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vps-dltrust-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  http = createHttp((req, res) => {
    httpHits.push(req.url ?? '');
    if (req.url === '/to-https')
      return void res.writeHead(302, { Location: `https://127.0.0.1:${httpsPort}/key` }).end();
    res.end(KEY_BODY);
  });
  https = createHttps(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      if (req.url === '/to-http')
        return void res.writeHead(302, { Location: `http://127.0.0.1:${httpPort}/key` }).end();
      res.end(KEY_BODY);
    },
  );
  httpPort = await listen(http);
  httpsPort = await listen(https);
});
afterAll(async () => {
  await new Promise((r) => http?.close(r));
  await new Promise((r) => https?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** The generated command, run by sh as on the host, trusting the throwaway certificate (async: the servers answer in this process). */
function download(url: string): Promise<{ status: number | null; stderr: string; out: string }> {
  const out = join(mkdtempSync(join(dir, 'dl-')), 'file');
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', curlDownload(url, out, 20).text], {
      env: { ...process.env, CURL_CA_BUNDLE: join(dir, 'cert.pem') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr, out });
    });
  });
}

test('an https URL is fetched over https only: a redirect to plain http is refused, nothing is fetched over http', async () => {
  expect(curlDownload('https://example.test/k', 'key', 300).text).toContain(' --proto =https --proto-redir =https ');
  const ok = await download(`https://127.0.0.1:${httpsPort}/key`);
  expect(ok.status).toBe(0);
  expect(readFileSync(ok.out, 'utf8')).toBe(KEY_BODY);
  const down = await download(`https://127.0.0.1:${httpsPort}/to-http`);
  expect(down.status).not.toBe(0);
  expect(down.stderr).toMatch(/Protocol "http" not supported|protocol.*disabled/i);
  expect(existsSync(down.out) ? readFileSync(down.out, 'utf8') : '').toBe('');
  expect(httpHits).toEqual([]);
  // a plain http URL may go up to https, not elsewhere
  expect(curlDownload('http://example.test/k', 'key', 300).text).toContain(
    ' --proto =http,https --proto-redir =http,https ',
  );
  const up = await download(`http://127.0.0.1:${httpPort}/to-https`);
  expect(up.status).toBe(0);
  expect(readFileSync(up.out, 'utf8')).toBe(KEY_BODY);
}, 120_000);

describe('apt_repo key_fingerprint, checked with gpg as on the host', () => {
  let home: string;
  const fingerprints: string[] = [];
  const keyFile = (name: string, uids: string[]) => {
    const p = join(dir, name);
    writeFileSync(
      p,
      execFileSync('gpg', ['--batch', '--homedir', home, '--export', ...uids], { stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    return p;
  };
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'vps-gpg-'));
    for (const who of ['one', 'two']) {
      execFileSync(
        'gpg',
        [
          '--batch',
          '--homedir',
          home,
          '--passphrase',
          '',
          '--quick-gen-key',
          `${who} <${who}@example.test>`,
          'ed25519',
          'sign',
          'never',
        ],
        { stdio: 'ignore' },
      );
      const colons = execFileSync(
        'gpg',
        ['--batch', '--homedir', home, '--with-colons', '--list-keys', `${who}@example.test`],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      fingerprints.push(/^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)![1]!);
    }
  }, 120_000);
  afterAll(() => {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    rmSync(home, { recursive: true, force: true });
  });

  /** The check as the apt_repo script runs it: the key file and a fresh gpg home of its own. */
  function check(key: string, fingerprint: string): { status: number | null; stderr: string } {
    const scratch = mkdtempSync(join(tmpdir(), 'vps-gpgcheck-'));
    const script = `fail() { printf '%s\\n' "$1" >&2; exit 1; }\n${keyFingerprintCheck(key, fingerprint, scratch).text}\necho checked`;
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
    spawnSync('gpgconf', ['--homedir', scratch, '--kill', 'all']);
    rmSync(scratch, { recursive: true, force: true });
    return { status: r.status, stderr: r.stderr + (r.stdout === 'checked\n' ? '' : `stdout: ${r.stdout}`) };
  }

  test('the right fingerprint passes; a wrong one, or a second primary key in the file, is refused naming what was found', () => {
    const [one, two] = fingerprints as [string, string];
    const single = keyFile('one.gpg', ['one@example.test']);
    expect(check(single, one)).toEqual({ status: 0, stderr: '' });
    const wrong = check(single, two);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`the key's fingerprint is ${one}, not ${two}`);
    // a file with two keys: the second would be trusted to sign the repository as well
    const both = keyFile('both.gpg', ['one@example.test', 'two@example.test']);
    const twice = check(both, one);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toContain(`the key's fingerprint is ${one} ${two}, not ${one}`);
    // not a key at all
    writeFileSync(join(dir, 'page.html'), '<html>not found</html>\n');
    expect(check(join(dir, 'page.html'), one).status).toBe(1);
  }, 120_000);
});
