// The remote driver's and the steps' limits against real sshd (issue 10): a script whose
// bytes do not all reach the host runs not at all; a step's kept output is capped; a
// 200 KB `line` value goes through and later runs still work.
import { writeFileSync, mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';
import { STEP_OUTPUT_CAP } from '../../src/shell/phase-scripts.js';

let fleet: TestFleet;
let tight: TestFleet;
let small: string;

beforeAll(async () => {
  fleet = await startTestFleet(1);
  // the second host's remote shells keep their scripts on a 1 MiB filesystem (TMPDIR set by its sshd)
  small = mkdtempSync(join(tmpdir(), 'vps-smalltmp-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'tmpfs', small]);
  tight = await startTestFleet(1, { prefix: 'tight', sshdConfig: [`SetEnv TMPDIR=${small}`] });
});
afterAll(async () => {
  await tight?.stop();
  if (small) execFileSync('umount', [small]);
  await fleet?.stop();
});

function playbooks(base: string, phases: Record<string, string>): string {
  const pb = mkdtempSync(join(base, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), `phases: [${Object.keys(phases).join(', ')}]\n`);
  for (const [name, body] of Object.entries(phases))
    writeFileSync(join(pb, `${name}.yml`), `name: ${name}\nestimate_s: 5\n${body}`);
  return pb;
}

test('a script that does not reach the host whole (its temp folder fills up): "did not arrive whole", nothing of it ran, the host still answers', async () => {
  // the apply script carries 3 MB of file content: it cannot be written whole into 1 MiB
  const pb = playbooks(tight.dir, {
    big: `steps:\n  - name: first marker\n    command: { run: "touch {{ work_root }}/first" }\n  - name: big file\n    file: { path: "{{ work_root }}/big.bin", content: "${'z'.repeat(3_000_000)}" }\n`,
    after: 'steps:\n  - name: after marker\n    command: { run: "touch {{ work_root }}/after" }\n',
  });
  const r = await runCli(['provision', '-i', tight.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 120_000,
  });
  expect(r.code).toBe(2);
  const host = (JSON.parse(r.stdout) as RunResult).hosts[0]!;
  expect(host.status).toBe('failed');
  expect(JSON.stringify(host)).toContain(
    'a script did not arrive whole on the host (its temp folder may be full); nothing of it ran',
  );
  // not the first step either: the script is one unit
  expect(readdirSync(tight.root(0))).toEqual([]);
  // the driver stayed in step: the lock was released by the closing script on the same shell
  expect(existsSync(join(tight.stateDir(0), 'lock'))).toBe(false);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  // and the next run, with scripts that fit, works
  const ok = await runCli(
    [
      'provision',
      '-i',
      tight.inventoryPath,
      '--playbooks',
      playbooks(tight.dir, {
        after: 'steps:\n  - name: after marker\n    command: { run: "touch {{ work_root }}/after" }\n',
      }),
      '--yes',
    ],
    { timeoutMs: 120_000 },
  );
  expect(`${ok.code} ${ok.stderr}`).toMatch(/^0 /);
  expect(existsSync(join(tight.root(0), 'after'))).toBe(true);
}, 240_000);

test('a step printing 3 MiB: what the host keeps is capped, the last 2000 bytes are shown, the run goes on', async () => {
  const big = "head -c 3145728 /dev/zero | tr '\\\\000' a; echo; echo END-OF-BIG";
  const pb = playbooks(fleet.dir, {
    loud:
      `steps:\n  - name: loud and fine\n    command: { run: "${big}" }\n` +
      // the step reads the size of its own output file on the host (its stdout) after the watchdog's tick
      `  - name: loud and failing\n    command: { run: "${big}; sleep 3; echo kept=$(wc -c < /proc/$$/fd/1); exit 3" }\n`,
    after: 'steps:\n  - name: after marker\n    command: { run: "touch {{ work_root }}/after-loud" }\n',
  });
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 120_000,
  });
  expect(r.code).toBe(2);
  const [loud, after] = (JSON.parse(r.stdout) as RunResult).hosts[0]!.phases;
  expect(loud!.steps[0]!.status).toBe('changed');
  const failed = loud!.steps[1]!;
  expect(failed.status).toBe('failed');
  const output = failed.output ?? '';
  expect(Buffer.byteLength(output)).toBeLessThanOrEqual(2000);
  expect(output).toMatch(/a{1000}\nEND-OF-BIG\nkept=\d+$/);
  expect(Number(/kept=(\d+)$/.exec(output)![1])).toBeLessThanOrEqual(STEP_OUTPUT_CAP);
  expect(failed.reason).toMatch(/^exit 3: kept=\d+$/);
  expect(after!.status).toBe('changed');
  expect(existsSync(join(fleet.root(0), 'after-loud'))).toBe(true);
}, 180_000);

test('a 200 KB `line` value: appended and replaced whole, and later runs still work', async () => {
  const value = `key=${'v'.repeat(200_000)}`;
  const conf = join(fleet.root(0), 'big.conf');
  writeFileSync(conf, 'first=1\nkey=old\nlast=1\n');
  const pb = playbooks(fleet.dir, {
    lines:
      `steps:\n  - name: replaced\n    line: { path: "${conf}", regexp: "^key=", line: "${value}" }\n` +
      `  - name: appended\n    line: { path: "${conf}", line: "other-${value}" }\n` +
      '  - name: next step\n    command: { run: "touch {{ work_root }}/after-lines" }\n',
  });
  const r = await runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--json'], {
    timeoutMs: 120_000,
  });
  expect(`${r.code} ${r.stderr}`).toMatch(/^0 /);
  expect((JSON.parse(r.stdout) as RunResult).hosts[0]!.phases[0]!.steps.map((s) => s.status)).toEqual([
    'changed',
    'changed',
    'changed',
  ]);
  expect(readFileSync(conf, 'utf8')).toBe(`first=1\n${value}\nlast=1\nother-${value}\n`);
  // the next run finds both lines in place (the probe reads them the same way) and goes on
  const again = await runCli(
    ['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--force', '--json'],
    { timeoutMs: 120_000 },
  );
  expect(`${again.code} ${again.stderr}`).toMatch(/^0 /);
  expect((JSON.parse(again.stdout) as RunResult).hosts[0]!.phases[0]!.steps.map((s) => s.status)).toEqual([
    'ok',
    'ok',
    'changed',
  ]);
  expect(readFileSync(conf, 'utf8')).toBe(`first=1\n${value}\nlast=1\nother-${value}\n`);
}, 180_000);
