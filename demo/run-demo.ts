// npm run demo: a throwaway sshd on 127.0.0.1 stands for a droplet; the demo playbooks
// (demo/playbooks, writing only under a temp folder) are provisioned twice through the
// real CLI: first everything changes, then a forced re-run finds everything in place.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startSshd, makeClientKey, opensshMissing } from '../test/support/local-sshd.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(repo, 'dist/src/cli/main.js');

function runCli(args: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: repo });
    child.on('close', (code) => done(code ?? 1));
  });
}

// the demo's target is a real sshd: without OpenSSH say what to install, no stack trace
const missing = opensshMissing();
if (missing) {
  process.stderr.write(`demo: ${missing}\n`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'vps-provision-demo-'));
const key = makeClientKey(dir);
const sshd = await startSshd({ authorizedKeys: [key.publicKey] });
const cleanup = async () => {
  await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  const inventory = join(dir, 'hosts.yml');
  writeFileSync(
    inventory,
    stringify({
      known_hosts_file: join(dir, 'known_hosts'),
      host_key_policy: 'accept-new',
      defaults: {
        user: process.env.USER === 'root' || !process.env.USER ? 'root' : process.env.USER,
        identity_file: key.privateKeyPath,
      },
      hosts: {
        'demo-droplet': {
          address: '127.0.0.1',
          port: sshd.port,
          state_dir: join(dir, 'state'),
          vars: { demo_root: join(dir, 'target') },
        },
      },
    }),
  );
  const common = ['-i', inventory, '--playbooks', join(repo, 'demo/playbooks')];
  console.log(`\nDemo target: sshd on 127.0.0.1:${sshd.port} (throwaway keys in ${dir})\n`);
  console.log('== 1. provision: every step changes something ==');
  let code = await runCli(['provision', ...common, '--yes']);
  console.log('\n== 2. provision --force: every step is checked again and found in place ==');
  code ||= await runCli(['provision', ...common, '--yes', '--force']);
  console.log('\n== 3. plan after a drift (a line edited on the target) ==');
  writeFileSync(join(dir, 'target/app/etc/env'), 'APP_PORT=9999\nLOG_LEVEL=info\n');
  code ||= await runCli(['plan', ...common, '--only-phase', 'config', '--force']);
  const runs = readdirSync(join(dir, 'state/runs')).sort();
  const timing = join(dir, 'state/runs', runs[0]!, 'timing.csv');
  console.log(`\nTiming recorded on the target during run 1 (${timing}):\n`);
  console.log(readFileSync(timing, 'utf8'));
  process.exitCode = code;
} finally {
  await cleanup();
}
