// vps-provision check: preflight on every host: reachability, auth, sudo, OS, disk, RAM,
// and every external source of the selected phases (apt repositories, keys, .debs)
// resolving from the host. One round trip per host after connecting; nothing is changed.
import type { CommandModule } from 'yargs';
import { loadInventory, selectHosts, type HostSpec } from '../../config/inventory.js';
import type { PhaseInstance } from '../../config/playbook.js';
import { loadRunContext } from '../run-context.js';
import { sourceCheck, sourceFailureText } from '../host-preflight.js';
import { onEachHost, preparedConnector, hostFailureText } from '../each-host.js';
import { Secret } from '../../shell/secret.js';
import type { CommonArgs } from '../run-context.js';
import { SUDO_PASSWORD_ENV } from '../execute-run.js';
import { makePaint, colorWanted } from '../ui/color.js';
import { EXIT } from '../exit-codes.js';
import { terminalLine } from '../ui/terminal-text.js';
import { jsonText } from '../ui/json-output.js';
import { osReleaseProbe, parseOsRelease, osName, type OsFacts } from '../../facts/os-release.js';

/** The releases the default playbooks are proven on (fake-droplet tests of each). */
const PROVEN = [
  { id: 'debian', version: '12' },
  { id: 'debian', version: '13' },
];
const PROVEN_TEXT = 'Debian 12 and 13';

/**
 * What `check` says of a host's OS. Only what the default playbooks are proven on (the
 * fake-droplet tests) is "proven"; anything else is a warning, not a
 * failure (a playbooks folder of one's own may well fit it).
 */
export function osSupport(os: OsFacts): { ok: boolean; warn: boolean; detail: string } {
  const name = osName(os);
  // VERSION_ID is "12" on Debian (point releases are in /etc/debian_version), "13.1" tolerated
  if (PROVEN.some((p) => os.id === p.id && (os.versionId === p.version || os.versionId.startsWith(`${p.version}.`)))) {
    return { ok: true, warn: false, detail: `${name} (the default playbooks are proven on ${PROVEN_TEXT})` };
  }
  return { ok: true, warn: true, detail: `${name}: the default playbooks are proven on ${PROVEN_TEXT} only` };
}

const PROBE = [
  `echo "os=$( ${osReleaseProbe()} )"`,
  `echo "user=$(id -un)"`,
  `awk '/^MemTotal:/{print "mem_mb=" int($2/1024)}' /proc/meminfo`,
  `df -Pk / | awk 'NR==2{print "disk_free_mb=" int($4/1024)}'`,
  `echo "cpus=$(nproc 2>/dev/null || echo 1)"`,
  `command -v systemctl >/dev/null && echo systemd=yes || echo systemd=no`,
].join('; ');

export interface CheckResult {
  host: string;
  ok: boolean;
  /** warn: passes, but says something to look at */
  checks: { name: string; ok: boolean; warn?: boolean; detail: string }[];
}

interface Args extends CommonArgs {
  minDiskGb: number;
  minMemMb: number;
  onlyPhase?: string[];
  skipPhase?: string[];
  skipSourceCheck: boolean;
}

export const checkCommand: CommandModule<CommonArgs, Args> = {
  builder: (y) =>
    y
      .option('min-disk-gb', { type: 'number', default: 10, describe: 'free disk needed on /' })
      .option('min-mem-mb', { type: 'number', default: 1900, describe: 'memory needed' })
      .option('only-phase', {
        type: 'string',
        array: true,
        describe: 'check the sources of these phases only (repeatable, or comma list)',
      })
      .option('skip-phase', { type: 'string', array: true, describe: 'leave out the sources of these phases' })
      .option('skip-source-check', {
        type: 'boolean',
        default: false,
        describe:
          'do not check that every key, apt repository and .deb URL of the selected phases resolves from each host (the playbooks are then not loaded)',
      }) as never,
  handler: async (args) => {
    const inv = loadInventory(args.inventory);
    // the phases whose sources are checked, rendered per host (the playbooks load cleanly first)
    const phasesOf = new Map<string, PhaseInstance[]>();
    let hosts: HostSpec[];
    if (args.skipSourceCheck) hosts = selectHosts(inv, args.limit, args.shard);
    else {
      const ctx = await loadRunContext(args, { only: args.onlyPhase, skip: args.skipPhase }, inv);
      hosts = ctx.hosts.map((h) => h.host);
      for (const h of ctx.hosts) phasesOf.set(h.host.name, h.phases);
    }
    // e.g. a changed host key let through by the policy off: never silent
    const connector = await preparedConnector(
      inv,
      args,
      hosts.map((h) => h.name),
      (host, message) => process.stderr.write(`${host}: warning: ${message}\n`),
    );
    const sudo = process.env[SUDO_PASSWORD_ENV];
    const results = await onEachHost(
      connector,
      hosts,
      { concurrency: args.concurrency },
      async (conn, h, connectMs): Promise<CheckResult> => {
        const checks: CheckResult['checks'] = [];
        const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
        add('connect', true, `authenticated in ${Math.round(connectMs)} ms`);
        try {
          const shell = await conn.openShell({
            become: h.become,
            sudoPassword: h.become && sudo ? new Secret(sudo) : undefined,
          });
          const lines: string[] = [];
          const sources = args.skipSourceCheck ? undefined : sourceCheck(phasesOf.get(h.name) ?? []);
          await shell.run(sources ? `${PROBE}\n${sources.script}` : PROBE, (l) => {
            if (!sources?.onLine(l)) lines.push(l);
          });
          shell.close();
          // the shell names its user once its driver has started, i.e. after the first run
          add(
            'privileges',
            true,
            h.become
              ? `sudo works (runs as ${shell.user})`
              : `login user ${shell.user}${shell.user === 'root' ? '' : ' (no become: steps run unprivileged)'}`,
          );
          const f = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
          const os = osSupport(parseOsRelease(f.os ?? ''));
          checks.push({ name: 'os', ok: os.ok, ...(os.warn ? { warn: true } : {}), detail: os.detail });
          add(
            'systemd',
            f.systemd === 'yes',
            f.systemd === 'yes' ? 'systemctl present' : 'no systemd: service steps will fail',
          );
          const disk = Number(f.disk_free_mb);
          add(
            'disk',
            disk >= args.minDiskGb * 1024,
            `${(disk / 1024).toFixed(1)} GB free on / (need ${args.minDiskGb})`,
          );
          const mem = Number(f.mem_mb);
          add('memory', mem >= args.minMemMb, `${mem} MB (need ${args.minMemMb}), ${f.cpus} CPU(s)`);
          if (sources?.sources.length) {
            const v = sources.verdicts();
            if (v.warning) checks.push({ name: 'sources', ok: true, warn: true, detail: v.warning });
            else if (!v.failures.length)
              add(
                'sources',
                true,
                `${v.sources.length} resolve from the host (${v.sources.map((x) => x.origin).join(', ')})`,
              );
            for (const failure of v.failures) add('source', false, sourceFailureText(failure));
          }
        } catch (err) {
          add('privileges', false, hostFailureText(err));
        }
        return { host: h.name, ok: checks.every((c) => c.ok), checks };
      },
      (h, err): CheckResult => ({
        host: h.name,
        ok: false,
        checks: [{ name: 'connect', ok: false, detail: hostFailureText(err) }],
      }),
    );
    if (args.json) {
      process.stdout.write(`${jsonText({ hosts: results })}\n`);
    } else {
      const paint = makePaint(colorWanted(args.color, process.stdout));
      for (const r of results) {
        process.stdout.write(`${paint.bold(r.host)} ${r.ok ? paint.green('ready') : paint.red('not ready')}\n`);
        for (const c of r.checks)
          process.stdout
            .write(`  ${!c.ok ? paint.red('FAIL') : c.warn ? paint.yellow('warn') : paint.green('ok  ')} ${c.name}: ${terminalLine(c.detail)}
`);
      }
    }
    process.exitCode = results.every((r) => r.ok) ? EXIT.ok : EXIT.preflight;
  },
};
