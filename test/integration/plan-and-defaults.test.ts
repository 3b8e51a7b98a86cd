// plan against a real sshd: it evaluates every phase (drift in a completed phase shows) and
// writes nothing on the host (no state dir, lock, sampler, run files; its remote temp
// folder gone), proven by fingerprinting the host's folders before and after. And the
// defaults a new user meets: developer_ssh_key from the login key, and an installed
// package (npm pack) that runs with its own default playbooks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { startSshd, makeClientKey, type LocalSshd, type ClientKey } from '../support/local-sshd.js';
import { runCli, REPO } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

let sshd: LocalSshd;
let key: ClientKey;
const dir = mkdtempSync(join(tmpdir(), 'vps-plan-'));
const home = join(dir, 'home');
// the host's side: the remote shells' TMPDIR (sshd's SetEnv), the state dir, the managed files
const hostTmp = join(dir, 'host-tmp');
const stateDir = join(dir, 'host-state');
const work = join(dir, 'host-work');
const playbooks = join(dir, 'playbooks');
const inventory = join(dir, 'inventory.yml');
const env = { HOME: home, SSH_AUTH_SOCK: '' };

beforeAll(async () => {
  for (const d of [home, hostTmp, work, playbooks]) mkdirSync(d, { recursive: true });
  key = makeClientKey(dir);
  sshd = await startSshd({ authorizedKeys: [key.publicKey], extraConfig: [`SetEnv TMPDIR=${hostTmp}`] });
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  // only an address (and how to log in): developer_ssh_key is not set anywhere
  writeFileSync(
    inventory,
    stringify({
      known_hosts_file: join(dir, 'known_hosts'),
      host_key_policy: 'strict',
      defaults: { user: 'root', identity_file: key.privateKeyPath, state_dir: stateDir, vars: { work } },
      hosts: { box: { address: '127.0.0.1', port: sshd.port } },
    }),
  );
  writeFileSync(join(playbooks, 'site.yml'), 'phases: [files, keys]\n');
  writeFileSync(
    join(playbooks, 'files.yml'),
    [
      'name: files',
      'estimate_s: 5',
      'steps:',
      '  - name: a.conf',
      '    file: { path: "{{ work }}/a.conf", content: "hello\\n", mode: "0644" }',
      '  - name: b.conf line',
      '    line: { path: "{{ work }}/b.conf", line: "x=1" }',
      '  - name: marker',
      '    command: { run: "touch {{ work }}/c", creates: "{{ work }}/c" }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(playbooks, 'keys.yml'),
    [
      'name: keys',
      'estimate_s: 5',
      'steps:',
      '  - name: developer key',
      '    file: { path: "{{ work }}/authorized", content: "{{ developer_ssh_key }}\\n" }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every entry under the host's folders: path, type, mode, size, mtime and content hash. */
function fingerprint(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p);
      const hash = e.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : '';
      out.push(
        `${relative(dir, p)} ${e.isDirectory() ? 'd' : 'f'} ${(st.mode & 0o7777).toString(8)} ${st.size} ${st.mtimeMs} ${hash}`,
      );
      if (e.isDirectory()) walk(p);
    }
  };
  for (const d of [hostTmp, work]) walk(d);
  if (existsSync(stateDir)) walk(stateDir);
  return out.sort();
}
const samplers = () => {
  try {
    return execFileSync('pgrep', ['-f', stateDir]).toString().trim();
  } catch {
    return '';
  }
};
const common = ['-i', inventory, '--playbooks', playbooks];
async function json(args: string[]): Promise<{ code: number | null; run: RunResult; stderr: string }> {
  const r = await runCli([...args, ...common, '--json'], { env });
  try {
    return { code: r.code, run: JSON.parse(r.stdout) as RunResult, stderr: r.stderr };
  } catch {
    throw new Error(`no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}
const stepsOf = (run: RunResult) =>
  run.hosts.flatMap((h) => h.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, ...s }))));

test('a plan of a fresh host shows every change and creates nothing there, not even the state dir', async () => {
  const before = fingerprint();
  const { code, run } = await json(['plan']);
  expect(code).toBe(0);
  expect(stepsOf(run).map((s) => [s.phase, s.name, s.status])).toEqual([
    ['files', 'a.conf', 'changed'],
    ['files', 'b.conf line', 'changed'],
    ['files', 'marker', 'changed'],
    ['keys', 'developer key', 'changed'],
  ]);
  expect(existsSync(stateDir)).toBe(false);
  expect(fingerprint()).toEqual(before);
  expect(readdirSync(hostTmp)).toEqual([]);
  expect(samplers()).toBe('');
}, 180_000);

test('developer_ssh_key defaults to the public half of the identity_file', async () => {
  const { code, run } = await json(['provision', '--yes']);
  expect([code, run.hosts[0]!.status]).toEqual([0, 'ok']);
  expect(readFileSync(join(work, 'authorized'), 'utf8')).toBe(`${key.publicKey}\n`);
  expect(readdirSync(join(stateDir, 'checkpoints')).sort()).toEqual(['files', 'keys']);
});

test('plan re-checks completed phases: a hand-edited file shows as drift; the host is left exactly as it was', async () => {
  writeFileSync(join(work, 'a.conf'), 'edited by hand\n');
  const before = fingerprint();
  const provision = await json(['provision', '--yes']);
  // provision trusts its checkpoints: both phases skipped
  expect(provision.run.hosts[0]!.phases.map((p) => p.status)).toEqual(['skipped', 'skipped']);
  const afterProvision = fingerprint();
  const { code, run } = await json(['plan']);
  expect(code).toBe(0);
  const files = run.hosts[0]!.phases.find((p) => p.name === 'files')!;
  expect(files.status).toBe('changed');
  expect(files.reason).toContain('drift: completed');
  expect(files.steps.map((s) => [s.name, s.status])).toEqual([
    ['a.conf', 'changed'],
    ['b.conf line', 'ok'],
    ['marker', 'ok'],
  ]);
  expect(run.hosts[0]!.phases.find((p) => p.name === 'keys')!.status).toBe('ok');
  // no lock, no new run folder, no timing rows, no checkpoint touched, no sampler
  expect(fingerprint()).toEqual(afterProvision);
  expect(existsSync(join(stateDir, 'lock'))).toBe(false);
  expect(readdirSync(hostTmp)).toEqual([]);
  expect(samplers()).toBe('');
  expect(before.length).toBeGreaterThan(0);
  // the text form says the same
  const text = await runCli(['plan', ...common], { env });
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('a.conf');
}, 180_000);

test('npm pack ships dist; the unpacked package runs with its own default playbooks', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    engines: { node: string };
  };
  // dist/ is built on install (npm ci) and before packing
  expect(pkg.scripts.prepare).toMatch(/\btsc\b/);
  const yargs = JSON.parse(readFileSync(join(REPO, 'node_modules/yargs/package.json'), 'utf8')) as {
    engines: { node: string };
  };
  expect(pkg.engines.node).toBe(yargs.engines.node);
  // dist/ is built already here; --ignore-scripts keeps npm from rebuilding it under the running tests
  const out = mkdtempSync(join(dir, 'pack-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: REPO }).toString(),
  ) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const f of [
    'dist/src/cli/main.js',
    // the bundle main.js loads (one file per command and shared chunks)
    'dist/bundle/command-line.js',
    'src/monitor/sampler.sh',
    'src/report/page/report.css',
    'playbooks/site.yml',
    'playbooks/files/apt-tuning.conf',
    'inventory/hosts.yml',
    'README.md',
  ]) {
    expect([f, files.includes(f)]).toEqual([f, true]);
  }
  expect(files.some((f) => f.startsWith('dist/test/'))).toBe(false);
  execFileSync('tar', ['-xzf', join(out, packed[0]!.filename), '-C', out]);
  symlinkSync(join(REPO, 'node_modules'), join(out, 'package', 'node_modules'));
  const cli = join(out, 'package', 'dist/src/cli/main.js');
  // npm links and marks the bin executable on install; it must start with its interpreter line
  expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  // from a folder without playbooks/: the package's own default playbooks are loaded (with
  // developer_ssh_key found from the login key), then the host is tried (port 1 refuses)
  const userDir = mkdtempSync(join(dir, 'user-'));
  const inv = join(userDir, 'hosts.yml');
  writeFileSync(
    inv,
    stringify({
      known_hosts_file: join(dir, 'known_hosts'),
      defaults: { identity_file: key.privateKeyPath },
      hosts: { d1: { address: '127.0.0.1', port: 1 } },
    }),
  );
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    import('node:child_process').then(({ execFile }) =>
      execFile(
        process.execPath,
        [cli, 'plan', '-i', inv, '--json'],
        {
          cwd: userDir,
          env: { ...process.env, ...env, CI: 'true' },
          timeout: 60_000,
        },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      ),
    );
  });
  expect([r.code, r.stderr]).toEqual([2, expect.any(String)]);
  const plan = JSON.parse(r.stdout) as RunResult;
  expect(plan.hosts[0]!.error?.message).toContain('connection refused');
}, 120_000);
