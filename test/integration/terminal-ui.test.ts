// What a person sees in a real terminal (tmux): the live tree with the running step and
// its elapsed time, a live alert printed above the tree and kept, parallel phases running
// together, --verbose step results; Ctrl-C mid-step, at the prompt and while connecting.
import { writeFileSync, mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { startBadServer, type BadServer } from '../support/bad-ssh-servers.js';
import { startPtyCli, type PtyCli } from '../support/pty.js';
import { runCli } from '../support/cli.js';
import { running } from '../support/running.js';

let fleet: TestFleet;
let pb: string;
let reports: string;
const marker = `vpsp-pty-nap-${process.pid}`;
const ptys: PtyCli[] = [];
const pty = (...a: Parameters<typeof startPtyCli>) => {
  const p = startPtyCli(...a);
  ptys.push(p);
  return p;
};

beforeAll(async () => {
  fleet = await startTestFleet(2);
  pb = mkdtempSync(join(fleet.dir, 'pb-'));
  reports = mkdtempSync(join(fleet.dir, 'reports-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [files, slow]\n');
  writeFileSync(
    join(pb, 'files.yml'),
    'name: files\nestimate_s: 5\nsteps:\n  - name: note\n    file: { path: "{{ work_root }}/note.txt", content: "hi\\n" }\n',
  );
  // a 1 s estimate: the phase-duration alert comes while the step still runs
  writeFileSync(
    join(pb, 'slow.yml'),
    `name: slow\nestimate_s: 1\nsteps:\n  - name: nap\n    command: { run: "sh -c 'sleep 120' ${marker}; touch {{ work_root }}/napped", creates: "{{ work_root }}/napped" }\n`,
  );
});
afterEach(() => {
  for (const p of ptys.splice(0)) p.stop();
});
afterAll(async () => {
  await fleet?.stop();
});

test('Ctrl-C mid-step in the live tree: running step and alert on screen, exit 130, remote step gone, lock released, report written', async () => {
  const p = pty([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    pb,
    '--sample-interval',
    '1',
    '--reports-dir',
    reports,
  ]);
  await p.waitFor(/provision 2 host\(s\) .*\[y\/N\]/);
  p.keys('y', 'Enter');
  // both hosts show the phase, the running step and its elapsed time
  await p.waitFor(new RegExp(`${fleet.names[0]}[^]*slow \\d+ s › nap \\d+ s[^]*slow \\d+ s › nap \\d+ s`), 120_000);
  // the live alert is printed above the tree
  await p.waitFor(/host-\d: (alert|critical): phase-duration: phase slow took/, 60_000);
  expect(running(marker)).toBeGreaterThan(0);
  p.keys('C-c');
  expect(await p.exitCode(60_000)).toBe(130);
  const screen = p.screen();
  expect(screen).toMatch(/interrupt: stopping the running steps/);
  expect(screen).toMatch(/interrupted during phase slow/);
  // the alert is still on screen, and listed again at the end
  expect(screen).toMatch(/host-\d: (alert|critical): phase-duration/);
  expect(screen).toMatch(/alerts \(\d+\)\n\s+host-\d: (alert|critical) phase-duration/);
  expect(screen).not.toMatch(/\n\s+at .*\.js:\d+/);
  expect(running(marker)).toBe(0);
  for (let i = 0; i < 2; i++) {
    expect(existsSync(join(fleet.stateDir(i), 'lock'))).toBe(false);
    expect(existsSync(join(fleet.root(i), 'napped'))).toBe(false);
  }
  expect(running(`${fleet.dir}/.*sampler\\.sh`)).toBe(0);
  // the report of what ran is written
  const runs = readdirSync(reports);
  expect(runs).toHaveLength(1);
  expect(existsSync(join(reports, runs[0]!, 'report.html'))).toBe(true);
  // the next run is not refused by a lock
  const next = await runCli(['run', 'files', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes']);
  expect(next.stderr + next.stdout).not.toMatch(/holds the lock/);
  expect(next.code).toBe(0);
}, 300_000);

test('at the [y/N] prompt: Ctrl-C exits 130, "n" exits 1 (cancelled); nothing runs', async () => {
  const a = pty(['provision', '-i', fleet.inventoryPath, '--playbooks', pb]);
  await a.waitFor(/\[y\/N\]/, 60_000);
  a.keys('C-c');
  expect(await a.exitCode()).toBe(130);
  expect(a.screen()).not.toMatch(/unexpected|\n\s+at /);

  const b = pty(['provision', '-i', fleet.inventoryPath, '--playbooks', pb]);
  await b.waitFor(/\[y\/N\]/, 60_000);
  b.keys('n', 'Enter');
  expect(await b.exitCode()).toBe(1);
  expect(b.screen()).toMatch(/error: cancelled\nhint: nothing was changed/);
}, 180_000);

test('Ctrl-C while connecting to a host that never answers exits at once', async () => {
  const silent: BadServer = await startBadServer('silent');
  try {
    const inv = parse(readFileSync(fleet.inventoryPath, 'utf8')) as {
      hosts: Record<string, unknown>;
      groups?: unknown;
    };
    delete inv.groups;
    inv.hosts = {
      quiet: {
        address: '127.0.0.1',
        port: silent.port,
        state_dir: join(fleet.dir, 'state', 'quiet'),
        vars: { work_root: join(fleet.dir, 'quiet') },
      },
    };
    const invPath = join(fleet.dir, 'inventory-quiet.yml');
    writeFileSync(invPath, stringify(inv));
    const sshConfig = join(fleet.dir, 'ssh_config_slow');
    writeFileSync(sshConfig, 'Host *\n  ConnectTimeout 120\n');
    const p = pty([
      'provision',
      '-i',
      invPath,
      '--playbooks',
      pb,
      '--yes',
      '--ssh-config',
      sshConfig,
      '--reports-dir',
      reports,
    ]);
    await p.waitFor(/quiet[^]*files waiting/, 60_000);
    p.keys('C-c');
    // far less than the 120 s connect timeout
    expect(await p.exitCode(40_000)).toBe(130);
    expect(p.screen()).toMatch(/interrupted while connecting/);
  } finally {
    await silent.stop();
  }
}, 180_000);

test('a parallel group is drawn running together; --verbose lists every step result', async () => {
  const par = mkdtempSync(join(fleet.dir, 'pb-par-'));
  writeFileSync(join(par, 'site.yml'), 'phases: [ide-a, ide-b]\n');
  for (const n of ['a', 'b']) {
    writeFileSync(
      join(par, `ide-${n}.yml`),
      `name: ide-${n}\nestimate_s: 30\nparallel: ide\nsteps:\n  - name: wait ${n}\n    command: { run: "while [ ! -e {{ work_root }}/go ]; do sleep 0.2; done; touch {{ work_root }}/${n}", creates: "{{ work_root }}/${n}" }\n  - name: after ${n}\n    command: { run: "true" }\n`,
    );
  }
  const p = pty([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    par,
    '--yes',
    '--limit',
    fleet.names[0]!,
    '--verbose',
    '--reports-dir',
    reports,
  ]);
  // both phases of the group are running at the same moment, each with its step
  await p.waitFor(
    /ide \(parallel: ide-a, ide-b\)[^]*ide-a \d+ s › wait a \d+ s[^]*ide-b \d+ s › wait b \d+ s/,
    120_000,
  );
  writeFileSync(join(fleet.root(0), 'go'), '');
  expect(await p.exitCode(120_000)).toBe(0);
  const screen = p.screen();
  expect(screen).toMatch(/wait a: changed - /);
  expect(screen).toMatch(/after b: changed - /);
}, 300_000);

// A step name is one terminal line, whatever it holds: a newline and an escape sequence in
// it are shown as visible text (\n, \x1b), in the live tree and in the --verbose results.
test('a step named with a newline and ESC is one line in the live tree, escapes shown as text', async () => {
  const odd = mkdtempSync(join(fleet.dir, 'pb-odd-'));
  const m = `vpsp-pty-odd-${process.pid}`;
  writeFileSync(join(odd, 'site.yml'), 'phases: [odd]\n');
  writeFileSync(
    join(odd, 'odd.yml'),
    stringify({
      name: 'odd',
      estimate_s: 30,
      steps: [
        { name: 'first\nsecond \x1b[31mred', command: { run: 'true' } },
        { name: 'nap\n\x1b[2Jcleared', command: { run: `sh -c 'sleep 120' ${m}` } },
      ],
    }),
  );
  const p = pty([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    odd,
    '--yes',
    '--limit',
    fleet.names[0]!,
    '--verbose',
    '--reports-dir',
    reports,
  ]);
  await p.waitFor(/odd \d+ s › nap\\n\\x1b\[2Jcleared \d+ s/, 120_000);
  await p.waitFor(/first\\nsecond \\x1b\[31mred: changed - /, 60_000);
  const screen = p.screen();
  // nothing of a name starts a line of its own
  expect(screen).not.toMatch(/^\s*(second|cleared|\[2J)/m);
  p.keys('C-c');
  expect(await p.exitCode(60_000)).toBe(130);
  expect(running(m)).toBe(0);
}, 300_000);
