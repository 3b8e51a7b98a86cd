// Development aid: boots fake droplet(s) with the stand-in IDE servers and an inventory
// for the default playbooks, prints how to use them, and keeps them up until
// <dir>/stop exists or the process gets SIGINT/SIGTERM (at most VPSPROV_DEV_HOURS, default 4).
//   node dist/test/support/dev-droplet.js [count] [full|lean] [trixie|bookworm]
// then e.g.  XDG_CONFIG_HOME=<dir>/config node dist/src/cli/main.js run rdp -i <dir>/inventory.yml --yes
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startWorkstations } from './workstation-fixture.js';

const count = Number(process.argv[2] ?? 1);
const profile = process.argv[3] === 'lean' ? 'lean' : 'full';
const release = process.argv[4] === 'bookworm' ? 'bookworm' : 'trixie';
const ws = await startWorkstations({
  count,
  profile,
  release,
  namePrefix: 'vpsprov-dev',
  log: (l) => process.stderr.write(`${l}\n`),
});
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await ws.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
process.stdout.write(
  [
    `dir=${ws.dir}`,
    `inventory=${ws.inventoryPath}`,
    `config=${ws.configHome}`,
    `key=${ws.key.privateKeyPath}`,
    `known_hosts=${ws.knownHostsPath}`,
    ...ws.droplets.map((d) => `host=${d.name} ${d.address}`),
    `standins=${ws.standins.baseUrl}`,
    `stop: touch ${join(ws.dir, 'stop')}`,
  ].join('\n') + '\n',
);
const deadline = Date.now() + Number(process.env.VPSPROV_DEV_HOURS ?? 4) * 3600_000;
while (!existsSync(join(ws.dir, 'stop')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
await stop();
