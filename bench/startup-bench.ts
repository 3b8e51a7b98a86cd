// Start-up of the CLI against bare `node`: `vps-provision --version` (answered by main.js
// from package.json, without yargs), `--help` (yargs and the command index; no command
// module) and `vps-provision hosts` on a one-host inventory (a command that loads its modules
// and the inventory). Measured with hyperfine when it is installed (Debian package `hyperfine`), else
// with a loop of spawns. CPU time (user + sys) is the figure to compare: load on a shared
// machine stretches wall time far more than it does CPU time.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface StartupFigure {
  label: string;
  wallMs: number;
  /** user + sys, mean per run */
  cpuMs: number;
}

export interface StartupResult {
  tool: string;
  node: StartupFigure;
  figures: StartupFigure[];
}

function hasHyperfine(): boolean {
  return spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Mean wall and CPU of a command via hyperfine (-N: no intermediate shell). */
function viaHyperfine(commands: { label: string; argv: string[] }[], runs: number, cwd: string): StartupFigure[] {
  const dir = mkdtempSync(join(tmpdir(), 'vps-startup-'));
  try {
    const json = join(dir, 'out.json');
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const r = spawnSync(
      'hyperfine',
      [
        '-N',
        '-w',
        '3',
        '-r',
        String(runs),
        '--export-json',
        json,
        '--style',
        'none',
        ...commands.map((c) => c.argv.map(quote).join(' ')),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000, cwd },
    );
    if (r.status !== 0) throw new Error(`hyperfine failed: ${r.stderr?.toString().slice(-500)}`);
    const results = (
      JSON.parse(readFileSync(json, 'utf8')) as { results: { mean: number; user: number; system: number }[] }
    ).results;
    return results.map((x, i) => ({
      label: commands[i]!.label,
      wallMs: x.mean * 1000,
      cpuMs: (x.user + x.system) * 1000,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Without hyperfine: each run reports its own CPU time on exit (same way as the CLI bench). */
async function viaSpawnLoop(
  commands: { label: string; argv: string[] }[],
  runs: number,
  cwd: string,
): Promise<StartupFigure[]> {
  const probe =
    'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();process.stderr.write("\\nRUSAGE "+(u.userCPUTime+u.systemCPUTime)/1000+"\\n")})';
  const out: StartupFigure[] = [];
  for (const c of commands) {
    let wall = 0;
    let cpu = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const err = await new Promise<string>((done) => {
        const child = spawn(c.argv[0]!, ['--import', probe, ...c.argv.slice(1)], {
          stdio: ['ignore', 'ignore', 'pipe'],
          cwd,
        });
        let e = '';
        child.stderr.on('data', (d) => {
          e += d;
        });
        child.on('close', () => done(e));
      });
      wall += performance.now() - t0;
      cpu += Number(/RUSAGE ([\d.]+)/.exec(err)?.[1] ?? NaN);
    }
    out.push({ label: c.label, wallMs: wall / runs, cpuMs: cpu / runs });
  }
  return out;
}

export async function runStartupBench(cli: string, inventoryPath: string, runs = 30): Promise<StartupResult> {
  const node = process.execPath;
  const commands = [
    { label: 'node -e 0', argv: [node, '-e', '0'] },
    { label: 'vps-provision --version', argv: [node, cli, '--version'] },
    { label: 'vps-provision --help', argv: [node, cli, '--help'] },
    { label: 'vps-provision hosts (1 host)', argv: [node, cli, 'hosts', '-i', inventoryPath] },
  ];
  const tool = hasHyperfine() ? 'hyperfine' : 'spawn loop';
  // from the inventory's folder, as a user runs it from a project of theirs (not the package's own
  // folder: yargs, bundled, once searched upward from there for a package.json)
  const cwd = dirname(inventoryPath);
  const figures = tool === 'hyperfine' ? viaHyperfine(commands, runs, cwd) : await viaSpawnLoop(commands, runs, cwd);
  return { tool, node: figures[0]!, figures: figures.slice(1) };
}

/** A one-host inventory for the `hosts` command (it reads the inventory, dials nothing). */
export function writeStartupInventory(dir: string): string {
  const path = join(dir, 'startup-hosts.yml');
  writeFileSync(path, 'hosts:\n  startup-1:\n    address: 127.0.0.1\n    port: 2222\n');
  return path;
}
