// The source preflight's pure parts: which sources rendered phases fetch and which variable
// holds each (the default playbooks and a playbook of one's own), and the generated probe
// script, run with the local /bin/sh and curl against HTTP(S) servers this test starts on
// 127.0.0.1 (node's http/https modules; a throwaway certificate made with openssl).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook, instantiatePhase } from '../../src/config/playbook.js';
import { phaseSources } from '../../src/config/phase-sources.js';
import { releaseUrls } from '../../src/steps/apt-repo.js';
import { sourceProbeScript, sourceReplyReader, sourceFailure } from '../../src/facts/source-reach.js';
import { withRdpAccess } from '../../src/config/rdp-access.js';
import { REPO } from '../support/cli.js';

describe('sources of rendered phases', () => {
  test('apt repository lines give InRelease, then Release (flat repositories too; file: none)', () => {
    const cases: [string, string[]][] = [
      [
        'https://packages.microsoft.com/repos/code stable main',
        [
          'https://packages.microsoft.com/repos/code/dists/stable/InRelease',
          'https://packages.microsoft.com/repos/code/dists/stable/Release',
        ],
      ],
      [
        'https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/ antigravity-debian main',
        [
          'https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/dists/antigravity-debian/InRelease',
          'https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/dists/antigravity-debian/Release',
        ],
      ],
      ['http://mirror.example/flat ./', ['http://mirror.example/flat/InRelease', 'http://mirror.example/flat/Release']],
      [
        'https://mirror.example/r sub/',
        ['https://mirror.example/r/sub/InRelease', 'https://mirror.example/r/sub/Release'],
      ],
      ['file:///srv/repo stable main', []],
    ];
    for (const [repo, urls] of cases) expect([repo, releaseUrls(repo)]).toEqual([repo, urls]);
  });

  test('the default IDE phases: every key, repository and .deb, named by its variable', () => {
    const pb = loadPlaybook(join(REPO, 'playbooks'));
    const vars = withRdpAccess({ ...pb.vars, developer_ssh_key: 'ssh-ed25519 AAAA test' });
    const sources = phaseSources(pb.phases.map((p) => instantiatePhase(pb, p, vars, 'h1')));
    expect(sources.map((s) => [s.origin, s.kind, s.urls[0]])).toEqual([
      ['vscode_key_url', 'key', 'https://packages.microsoft.com/keys/microsoft.asc'],
      ['vscode_repo', 'repository', 'https://packages.microsoft.com/repos/code/dists/stable/InRelease'],
      ['cursor_deb_url', 'deb', 'https://api2.cursor.sh/updates/download/golden/linux-x64-deb/cursor/latest'],
      ['antigravity_key_url', 'key', 'https://us-central1-apt.pkg.dev/doc/repo-signing-key.gpg'],
      [
        'antigravity_repo',
        'repository',
        'https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/dists/antigravity-debian/InRelease',
      ],
    ]);
    // an inventory's value is what is checked
    const mirrored = phaseSources(
      pb.phases.map((p) =>
        instantiatePhase(pb, p, { ...vars, cursor_deb_url: 'https://mirror.example/cursor.deb' }, 'h1'),
      ),
    );
    expect(mirrored.find((s) => s.origin === 'cursor_deb_url')!.urls).toEqual(['https://mirror.example/cursor.deb']);
  });

  test("a playbook of one's own: a literal URL is named by phase and step, a built one by its variables; repeats once", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sources-pb-'));
    try {
      writeFileSync(
        join(dir, 'site.yml'),
        'phases: [tools, more]\nvars: { mirror: "https://mirror.example", tool_version: "1.2" }\n',
      );
      writeFileSync(
        join(dir, 'tools.yml'),
        [
          'name: tools',
          'estimate_s: 10',
          'steps:',
          '  - name: Tool deb',
          '    deb: { url: "https://vendor.example/tool_1.0_amd64.deb", package: tool }',
          '  - name: Other deb',
          '    deb: { url: "{{ mirror }}/other/{{ tool_version }}/other.deb", package: other }',
          '  - name: Local repo',
          '    apt_repo: { name: local, key_url: "{{ mirror }}/key.asc", repo: "file:///srv/repo stable main" }',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, 'more.yml'),
        'name: more\nestimate_s: 10\nsteps:\n  - name: Same deb again\n    deb: { url: "https://vendor.example/tool_1.0_amd64.deb", package: tool }\n',
      );
      const pb = loadPlaybook(dir);
      const sources = phaseSources(pb.phases.map((p) => instantiatePhase(pb, p, pb.vars, 'h1')));
      expect(sources.map((s) => [s.origin, s.urls])).toEqual([
        ['tools / Tool deb (url)', ['https://vendor.example/tool_1.0_amd64.deb']],
        ['mirror, tool_version', ['https://mirror.example/other/1.2/other.deb']],
        ['mirror', ['https://mirror.example/key.asc']],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the probe script, under /bin/sh against local servers', () => {
  let dir: string;
  let http: Server;
  let https: Server;
  let httpBase: string;
  let httpsBase: string;
  let refusedBase: string;
  const requests: string[] = [];

  const listen = (server: Server): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sources-probe-'));
    // a throwaway certificate for 127.0.0.1, trusted by curl through CURL_CA_BUNDLE only
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore', timeout: 30_000 },
    );
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      requests.push(`${req.method} ${req.url}`);
      const path = req.url ?? '/';
      if (path === '/ok' || path === '/repo/dists/stable/Release')
        res.writeHead(200, { 'Content-Length': 2 }).end(req.method === 'HEAD' ? undefined : 'ok');
      else if (path === '/no-head') {
        // a server that refuses HEAD but serves the file
        if (req.method === 'HEAD') res.writeHead(405).end();
        else res.writeHead(req.headers.range ? 206 : 200, { 'Content-Length': 1 }).end('o');
      } else if (path === '/hop') res.writeHead(302, { Location: '/ok' }).end();
      else if (path === '/to-http') res.writeHead(302, { Location: `${httpBase}/ok` }).end();
      else res.writeHead(404).end();
    };
    http = createHttp(handler);
    https = createHttps(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      handler,
    );
    httpBase = `http://127.0.0.1:${await listen(http)}`;
    httpsBase = `https://127.0.0.1:${await listen(https)}`;
    // a port nobody listens on: taken, then given back
    const spare = createHttp();
    refusedBase = `http://127.0.0.1:${await listen(spare)}`;
    await new Promise((r) => spare.close(r));
  });

  afterAll(async () => {
    for (const s of [http, https]) {
      s?.closeAllConnections();
      await new Promise((r) => (s ? s.close(r) : r(undefined)));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function runProbe(sources: { urls: string[] }[], path = process.env.PATH!): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        '/bin/sh',
        ['-c', sourceProbeScript('n0nce', sources)],
        { env: { PATH: path, CURL_CA_BUNDLE: join(dir, 'cert.pem') }, timeout: 60_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
  }

  test('200, redirects, HEAD refused, 404, a redirect to plain http, a refused connection; InRelease falls back to Release', async () => {
    const sources = [
      { urls: [`${httpsBase}/ok`] },
      { urls: [`${httpsBase}/hop`] },
      { urls: [`${httpBase}/no-head`] },
      { urls: [`${httpsBase}/missing.gpg`] },
      { urls: [`${httpsBase}/to-http`] },
      { urls: [`${refusedBase}/cursor.deb`] },
      { urls: [`${httpBase}/repo/dists/stable/InRelease`, `${httpBase}/repo/dists/stable/Release`] },
      { urls: [`${httpBase}/to-http`] }, // http stays http(s): following to http is fine
      { urls: [`${httpsBase}/ok?a='b';$(touch ${dir}/pwned)`] }, // hostile URL text stays data
    ];
    const out = await runProbe(sources);
    const reader = sourceReplyReader('n0nce');
    for (const line of out.split('\n')) reader.onLine(line);
    const verdicts = sources.map((s, i) => sourceFailure(s.urls[0]!, reader.replies.get(i)) ?? 'ok');
    expect(verdicts.slice(0, 4)).toEqual(['ok', 'ok', 'ok', 'HTTP 404']);
    expect(verdicts[4]).toBe(`redirected to plain http (${httpBase}/ok); only https is followed for an https URL`);
    expect(verdicts[5]).toMatch(/^curl error 7: .*(refused|connect)/i);
    expect(verdicts.slice(6, 8)).toEqual(['ok', 'ok']);
    // the hostile URL reached curl as one word (which refuses it), nothing ran
    expect(verdicts[8]).toMatch(/^curl error 3: /);
    expect(() => readFileSync(join(dir, 'pwned'))).toThrow();
    // HEAD first; GET (ranged) only where HEAD did not do
    expect(requests).toContain('HEAD /ok');
    expect(requests).toContain('GET /no-head');
    expect(requests.filter((r) => r.startsWith('GET /ok')).length).toBe(0);
  });

  test('without curl on the host the probe says so (and nothing else)', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['mktemp', 'cat', 'rm', 'sed', 'grep', 'head', 'tail', 'tr'])
      execFileSync('ln', [
        '-sf',
        execFileSync('sh', ['-c', `command -v ${tool}`])
          .toString()
          .trim(),
        join(bin, tool),
      ]);
    const out = await runProbe([{ urls: [`${httpBase}/ok`] }], bin);
    const reader = sourceReplyReader('n0nce');
    for (const line of out.split('\n')) reader.onLine(line);
    expect([reader.noCurl(), reader.replies.size]).toEqual([true, 0]);
  });

  test('no sources: no script to speak of', () => {
    expect(sourceProbeScript('n', [])).toBe(':');
    expect(sourceFailure('https://x', undefined)).toMatch(/no answer/);
  });
});
