// The source preflight on a fake droplet, against stand-in vendors on the droplets' network
// (test/support/droplet/ide-standins.ts, plus an https stand-in whose certificate the
// droplet trusts): with vscode_key_url answering 404 and cursor_deb_url redirecting to plain
// http, `check` names both variables (the other IDE sources resolve) and exits 1, and
// `provision` refuses before anything was installed: the droplet is as it was.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { writeFileSync } from 'node:fs';
import { startWorkstations, type Workstations } from '../support/workstation-fixture.js';
import {
  acquireService,
  setServicePort,
  releaseLease,
  HOST_ADDRESS,
  type ServiceLease,
} from '../support/droplet/host-state.js';

const MIN = 60_000;
let ws: Workstations;
let https: Server | undefined;
let lease: ServiceLease | undefined;
let httpsBase: string;
const httpsRequests: string[] = [];

/** What provisioning would change first: packages, apt sources and keys, state dir, the account. */
const SNAPSHOT = [
  "dpkg-query -W -f '${Package} ${Version} ${Status}\\n' | sha256sum",
  'ls -A /etc/apt/sources.list.d /etc/apt/keyrings /etc/apt/apt.conf.d 2>&1',
  'test -e /var/lib/vps-provision && echo state-dir || echo no-state-dir',
  'getent passwd devuser || echo no-devuser',
  'ls -d /tmp/vpsp.* 2>/dev/null | wc -l',
].join('; ');

describe('source preflight on a fake droplet', () => {
  beforeAll(async () => {
    ws = await startWorkstations({ count: 1, profile: 'lean', namePrefix: 'vpsprov-src' });
    // an https stand-in on the bridge, with a throwaway certificate the droplet trusts
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
        join(ws.dir, 'tls.key'),
        '-out',
        join(ws.dir, 'tls.crt'),
        '-subj',
        `/CN=${HOST_ADDRESS}`,
        '-addext',
        `subjectAltName=IP:${HOST_ADDRESS}`,
      ],
      { stdio: 'ignore', timeout: 30_000 },
    );
    lease = await acquireService();
    https = createServer(
      { key: readFileSync(join(ws.dir, 'tls.key')), cert: readFileSync(join(ws.dir, 'tls.crt')) },
      (req, res) => {
        httpsRequests.push(`${req.method} ${req.url}`);
        // Cursor's .deb, "moved" to plain http (where it really is, on the plain stand-in)
        if (req.url === '/cursor/latest') res.writeHead(302, { Location: ws.standins.cursorDebUrl }).end();
        else res.writeHead(404).end();
      },
    );
    await new Promise<void>((resolve, reject) => {
      https!.once('error', reject);
      https!.listen(0, HOST_ADDRESS, () => resolve());
    });
    https.unref();
    const port = (https.address() as AddressInfo).port;
    await setServicePort(lease, port);
    httpsBase = `https://${HOST_ADDRESS}:${port}`;
    const cert = readFileSync(join(ws.dir, 'tls.crt'), 'utf8');
    // added to the droplet's CA bundle (what curl reads); update-ca-certificates is slow on a busy machine
    const trust = await ws.ssh(
      0,
      'root',
      `cat >> /etc/ssl/certs/ca-certificates.crt <<'EOF'\n${cert}EOF\ncurl -sS -o /dev/null -w '%{http_code}' ${httpsBase}/`,
      5 * MIN,
    );
    expect([trust.code, trust.stdout, trust.stderr]).toEqual([0, '404', '']);
    // one key URL answers 404, the .deb URL redirects to plain http
    const inv = parse(readFileSync(ws.inventoryPath, 'utf8')) as { defaults: { vars: Record<string, string> } };
    inv.defaults.vars.vscode_key_url = `${ws.standins.baseUrl}/code/missing.asc`;
    inv.defaults.vars.cursor_deb_url = `${httpsBase}/cursor/latest`;
    inv.defaults.vars.cursor_deb_sha256 = '';
    writeFileSync(ws.inventoryPath, stringify(inv));
  }, 15 * MIN); // may build the rootfs first

  afterAll(async () => {
    https?.closeAllConnections();
    await new Promise((r) => (https ? https.close(r) : r(undefined)));
    if (lease) await releaseLease(lease);
    await ws?.stop();
  }, 5 * MIN);

  test(
    'check names both variables, URLs and answers, exit 1; the other IDE sources resolve',
    async () => {
      const r = await ws.cli(['check'], 5 * MIN);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`FAIL source: vscode_key_url: ${ws.standins.baseUrl}/code/missing.asc: HTTP 404`);
      expect(r.stdout).toContain(
        `FAIL source: cursor_deb_url: ${httpsBase}/cursor/latest: redirected to plain http (${ws.standins.cursorDebUrl})`,
      );
      expect(r.stdout.match(/FAIL/g)).toHaveLength(2);
      // the stand-in repositories (InRelease) and Antigravity's key were asked for from the droplet
      expect(ws.standins.requests).toEqual(
        expect.arrayContaining([
          'HEAD /code/missing.asc',
          'HEAD /code/dists/stable/InRelease',
          'HEAD /antigravity/key.gpg',
          'HEAD /antigravity/dists/antigravity-debian/InRelease',
        ]),
      );
      expect(httpsRequests).toContain('HEAD /cursor/latest');
      // the redirect to http was not followed
      expect(ws.standins.requests.some((q) => q.includes('/cursor/'))).toBe(false);
    },
    10 * MIN,
  );

  test(
    'provision refuses before anything was installed: the droplet is as it was',
    async () => {
      const before = await ws.ssh(0, 'root', SNAPSHOT, 5 * MIN);
      expect(before.stdout).toContain('no-state-dir');
      const r = await ws.cli(['provision', '--yes'], 10 * MIN);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('2 source(s) do not resolve from the host(s), nothing was changed anywhere');
      expect(r.stderr).toContain(`${ws.names[0]}: vscode_key_url: `);
      expect(r.stderr).toContain(`${ws.names[0]}: cursor_deb_url: `);
      const after = await ws.ssh(0, 'root', SNAPSHOT, 5 * MIN);
      expect(after.stdout).toBe(before.stdout);
    },
    15 * MIN,
  );
});
