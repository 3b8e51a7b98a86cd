// The host lock under races, against a real sshd: several controllers' session scripts
// released at the same instant on one state dir never both get the lock, with no lock,
// a stale one, or one without an owner; and two real CLI runs racing on one host never
// run a step at the same time.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  mkdirSync,
  writeFileSync,
  readFileSync,
  existsSync,
  rmSync,
  mkdtempSync,
  utimesSync,
  readdirSync,
} from 'node:fs';
import { join } from 'node:path';
import { openSessionScript, LOCK_GRACE_S } from '../../src/shell/host-scripts.js';
import { shQuote } from '../../src/shell/shell-quote.js';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';

let fleet: TestFleet;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fleet = await startTestFleet(1);
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await fleet?.stop();
});

function ssh(text: string): { done: Promise<string>; out: () => string } {
  const args = [
    '-i',
    fleet.key.privateKeyPath,
    '-p',
    String(fleet.sshds[0]!.port),
    '-o',
    `UserKnownHostsFile=${fleet.knownHostsPath}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=30',
    'root@127.0.0.1',
    `exec sh -c ${shQuote(text)}`,
  ];
  const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('ssh timed out'));
    }, 120_000);
    child.once('close', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve(out);
    });
  });
  return { done, out: () => out };
}

async function until(cond: () => boolean, what: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const CONTROLLERS = 4;

test.each([
  ['no lock', 4],
  ['a stale lock (its driver is gone)', 4],
  ['a lock without an owner, past the grace period', 2],
  ['a lock without an owner, within the grace period', 1],
])(
  `${CONTROLLERS} controllers released at once on %s: at most one gets the lock`,
  async (kind, rounds) => {
    for (let round = 0; round < rounds; round++) {
      const base = mkdtempSync(join(fleet.dir, 'race-'));
      const S = join(base, 'state');
      const L = join(S, 'lock');
      mkdirSync(join(S, 'runs', 'R-old'), { recursive: true });
      let sampler: ChildProcess | undefined;
      if (kind.startsWith('a stale')) {
        // the stale run's sampler, still running: the take-over stops it
        sampler = spawn('sh', ['-c', 'sleep 300; :', 'sampler.sh'], { stdio: 'ignore' });
        children.add(sampler);
        const pid = sampler.pid!;
        await until(() => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sampler.sh');
          } catch {
            return false;
          }
        }, 'the sampler stand-in to start');
        writeFileSync(join(S, 'runs', 'R-old', 'monitor.pid'), `${sampler.pid}\n`);
        mkdirSync(L);
        writeFileSync(
          join(L, 'owner'),
          `run=R-old\nholder=gone@laptop\npid=999999999\nboot=${boot}\nsince=2026-01-01T00:00:00Z\n`,
        );
      }
      if (kind.startsWith('a lock without')) {
        mkdirSync(L);
        if (kind.endsWith('past the grace period'))
          utimesSync(
            L,
            new Date(Date.now() - (LOCK_GRACE_S + 30) * 1000),
            new Date(Date.now() - (LOCK_GRACE_S + 30) * 1000),
          );
      }
      const go = join(base, 'go');
      const end = join(base, 'end');
      // each controller: connected and waiting; released together; keeps its driver (this sh) alive until the end
      const runs = Array.from({ length: CONTROLLERS }, (_, i) => {
        const script = openSessionScript(`n${i}`, S, {
          runId: `R-${round}-${i}`,
          holder: `c${i}`,
          since: '2026-11-30T00:00:00Z',
        });
        return ssh(
          `VPSP_DRIVER=$$; export VPSP_DRIVER; touch ${shQuote(join(base, `ready-${i}`))}; ` +
            `while [ ! -e ${shQuote(go)} ]; do sleep 0.01; done\n${script}\n` +
            `printf 'owner-after %s\\n' "$(sed -n 's/^run=//p' ${shQuote(join(L, 'owner'))})"; ` +
            `while [ ! -e ${shQuote(end)} ]; do sleep 0.05; done`,
        );
      });
      await until(
        () => readdirSync(base).filter((f) => f.startsWith('ready-')).length === CONTROLLERS,
        'all controllers connected',
      );
      writeFileSync(go, '');
      // every controller has answered while all of them (their drivers) are still alive
      await until(() => runs.every((r) => r.out().includes('owner-after')), 'every controller to answer');
      writeFileSync(end, '');
      const results = await Promise.all(runs.map((r) => r.done));
      const states = results.map((o) => /LOCK (\S+)/.exec(o)?.[1]);
      const winners = results
        .map((o, i) => ({ i, state: /LOCK (\S+)/.exec(o)?.[1] }))
        .filter((w) => w.state === 'acquired' || w.state === 'stale');
      expect(states.every((s) => s === 'acquired' || s === 'stale' || s === 'held')).toBe(true);
      if (kind.endsWith('within the grace period')) {
        expect(winners).toEqual([]);
      } else {
        expect(winners).toHaveLength(1);
        // the winner's lock is the one on the host, whole
        const owner = readFileSync(join(L, 'owner'), 'utf8');
        expect(owner).toContain(`run=R-${round}-${winners[0]!.i}\n`);
        expect(owner).toMatch(/^run=.*\nholder=c\d\npid=\d+\nboot=.*\nsince=.*\n$/);
      }
      if (sampler) {
        await until(
          () => sampler!.exitCode !== null || sampler!.signalCode !== null,
          "the stale run's sampler to stop",
          20_000,
        );
        expect(sampler.signalCode).toBe('SIGTERM');
        expect(existsSync(join(S, 'runs', 'R-old', 'monitor.pid'))).toBe(false);
      }
      // nothing left over from the losers or the take-over
      expect(readdirSync(S).filter((f) => f.startsWith('.lock'))).toEqual([]);
      rmSync(base, { recursive: true, force: true });
    }
  },
  600_000,
);

test('two controllers racing on one host never run a step at the same time', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  const log = join(fleet.root(0), 'spans.log');
  writeFileSync(join(pb, 'site.yml'), 'phases: [work]\n');
  writeFileSync(
    join(pb, 'work.yml'),
    'name: work\nestimate_s: 5\nsteps:\n  - name: span\n    command: { run: "echo start >> {{ work_root }}/spans.log; sleep 1; echo end >> {{ work_root }}/spans.log" }\n',
  );
  for (let round = 0; round < 3; round++) {
    // round 1 and 2 start from a stale lock both controllers will want to take over
    if (round > 0) {
      const L = join(fleet.stateDir(0), 'lock');
      rmSync(L, { recursive: true, force: true });
      mkdirSync(L, { recursive: true });
      writeFileSync(
        join(L, 'owner'),
        `run=20260101T000000Z-beef\nholder=gone@laptop\npid=999999999\nboot=${boot}\nsince=2026-01-01T00:00:00Z\n`,
      );
    }
    const [a, b] = await Promise.all(
      [0, 1].map(() => runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--force'])),
    );
    const ran = [a!, b!].filter((r) => r.code === 0).length;
    const refused = [a!, b!].filter(
      (r) => r.code === 2 && r.stdout.includes('another vps-provision run holds the lock'),
    ).length;
    if (ran + refused !== 2)
      throw new Error(
        `round ${round}: ${[a!, b!].map((r) => `exit ${r.code}\n${r.stdout}${r.stderr}`).join('\n---\n')}`,
      );
    expect(ran).toBeGreaterThanOrEqual(1);
  }
  // every span closed before the next one opened
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  lines.forEach((l, i) => expect(l).toBe(i % 2 === 0 ? 'start' : 'end'));
  expect(existsSync(join(fleet.stateDir(0), 'lock'))).toBe(false);
}, 600_000);
