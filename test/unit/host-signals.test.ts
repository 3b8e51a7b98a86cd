// Ctrl-C's one AbortSignal and a fleet of hosts in flight: the run's signal carries one
// listener however many hosts run at once (12 hosts used to add 12, and Node printed
// "MaxListenersExceededWarning: 11 abort listeners" at --concurrency 50), each host's own
// signal still follows it, and nothing is left on it after the run. The hosts are local
// shells (LocalConnector) held together by a first step that waits until all have reached it.
import { getEventListeners } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostSpec } from '../../src/config/inventory.js';
import { instantiatePhase, loadPlaybook } from '../../src/config/playbook.js';
import { runFleet } from '../../src/engine/fleet-runner.js';
import { hostSignals } from '../../src/engine/host-signals.js';
import { LocalConnector } from '../../src/transport/local-connector.js';

let dir: string;
let connector: LocalConnector;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vps-host-signals-'));
  mkdirSync(join(dir, 'tmp'));
  connector = new LocalConnector({ env: { TMPDIR: join(dir, 'tmp') } });
});
afterEach(() => {
  for (const c of connector.connections) c.close();
  rmSync(dir, { recursive: true, force: true });
});

test('hostSignals: a host signal follows the run, until released; close leaves no listener', () => {
  const run = new AbortController();
  const signals = hostSignals(run.signal);
  const a = signals.take();
  const b = signals.take();
  b.release();
  expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
  run.abort('stop');
  expect([a.signal?.aborted, a.signal?.reason, b.signal?.aborted]).toEqual([true, 'stop', false]);
  // taken after the run was aborted: aborted at once
  expect(signals.take().signal?.aborted).toBe(true);
  signals.close();
  expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  expect(hostSignals(undefined).take().signal).toBeUndefined();
});

test('12 hosts in flight together: one listener on the run signal, none after', async () => {
  const HOSTS = 12;
  const barrier = join(dir, 'barrier');
  mkdirSync(barrier);
  const pb = join(dir, 'pb');
  mkdirSync(pb);
  writeFileSync(join(pb, 'site.yml'), 'phases: [wide]\n');
  // builtins and one sleep per turn; bounded (60 s): a slow machine shortens the overlap, never fails the step
  const wait =
    `touch ${barrier}/{{ me }}; i=0; while :; do set -- ${barrier}/*; [ $# -ge ${HOSTS} ] && break; ` +
    `i=$((i+1)); [ $i -lt 300 ] || break; sleep 0.2; done; touch {{ work_root }}/met`;
  writeFileSync(
    join(pb, 'wide.yml'),
    'name: wide\nestimate_s: 30\nsteps:\n' +
      `  - name: everyone here\n    command: { run: ${JSON.stringify(wait)}, creates: "{{ work_root }}/met" }\n` +
      Array.from(
        { length: 10 },
        (_, i) => `  - name: f${i}\n    file: { path: "{{ work_root }}/f${i}", content: "${i}" }\n`,
      ).join(''),
  );
  const playbook = loadPlaybook(pb);
  const hosts = Array.from({ length: HOSTS }, (_, i) => {
    const name = `local-${i + 1}`;
    const work = join(dir, 'work', name);
    mkdirSync(work, { recursive: true });
    const host: HostSpec = {
      name,
      address: '127.0.0.1',
      explicit: {},
      fallback: { user: 'root', port: 22 },
      become: false,
      vars: { work_root: work, me: name },
      stateDir: join(dir, 'state', name),
    };
    return { host, phases: playbook.phases.map((p) => instantiatePhase(playbook, p, host.vars, name)) };
  });
  const interrupt = new AbortController();
  let most = 0;
  const run = await runFleet(connector, {
    mode: 'apply',
    runId: '20261130T000000Z-00000000000000aa',
    holder: 'test (pid 1)',
    force: false,
    concurrency: 50,
    signal: interrupt.signal,
    emit: () => {
      most = Math.max(most, getEventListeners(interrupt.signal, 'abort').length);
    },
    hosts,
  });
  expect(run.hosts.map((h) => h.status)).toEqual(Array(HOSTS).fill('ok'));
  expect(readdirSync(barrier)).toHaveLength(HOSTS);
  expect(most).toBe(1);
  expect(getEventListeners(interrupt.signal, 'abort')).toHaveLength(0);
}, 180_000);
