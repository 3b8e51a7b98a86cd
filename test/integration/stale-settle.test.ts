// Steps whose state an earlier step of the same run changes (a line in a file a command
// makes, a creates guard an earlier step satisfies) are decided again on the host by their
// settle action, inside the apply script: right outcome, honest status and reason, and no
// extra round trip per stale step. Against a real sshd.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import type { RunResult } from '../../src/engine/events.js';

let fleet: TestFleet;
let playbooks: string;

beforeAll(async () => {
  fleet = await startTestFleet(1);
  playbooks = join(fleet.dir, 'playbooks');
  mkdirSync(playbooks);
  writeFileSync(join(playbooks, 'site.yml'), stringify({ phases: ['settle'] }));
  const w = '{{ work_root }}';
  writeFileSync(
    join(playbooks, 'settle.yml'),
    stringify({
      name: 'settle',
      estimate_s: 10,
      steps: [
        {
          name: 'make conf',
          command: { run: `mkdir -p ${w}/d && printf 'a=1\\nkey=old\\n' > ${w}/d/conf`, creates: `${w}/d/conf` },
        },
        { name: 'key line', line: { path: `${w}/d/conf`, line: 'key=new', regexp: '^key=' } },
        { name: 'a line', line: { path: `${w}/d/conf`, line: 'a=1' } },
        { name: 'extra line', line: { path: `${w}/d/conf`, line: 'extra=1' } },
        { name: 'make marker', command: { run: `touch ${w}/made`, creates: `${w}/made` } },
        { name: 'marker again', command: { run: `echo ran >> ${w}/twice`, creates: `${w}/made` } },
      ],
    }),
  );
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
});

async function provision(...extra: string[]): Promise<RunResult> {
  const r = await runCli(
    ['provision', '-i', fleet.inventoryPath, '--playbooks', playbooks, '--yes', '--json', ...extra],
    { timeoutMs: 120_000 },
  );
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as RunResult;
}

test('stale steps are settled on the host in the same apply script', async () => {
  const run = await provision();
  const steps = run.hosts[0]!.phases[0]!.steps;
  expect(steps.map((s) => [s.name, s.status])).toEqual([
    ['make conf', 'changed'],
    ['key line', 'changed'],
    ['a line', 'ok'],
    ['extra line', 'changed'],
    ['make marker', 'changed'],
    ['marker again', 'ok'],
  ]);
  expect(steps[1]!.reason).toMatch(/re-checked and set on the host/);
  expect(steps[2]!.reason).toMatch(/re-checked on the host: as wanted/);
  expect(steps[5]!.reason).toMatch(/re-checked on the host: as wanted/);
  expect(readFileSync(join(fleet.root(0), 'd/conf'), 'utf8')).toBe('a=1\nkey=new\nextra=1\n');
  expect(existsSync(join(fleet.root(0), 'twice'))).toBe(false);
  // session open, probe, one apply script, close: four stale steps cost no round trip of their own
  expect(run.hosts[0]!.roundTrips).toBeLessThanOrEqual(5);

  const again = await provision('--force');
  expect(again.hosts[0]!.phases[0]!.steps.every((s) => s.status === 'ok')).toBe(true);
  expect(readFileSync(join(fleet.root(0), 'd/conf'), 'utf8')).toBe('a=1\nkey=new\nextra=1\n');
}, 300_000);
