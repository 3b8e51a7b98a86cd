// Smoke run of the Ansible side of the bench: local sshd targets, the 50-task playbook run
// twice (first run changes everything, second is a no-op), at 0 ms and at 50 ms added RTT.
//   node dist/bench/ansible-smoke.js [--hosts N] [--rtt 0,50] [--clean-home]
// --clean-home: targets' shells skip root's ~/.bashrc (pyenv init here), like a stock droplet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAnsible, runAnsible, type AnsibleRunResult } from './ansible-runner.js';
import { startLocalFleet, type LocalFleet } from './local-fleet.js';
import { measureExecFloor } from './ssh-floor.js';
import { BENCH_STEP_COUNT, checkBenchRoot, writeAnsiblePlaybook, writeInventories } from './fixtures/phase-50.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const hosts = Number(arg('hosts', '1'));
const rtts = arg('rtt', '0,50').split(',').map(Number);
const cleanHome = process.argv.includes('--clean-home');
const shellNote = cleanHome ? 'clean HOME on targets' : "root's ~/.bashrc (pyenv init) runs on every exec";

function line(label: string, r: AnsibleRunResult): string {
  return (
    `${label.padEnd(8)} wall ${(r.wallMs / 1000).toFixed(2).padStart(7)} s  ` +
    `(${(r.wallMs / BENCH_STEP_COUNT).toFixed(0)} ms per task, all hosts)  ok=${r.ok} changed=${r.changed} failed=${r.failed} exit=${r.exitCode}`
  );
}

async function main(): Promise<number> {
  const version = await ensureAnsible();
  console.log(`ansible-core ${version}; ${hosts} host(s), ${BENCH_STEP_COUNT} tasks, forks=${hosts}; ${shellNote}`);
  let problems = 0;
  for (const rttMs of rtts) {
    const work = mkdtempSync(join(tmpdir(), 'vps-ansible-smoke-'));
    let fleet: LocalFleet | undefined;
    try {
      fleet = await startLocalFleet({ count: hosts, rttMs, cleanHome });
      const targetRoot = join(work, 'targets');
      const playbookDir = join(work, 'ansible');
      writeAnsiblePlaybook(playbookDir);
      const inv = writeInventories({
        dir: work,
        targets: fleet.targets,
        identityFile: fleet.clientKey.privateKeyPath,
        knownHostsPath: fleet.knownHostsPath,
        targetRoot,
      });
      const t0 = fleet.targets[0]!;
      const floor = await measureExecFloor({
        host: t0.host,
        port: t0.port,
        privateKeyPath: fleet.clientKey.privateKeyPath,
      });
      const knownHostsPath = fleet.knownHostsPath;
      const run = () =>
        runAnsible({ playbookDir, inventoryPath: inv.ansibleInventoryPath, forks: hosts, knownHostsPath });
      const first = await run();
      const second = await run();
      console.log(`RTT ${rttMs} ms`);
      console.log(
        `  floor    ssh2 connect ${floor.connectMs.toFixed(0)} ms, one exec of \`true\` ${floor.execMedianMs.toFixed(0)} ms median ` +
          `(${shellNote}) -> ${((floor.execMedianMs * BENCH_STEP_COUNT) / 1000).toFixed(2)} s for 50 sequential execs`,
      );
      console.log(`  ${line('changed', first)}`);
      console.log(`  ${line('no-op', second)}`);
      const expectChanged = BENCH_STEP_COUNT * hosts;
      const bad: string[] = [];
      if (first.changed !== expectChanged || first.failed)
        bad.push(`first run: changed ${first.changed}/${expectChanged}, failed ${first.failed}`);
      if (second.changed !== 0 || second.failed || second.ok !== expectChanged)
        bad.push(`second run: ok ${second.ok}/${expectChanged}, changed ${second.changed}, failed ${second.failed}`);
      for (const [name, root] of Object.entries(inv.benchRoots))
        for (const p of checkBenchRoot(root)) bad.push(`${name}: ${p}`);
      if (bad.length) {
        problems += bad.length;
        console.log(`  PROBLEMS:\n    ${bad.slice(0, 20).join('\n    ')}`);
        console.log(first.output.slice(-3000));
      }
    } finally {
      await fleet?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  return problems ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
