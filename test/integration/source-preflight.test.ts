// The source preflight through real sshd: `check` asks each host to resolve the external
// sources of the selected phases (here a stand-in vendor on 127.0.0.1: a key URL that
// answers 404, a .deb whose server refuses connections, a repository that resolves) and
// names each failure by its variable, URL and what the host got, exit 1; --skip-source-check
// leaves the sources out; `provision` refuses before its first change (the phase's own
// file step did not run, no state dir was made); a phase left out is not checked.
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';

let fleet: TestFleet;
let scratch: string;
let vendor: Server;
let base: string;
let refused: string;
let playbooks: string;
const requests: string[] = [];

// several CLI runs per test: a loaded machine (root's login shell alone is slow) needs room
beforeAll(async () => {
  fleet = await startTestFleet(1, { prefix: 'src' });
  scratch = mkdtempSync(join(tmpdir(), 'vps-sources-'));
  vendor = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === '/tool/dists/stable/InRelease') res.writeHead(200, { 'Content-Length': 0 }).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => vendor.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  const spare = createServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
  refused = `http://127.0.0.1:${(spare.address() as AddressInfo).port}`;
  await new Promise((r) => spare.close(r));

  playbooks = mkdtempSync(join(scratch, 'pb-'));
  writeFileSync(
    join(playbooks, 'site.yml'),
    [
      'phases: [marker, tool, other]',
      'vars:',
      `  tool_key_url: ${base}/tool/key.gpg`,
      `  tool_repo: ${base}/tool stable main`,
      `  tool_deb_url: ${refused}/tool.deb`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(playbooks, 'marker.yml'),
    'name: marker\nestimate_s: 5\nsteps:\n  - name: Marker\n    file: { path: "{{ work_root }}/marker.txt", content: "changed\\n" }\n',
  );
  writeFileSync(
    join(playbooks, 'tool.yml'),
    [
      'name: tool',
      'estimate_s: 5',
      'steps:',
      '  - name: Tool repository',
      '    apt_repo: { name: tool, key_url: "{{ tool_key_url }}", repo: "{{ tool_repo }}" }',
      '  - name: Tool deb',
      '    deb: { url: "{{ tool_deb_url }}", package: tool }',
      '',
    ].join('\n'),
  );
  // a literal URL: named by phase and step
  writeFileSync(
    join(playbooks, 'other.yml'),
    `name: other\nestimate_s: 5\nsteps:\n  - name: Other deb\n    deb: { url: "${base}/other.deb", package: other }\n`,
  );
});

afterAll(async () => {
  vendor?.closeAllConnections();
  await new Promise((r) => (vendor ? vendor.close(r) : r(undefined)));
  await fleet?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  runCli([...args, '-i', fleet.inventoryPath, '--playbooks', playbooks], { timeoutMs: 120_000 });

test('check names each failing source by its variable, URL and answer, exit 1; the repository resolves', async () => {
  const r = await cli(['check']);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain(`${fleet.names[0]} not ready`);
  expect(r.stdout).toContain(`FAIL source: tool_key_url: ${base}/tool/key.gpg: HTTP 404`);
  expect(r.stdout).toMatch(new RegExp(`FAIL source: tool_deb_url: ${refused}/tool\\.deb: curl error 7: .*`));
  expect(r.stdout).toContain(`FAIL source: other / Other deb (url): ${base}/other.deb: HTTP 404`);
  expect(r.stdout).not.toContain('tool_repo');
  // HEAD first, the ranged GET only after a refusal; the repository's InRelease was enough
  expect(requests).toEqual(
    expect.arrayContaining(['HEAD /tool/key.gpg', 'GET /tool/key.gpg', 'HEAD /tool/dists/stable/InRelease']),
  );
  expect(requests).not.toContain('HEAD /tool/dists/stable/Release');
  // the other checks are still there, in the same round trip
  expect(r.stdout).toMatch(/ok +disk: /);

  const json = await cli(['check', '--json']);
  const checks = (JSON.parse(json.stdout) as { hosts: { checks: { name: string; ok: boolean; detail: string }[] }[] })
    .hosts[0]!.checks;
  expect(checks.filter((c) => c.name === 'source' && !c.ok).map((c) => c.detail.split(':')[0])).toEqual([
    'tool_key_url',
    'tool_deb_url',
    'other / Other deb (url)',
  ]);
}, 300_000);

test("--skip-phase leaves a phase's sources out; --skip-source-check all of them", async () => {
  const some = await cli(['check', '--skip-phase', 'tool']);
  expect(some.code).toBe(1);
  expect(some.stdout).not.toContain('tool_key_url');
  expect(some.stdout).toContain('other / Other deb (url)');
  const none = await cli(['check', '--only-phase', 'marker']);
  expect([none.code, none.stdout]).toEqual([0, expect.not.stringContaining('source')]);
  const skipped = await cli(['check', '--skip-source-check']);
  expect([skipped.code, skipped.stdout]).toEqual([0, expect.not.stringContaining('source')]);
}, 400_000);

test('plan says which sources would stop provision, changes nothing, and --skip-source-check leaves them out', async () => {
  const r = await cli(['plan', '--no-color']);
  expect(r.stderr).toContain(
    `source does not resolve (provision would stop before any change): tool_key_url: ${base}/tool/key.gpg: HTTP 404`,
  );
  expect(r.stderr).toContain('other / Other deb (url)');
  expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  expect(existsSync(fleet.stateDir(0))).toBe(false);
  const skipped = await cli(['plan', '--no-color', '--skip-source-check']);
  expect(skipped.code).toBe(r.code);
  expect(skipped.stderr).not.toContain('source does not resolve');
}, 300_000);

test('provision refuses before its first change on the host', async () => {
  const r = await cli(['provision', '--yes']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('3 source(s) do not resolve from the host(s), nothing was changed anywhere');
  expect(r.stderr).toContain(`${fleet.names[0]}: tool_key_url: ${base}/tool/key.gpg: HTTP 404`);
  expect(r.stderr).toContain('--skip-source-check');
  expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  expect(existsSync(join(fleet.root(0), 'marker.txt'))).toBe(false);
  expect(existsSync(fleet.stateDir(0))).toBe(false);
  // with the phase that fetches nothing, nothing stands in the way
  const only = await cli(['provision', '--yes', '--only-phase', 'marker']);
  expect(only.code).toBe(0);
  expect(existsSync(join(fleet.root(0), 'marker.txt'))).toBe(true);
}, 300_000);
