// Ctrl-C mid-run: the controller exits 130 within seconds, the running step is stopped,
// the lock is released, no half-written file is left, the monitor is stopped.
import { writeFileSync, mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { spawnCli } from '../support/cli.js';
import { running } from '../support/running.js';

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startTestFleet(2);
});
afterAll(async () => {
  await fleet?.stop();
});

test('SIGINT stops the run cleanly on every host', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  const marker = `vpsp-nap-${Date.now()}`;
  writeFileSync(join(pb, 'site.yml'), 'phases: [files, slow]\n');
  // a big file written first (temp file + rename), then a long step to interrupt
  writeFileSync(
    join(pb, 'files.yml'),
    `name: files\nestimate_s: 5\nsteps:\n  - name: big file\n    file: { path: "{{ work_root }}/big.txt", content: "${'y'.repeat(200_000)}" }\n`,
  );
  writeFileSync(
    join(pb, 'slow.yml'),
    `name: slow\nestimate_s: 5\nsteps:\n  - name: ready\n    command: { run: "touch {{ work_root }}/ready", creates: "{{ work_root }}/ready" }\n  - name: nap\n    command: { run: "sh -c 'sleep 60' ${marker}; touch {{ work_root }}/napped", creates: "{{ work_root }}/napped" }\n`,
  );
  const child = spawnCli([
    'provision',
    '-i',
    fleet.inventoryPath,
    '--playbooks',
    pb,
    '--yes',
    '--sample-interval',
    '1',
  ]);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  // wait until both hosts are inside the long step
  const deadline = Date.now() + 30_000;
  while ((out.match(/phase slow \(2\/2\)/g) ?? []).length < 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  expect(running(marker)).toBeGreaterThan(0);
  const sent = Date.now();
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const tookMs = Date.now() - sent;
  expect(code).toBe(130);
  expect(tookMs).toBeLessThan(15_000); // "within seconds": a hang would be minutes
  expect(out).toMatch(/interrupted during phase slow/);
  // the summary keeps what ended before the break (big file, ready: changed); only nap did not run
  expect(out.match(/interrupted in [\d.]+ s: 0 ok, 2 changed, 0 failed, 1 skipped/g)).toHaveLength(2);
  expect(running(marker)).toBe(0);
  for (let i = 0; i < 2; i++) {
    expect(existsSync(join(fleet.stateDir(i), 'lock'))).toBe(false);
    expect(existsSync(join(fleet.root(i), 'napped'))).toBe(false);
    // the completed file is whole, and no temp file is left beside it
    expect(readdirSync(fleet.root(i)).filter((f) => f.startsWith('.vpsp'))).toEqual([]);
    const runs = readdirSync(join(fleet.stateDir(i), 'runs'));
    for (const r of runs) expect(existsSync(join(fleet.stateDir(i), 'runs', r, 'monitor.pid'))).toBe(false);
  }
  expect(running(`${fleet.dir}/.*sampler\\.sh`)).toBe(0);
}, 60_000);
