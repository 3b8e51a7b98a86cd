// npm run bench: how fast vps-provision brings hosts to a state, side by side with the raw
// SSH floor and with Ansible, on the same real sshd targets, at 0 ms and 50 ms of added
// round-trip time (a user-space delay proxy: this kernel has no netem), plus the cost of
// the controller at fleet size and of merging a large report.
//   node dist/bench/run-bench.js [--rtt 0,50] [--hosts 1,10,50] [--reps 5]
//                                [--ansible-hosts 1,10] [--ansible-reps 1] [--no-ansible] [--real-bashrc]
//                                [--only startup,remote,targets,curve,merge]   (sections; default all)
//                                [--curve-hosts 10,100,1000] [--curve-reps 1] [--curve-servers 4]
//                                (light ssh2 fleet: the controller's curve; servers = ssh2 server processes)
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startLocalFleet, type LocalFleet } from './local-fleet.js';
import {
  writeVpsPhase,
  writeAnsiblePlaybook,
  writeInventories,
  checkBenchRoot,
  BENCH_STEP_COUNT,
} from './fixtures/phase-50.js';
import { ensureAnsible, runAnsible } from './ansible-runner.js';
import { measureExecFloor } from './ssh-floor.js';
import { runVpsInProcess, runVpsCli } from './vps-runner.js';
import { runMergeBench } from './merge-bench.js';
import { runStartupBench, writeStartupInventory } from './startup-bench.js';
import { runRemoteBench } from './remote-bench.js';
import { runFleetCurve } from './fleet-curve.js';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadInventory } from '../src/config/inventory.js';
import { createSshConnector } from '../src/transport/ssh-connector.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const list = (s: string) => s.split(',').filter(Boolean).map(Number);
const rtts = list(arg('rtt', '0,50'));
const hostCounts = list(arg('hosts', '1,10,50'));
const reps = Number(arg('reps', '5'));
const withAnsible = !process.argv.includes('--no-ansible');
const ansibleHosts = list(arg('ansible-hosts', '1,10'));
const ansibleReps = Number(arg('ansible-reps', '1'));
const cleanHome = !process.argv.includes('--real-bashrc');
const sections = new Set(arg('only', 'startup,remote,targets,curve,merge').split(','));
const curveHosts = list(arg('curve-hosts', '10,100,1000'));
const curveReps = Number(arg('curve-reps', '1'));
const curveServers = Number(arg('curve-servers', '4'));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** Wall times on a shared machine mean little without the load at that moment. */
const load = () =>
  `load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);
const rows: string[][] = [];
const out = (...cells: string[]) => {
  rows.push(cells);
  console.log(cells.join(' | '));
};

/** 50 `command` steps that each change something (issue: raw per-step cost). */
function writeCommandPhase(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'site.yml'), stringify({ phases: ['commands'] }));
  const steps = Array.from({ length: 50 }, (_, i) => ({
    name: `touch ${i}`,
    command: { run: `touch {{ bench_root }}/c${i}`, creates: `{{ bench_root }}/c${i}` },
  }));
  steps[0] = {
    name: 'touch 0',
    command: { run: 'mkdir -p {{ bench_root }} && touch {{ bench_root }}/c0', creates: '{{ bench_root }}/c0' },
  };
  writeFileSync(join(dir, 'commands.yml'), stringify({ name: 'commands', estimate_s: 10, steps }));
}

async function shellRoundTrip(inventoryPath: string, host: string, samples = 30): Promise<number> {
  const inv = loadInventory(inventoryPath);
  const connector = createSshConnector({ inventory: inv });
  await connector.prepare([host]);
  const conn = await connector.connect(host);
  const shell = await conn.openShell();
  await shell.run(':');
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push((await shell.run(':')).durationMs);
  shell.close();
  conn.close();
  return median(times);
}

async function benchAtRtt(rttMs: number, ansibleVersion: string | undefined): Promise<void> {
  const maxHosts = Math.max(...hostCounts, ...(withAnsible ? ansibleHosts : []));
  const work = mkdtempSync(join(tmpdir(), 'vps-bench-'));
  let fleet: LocalFleet | undefined;
  try {
    fleet = await startLocalFleet({ count: maxHosts, rttMs, cleanHome });
    const key = fleet.clientKey.privateKeyPath;
    console.log(
      `\n== RTT ${rttMs} ms (${maxHosts} sshd targets on 127.0.0.1${rttMs ? ', each behind a delay proxy' : ''}; ${cleanHome ? 'clean HOME: no ~/.bashrc work per login shell, as on a stock droplet' : "root's ~/.bashrc (pyenv) on every login shell"}) ==`,
    );
    const t0 = fleet.targets[0]!;
    const floor = await measureExecFloor({ host: t0.host, port: t0.port, privateKeyPath: key, samples: 20 });
    const setup = (n: number, tag: string) => {
      const dir = join(work, `${tag}-${n}`);
      const inv = writeInventories({
        dir,
        targets: fleet!.targets.slice(0, n),
        identityFile: key,
        knownHostsPath: fleet!.knownHostsPath,
        targetRoot: join(dir, 'targets'),
      });
      return {
        dir,
        inv,
        reset: () => {
          rmSync(join(dir, 'targets'), { recursive: true, force: true });
          rmSync(join(dir, 'state'), { recursive: true, force: true });
          for (const sd of Object.values(inv.stateDirs)) rmSync(sd, { recursive: true, force: true });
        },
      };
    };
    const one = setup(1, 'floor');
    const rt = await shellRoundTrip(one.inv.vpsInventoryPath, t0.name);
    out(
      `rtt ${rttMs}`,
      'floor',
      `ssh2 connect ${ms(floor.connectMs)}`,
      `exec of true per step ${ms(floor.execMedianMs)}`,
      `one round trip on the long-lived shell ${ms(rt)}`,
    );

    for (const [tag, write] of [
      ['50 command steps', writeCommandPhase],
      ['50 mixed steps (file/line/command)', (d: string) => writeVpsPhase(d, join(d, '..', 'targets'))],
    ] as const) {
      for (const n of hostCounts) {
        const s = setup(n, `${tag.split(' ')[1]}-${n}`);
        const pb = join(s.dir, 'playbooks');
        write(pb);
        const changed: number[] = [];
        const noop: number[] = [];
        let last;
        for (let r = 0; r < reps; r++) {
          s.reset();
          const c = await runVpsInProcess(s.inv.vpsInventoryPath, pb);
          if (c.changed !== 50 * n || c.failed)
            throw new Error(`${tag}, ${n} hosts: changed run gave ${c.changed} changed, ${c.failed} failed`);
          changed.push(c.afterConnectMs);
          const o = await runVpsInProcess(s.inv.vpsInventoryPath, pb);
          if (o.changed !== 0 || o.ok !== 50 * n) throw new Error(`${tag}, ${n} hosts: no-op run changed ${o.changed}`);
          noop.push(o.afterConnectMs);
          last = { c, o };
        }
        if (tag.includes('mixed'))
          for (const root of Object.values(s.inv.benchRoots)) {
            const p = checkBenchRoot(root);
            if (p.length) throw new Error(p.join('; '));
          }
        out(
          `rtt ${rttMs}`,
          `vps-provision ${tag}`,
          `${n} host(s)`,
          `changed ${ms(median(changed))} (${ms(median(changed) / 50)}/step)`,
          `no-op ${ms(median(noop))} (${ms(median(noop) / 50)}/step)`,
          `beyond connect; connect ${ms(last!.o.connectMs)}; round trips/host changed ${last!.c.roundTripsPerHost}, no-op ${last!.o.roundTripsPerHost}`,
          `no-op = ${(median(noop) / Math.max(rt, 0.01)).toFixed(1)} round trips`,
        );
      }
    }

    // the whole CLI as a user runs it, to compare with ansible-playbook's wall time
    const cliWall = new Map<number, { changed: number; noop: number; rssKb: number; cpuMs: number }>();
    for (const n of [...new Set([...ansibleHosts, Math.max(...hostCounts)])].filter((n) => n <= maxHosts)) {
      const s = setup(n, `cli-${n}`);
      const pb = join(s.dir, 'playbooks');
      writeVpsPhase(pb, join(s.dir, 'targets'));
      const changed: number[] = [];
      const noop: number[] = [];
      let rss = 0;
      let cpu = 0;
      for (let r = 0; r < Math.max(1, Math.min(reps, 3)); r++) {
        s.reset();
        const c = await runVpsCli(s.inv.vpsInventoryPath, pb, join(s.dir, 'reports'));
        const o = await runVpsCli(s.inv.vpsInventoryPath, pb, join(s.dir, 'reports'));
        if (c.code !== 0 || o.code !== 0) throw new Error(`CLI run on ${n} hosts exited ${c.code}/${o.code}`);
        changed.push(c.wallMs);
        noop.push(o.wallMs);
        rss = Math.max(rss, c.peakRssKb, o.peakRssKb);
        cpu = Math.max(cpu, c.cpuMs, o.cpuMs);
      }
      cliWall.set(n, { changed: median(changed), noop: median(noop), rssKb: rss, cpuMs: cpu });
      out(
        `rtt ${rttMs}`,
        `vps-provision CLI (node start-up, monitor, report included)`,
        `${n} host(s)`,
        `changed ${ms(median(changed))}`,
        `no-op ${ms(median(noop))}`,
        `controller peak RSS ${(rss / 1024).toFixed(0)} MB, CPU ${ms(cpu)}`,
      );
    }

    if (ansibleVersion) {
      for (const n of ansibleHosts.filter((x) => x <= maxHosts)) {
        const s = setup(n, `ansible-${n}`);
        const pbDir = join(s.dir, 'ansible');
        writeAnsiblePlaybook(pbDir);
        const changed: number[] = [];
        const noop: number[] = [];
        for (let r = 0; r < ansibleReps; r++) {
          s.reset();
          const opts = {
            playbookDir: pbDir,
            inventoryPath: s.inv.ansibleInventoryPath,
            forks: n,
            knownHostsPath: fleet.knownHostsPath,
            timeoutMs: 1_800_000,
          };
          const c = await runAnsible(opts);
          const o = await runAnsible(opts);
          if (c.failed || o.failed || c.changed !== 50 * n || o.changed !== 0)
            throw new Error(
              `ansible on ${n} hosts: changed ${c.changed}/${o.changed}, failed ${c.failed}/${o.failed}\n${o.output.slice(-2000)}`,
            );
          changed.push(c.wallMs);
          noop.push(o.wallMs);
        }
        const v = cliWall.get(n);
        out(
          `rtt ${rttMs}`,
          `ansible-core ${ansibleVersion} (pipelining, ControlPersist, facts off, forks ${n})`,
          `${n} host(s)`,
          `changed ${ms(median(changed))}`,
          `no-op ${ms(median(noop))}`,
          v
            ? `Ansible / vps-provision CLI: changed ${(median(changed) / v.changed).toFixed(1)}x, no-op ${(median(noop) / v.noop).toFixed(1)}x`
            : '',
        );
      }
    }
  } finally {
    await fleet?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `vps-provision bench: ${BENCH_STEP_COUNT}-step phases, medians of ${reps} run(s) (Ansible: ${ansibleReps}); node ${process.version}`,
  );
  if (sections.has('startup')) {
    const dir = mkdtempSync(join(tmpdir(), 'vps-bench-startup-'));
    try {
      const st = await runStartupBench(CLI, writeStartupInventory(dir));
      out('start-up', `node -e 0 (${st.tool})`, `CPU ${ms(st.node.cpuMs)}`, `wall ${ms(st.node.wallMs)}`, load());
      for (const f of st.figures) {
        out(
          'start-up',
          f.label,
          `CPU ${ms(f.cpuMs)} (+${ms(f.cpuMs - st.node.cpuMs)} over node)`,
          `wall ${ms(f.wallMs)} (+${ms(f.wallMs - st.node.wallMs)} over node)`,
          load(),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (sections.has('remote')) {
    const r = await runRemoteBench();
    out(
      'remote',
      `50-step no-op probe: ${r.probeForks} processes forked (programs: ${r.probePrograms.join(', ')})`,
      `${r.perStepForks} when each step is probed on its own`,
      'strace -f of the probe script in the local sh, on the files a real run left; the driver adds 2 per script (dd, sh)',
    );
    out(
      'remote',
      `50-step mixed phase, 1 host: round trips changed ${r.changedRoundTrips}, no-op ${r.noopRoundTrips}`,
      `${r.changed} steps changed`,
      'session open/close included',
    );
    out(
      'remote',
      `50-step no-op CLI run, 1 host: ${r.runForks} processes forked on the host`,
      [...r.runPrograms].map(([p, n]) => `${p} x${n}`).join(', '),
      'strace -f of the target sshd: its login, the driver, every script, the sampler',
    );
  }
  if (sections.has('targets')) {
    const ansibleVersion = withAnsible ? await ensureAnsible() : undefined;
    for (const rtt of rtts) await benchAtRtt(rtt, ansibleVersion);
  }
  if (sections.has('curve')) {
    const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
    // median (min-max) of the reps
    const spread = (xs: number[], f: (x: number) => string) =>
      xs.length > 1 ? `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})` : f(xs[0]!);
    const points = await runFleetCurve(curveHosts, { reps: curveReps, servers: curveServers, log: console.log });
    for (const p of points) {
      const cpu = p.noop.map((r) => r.cpuMs);
      out(
        'curve',
        `${p.hosts} light hosts (${p.servers} ssh2 server processes, a real sh per session; --concurrency 50)`,
        `no-op x${p.noop.length}: wall ${spread(
          p.noop.map((r) => r.wallMs),
          ms,
        )}, CPU ${spread(cpu, ms)} (${ms(median(cpu) / p.hosts)}/host), peak RSS ${spread(
          p.noop.map((r) => r.peakRssKb),
          mb,
        )}`,
        `handshakes median ${spread(
          p.noop.map((r) => r.handshakeMedianMs),
          ms,
        )}, slowest ${ms(Math.max(...p.noop.map((r) => r.handshakeMaxMs)))}; forks/host ${spread(
          p.noop.map((r) => r.forksPerHost),
          (x) => x.toFixed(1),
        )}`,
        p.changed
          ? `changed: wall ${ms(p.changed.wallMs)}, CPU ${ms(p.changed.cpuMs)}, peak RSS ${mb(p.changed.peakRssKb)}`
          : 'changed: one host, its end state copied to the others',
        `remote sh at once <= ${p.peakRemoteProcesses}`,
        `load (1 min) at the runs' ends ${p.noop.map((r) => r.load1.toFixed(1)).join(', ')}`,
      );
    }
    // CPU per extra host between consecutive points: a straight curve has one slope
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1]!;
      const b = points[i]!;
      const slope =
        (median(b.noop.map((r) => r.cpuMs)) - median(a.noop.map((r) => r.cpuMs))) / Math.max(1, b.hosts - a.hosts);
      out('curve', `controller CPU per extra host, ${a.hosts} -> ${b.hosts} hosts`, ms(slope));
    }
  }
  if (sections.has('merge')) {
    const merge = await runMergeBench();
    out(
      'report',
      `merge of ${merge.hosts} hosts x ${merge.samples / merge.hosts} samples`,
      `load + merge + write ${ms(merge.mergeMs)} (CPU ${ms(merge.cpuMs)})`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
