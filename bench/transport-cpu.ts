// The transport's own CPU per host, without the engine: for every host of an inventory
// (e.g. the one bench/fleet-hold.ts prints), connect, open the remote driver, run the
// scripts a 50-step no-op sends (three: ~15, ~28 and ~15 kB, ~11 kB of output in all)
// and close, 50 hosts at a time, in this process. Prints this process's CPU (user + sys)
// for the whole fleet and per host; run it at two fleet sizes (--hosts) for the CPU per
// extra host. Scripts are the same shape for every host (a host name inside, as the
// engine's are).
//   node dist/bench/transport-cpu.js <inventory> <playbooks> [--hosts 100] [--reps 3]
import { loadRunContext } from '../src/cli/run-context.js';
import { createSshConnector } from '../src/transport/ssh-connector.js';
import type { RemoteShell } from '../src/transport/connection.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};

/** ~`bytes` of script that prints ~`out` bytes in lines of 64. */
function script(host: string, bytes: number, out: number): string {
  const lines = [`: host ${host}`];
  const outLines = Math.ceil(out / 64);
  for (let i = 0; i < outLines; i++)
    lines.push(`printf '%s\\n' '${host} ${String(i).padStart(6, '0')} ${'o'.repeat(40)}'`);
  let size = lines.join('\n').length;
  for (let i = 0; size < bytes; i++) {
    const l = `: step ${i} ${'p'.repeat(60)}`;
    lines.push(l);
    size += l.length + 1;
  }
  return lines.join('\n');
}

async function oneHost(connector: ReturnType<typeof createSshConnector>, name: string): Promise<number> {
  const conn = await connector.connect(name);
  let shell: RemoteShell | undefined;
  let lines = 0;
  try {
    shell = await conn.openShell();
    for (const [bytes, out] of [
      [15_000, 2_000],
      [28_000, 8_000],
      [15_000, 1_000],
    ] as const) {
      const r = await shell.run(script(name, bytes, out), () => lines++);
      if (r.exitCode !== 0) throw new Error(`${name}: a script exited ${r.exitCode}`);
    }
  } finally {
    shell?.close();
    conn.close();
  }
  return lines;
}

const [inventory, playbooks] = process.argv.slice(2);
if (!inventory || !playbooks) throw new Error('usage: transport-cpu.js <inventory> <playbooks> [--hosts n] [--reps n]');
const ctx = await loadRunContext({ inventory, playbooks, concurrency: 50, json: true, verbose: false } as Parameters<
  typeof loadRunContext
>[0]);
const names = ctx.hosts.map((h) => h.host.name).slice(0, Number(arg('hosts', '100')));
for (let rep = 0; rep < Number(arg('reps', '3')); rep++) {
  const connector = createSshConnector({ inventory: ctx.inventory });
  await connector.prepare(names);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const queue = [...names];
  let lines = 0;
  await Promise.all(
    Array.from({ length: Math.min(50, names.length) }, async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const printed = await oneHost(connector, name);
        lines += printed;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const ms = (cpu.user + cpu.system) / 1000;
  console.log(
    `${names.length} hosts: CPU ${ms.toFixed(0)} ms (${(ms / names.length).toFixed(2)} ms/host), ` +
      `wall ${((performance.now() - t0) / 1000).toFixed(1)} s, ${lines / names.length} lines/host`,
  );
}
