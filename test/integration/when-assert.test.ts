// `when:` and `assert` through the real CLI against real sshd: a step or phase whose
// condition is false is skipped (plan and apply, JSON and text), the host's OS facts are the
// ones its /etc/os-release gives; a failing assert fails its step with one line saying what
// is wrong (a command's own output kept above it), exit 2, and later steps do not run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import { osReleaseProbe, parseOsRelease } from '../../src/facts/os-release.js';
import type { RunResult } from '../../src/engine/events.js';

let fleet: TestFleet;
// the test sshd runs on this machine: its OS facts are this machine's (read only)
const os = parseOsRelease(execFileSync('sh', ['-c', osReleaseProbe()], { encoding: 'utf8' }));

beforeAll(async () => {
  fleet = await startTestFleet(1);
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
});

function playbook(phases: Record<string, string>): string {
  const dir = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(dir, 'site.yml'), `phases: [${Object.keys(phases).join(', ')}]\nvars: { profile: full }\n`);
  for (const [name, steps] of Object.entries(phases))
    writeFileSync(join(dir, `${name}.yml`), `name: ${name}\nestimate_s: 5\n${steps}`);
  return dir;
}
const cli = (cmd: 'plan' | 'provision', pb: string, extra: string[] = []) =>
  runCli(
    [cmd, '-i', fleet.inventoryPath, '--playbooks', pb, ...(cmd === 'provision' ? ['--yes', '--force'] : []), ...extra],
    { timeoutMs: 120_000 },
  );
const steps = (run: RunResult) => run.hosts[0]!.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, ...s })));

test('a false when: is skipped with its reason in plan and apply; a true one runs', async () => {
  fleet.writeInventory();
  const pb = playbook({
    os: [
      'steps:',
      '  - name: on this OS',
      `    when: { os_id: "${os.id}", os_codename: ["${os.codename || 'none'}", other] }`,
      '    file: { path: "{{ work_root }}/this-os", content: "yes\\n" }',
      '  - name: on another release',
      `    when: { not: { os_version: "${os.versionId || 'none'}" } }`,
      '    file: { path: "{{ work_root }}/other-release", content: "yes\\n" }',
      '  - name: lean only',
      '    when: { var: profile, equals: lean }',
      '    command: { run: "touch {{ work_root }}/lean", creates: "{{ work_root }}/lean" }',
      '',
    ].join('\n'),
    leanphase:
      'when: { var: profile, equals: lean }\nsteps:\n  - name: x\n    command: { run: "touch {{ work_root }}/leanphase", creates: "{{ work_root }}/leanphase" }\n',
  });
  const planText = await cli('plan', pb);
  expect(planText.code).toBe(0);
  expect(planText.stdout).toContain('~ will change on this OS [file]');
  expect(planText.stdout).toContain(
    `- skipped on another release [file]: not for this host: os_version is ${os.versionId}`,
  );
  expect(planText.stdout).toContain('- skipped lean only [command]: not for this host: profile is "full", not lean');
  expect(planText.stdout).toContain('phase leanphase: skipped (not for this host: profile is "full", not lean)');

  const r = await cli('provision', pb, ['--json']);
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout) as RunResult;
  expect(steps(run).map((s) => `${s.phase}/${s.name}: ${s.status}`)).toEqual([
    'os/on this OS: changed',
    'os/on another release: skipped',
    'os/lean only: skipped',
    'leanphase/x: skipped',
  ]);
  expect(existsSync(join(fleet.root(0), 'this-os'))).toBe(true);
  for (const f of ['other-release', 'lean', 'leanphase'])
    expect([f, existsSync(join(fleet.root(0), f))]).toEqual([f, false]);
  // the connected line names the OS from the same facts
  const text = await cli('provision', pb);
  expect(text.stdout + text.stderr).toContain(`connected (${os.pretty || os.id}`);
}, 300_000);

test('a failing assert fails its step with one line saying what is wrong; later steps do not run', async () => {
  fleet.writeInventory({ hostVars: () => ({ odd: "it's %s $(touch pwned)" }) });
  writeFileSync(join(fleet.root(0), 'this-os'), 'yes\n');
  const pb = playbook({
    checks: [
      'steps:',
      '  - name: the file is there',
      '    assert: { file: "{{ work_root }}/this-os" }',
      '  - name: it says yes',
      '    assert: { file: "{{ work_root }}/this-os", contains: "yes" }',
      '  - name: the port answers',
      '    assert: { command: "echo probing {{ odd }}; echo refused >&2; exit 3" }',
      '  - name: never reached',
      '    command: { run: "touch {{ work_root }}/reached" }',
      '',
    ].join('\n'),
  });
  const r = await cli('provision', pb, ['--json']);
  expect(r.code).toBe(2);
  const run = JSON.parse(r.stdout) as RunResult;
  const s = steps(run);
  expect(s.map((x) => `${x.name}: ${x.status}`)).toEqual([
    'the file is there: ok',
    'it says yes: ok',
    'the port answers: failed',
    'never reached: skipped',
  ]);
  const failed = s[2]!;
  expect(failed.reason).toBe(
    `exit 1: assertion failed: exit 3: echo probing 'it'\\''s %s $(touch pwned)'; echo refused >&2; exit 3`,
  );
  expect(failed.output).toBe(`probing it's %s $(touch pwned)\nrefused\n${failed.reason.slice('exit 1: '.length)}`);
  expect(existsSync(join(fleet.root(0), 'reached'))).toBe(false);
  expect(existsSync(join(fleet.root(0), 'pwned'))).toBe(false);

  // a file that lacks the text, with the author's message
  const pb2 = playbook({
    checks:
      'steps:\n  - name: says no\n    assert: { file: "{{ work_root }}/this-os", contains: "no", message: "this-os must say no" }\n',
  });
  const r2 = await cli('provision', pb2, ['--json']);
  expect(r2.code).toBe(2);
  expect(steps(JSON.parse(r2.stdout) as RunResult)[0]!.reason).toBe('exit 1: assertion failed: this-os must say no');
  // plan shows a failing assert as what it would report, changing nothing
  const plan = await cli('plan', pb2);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('phase checks: 1 check failing now\n');
  expect(plan.stdout).toContain('! would fail says no [assert]: assertion failed: this-os must say no');
  expect(plan.stdout).not.toContain('will change');
  // and the progress line of that step says the same
  expect(plan.stdout + plan.stderr).toContain('checks / says no: would fail - assertion failed: this-os must say no');
}, 300_000);
