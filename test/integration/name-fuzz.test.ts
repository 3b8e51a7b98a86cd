// Names fuzzed end to end (issue 10). Step names made of printf directives, CSV specials and
// formula starts, terminal escapes (CSI, OSC 8/52, C1, bidi overrides), newlines and shell
// metacharacters (hand-picked ones plus a seeded generator's), in phases and on hosts whose
// names sit at the edges of their alphabets, through one real run against real sshd, a plan
// with --json, the merged report and `report fetch`. Names round-trip exactly in --json and
// report.json, timing.csv parses with no formula cell, report.html holds them only escaped,
// the terminal gets no control byte, nothing executes. A phase or host name one character
// past its alphabet is one clear refusal (exit 5).
import { writeFileSync, mkdtempSync, readFileSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parse } from 'csv-parse/sync';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';
import { seededRandom } from '../support/seeded-random.js';
import type { RunResult } from '../../src/engine/events.js';
import type { RunReport } from '../../src/report/merge-hosts.js';
import { readCsvCell } from '../../src/shell/csv-field.js';

let fleet: TestFleet;
let marker: string;

beforeAll(async () => {
  fleet = await startTestFleet(1, { prefix: 'fuzz' });
  marker = join(fleet.dir, 'EXECUTED');
});
afterAll(async () => {
  await fleet?.stop();
});

// every class of character a name could abuse: printf, shell, CSV and formulas, HTML,
// C0 (ESC, BEL, BS, CR, LF, TAB), DEL, C1 (NEL, CSI, DCS), bidi, templates, non-ASCII
const pieces = (m: string) => [
  '%s',
  '%n',
  '%b',
  '%%',
  '%d',
  '\\',
  '\\n',
  '\\033',
  ',',
  '"',
  "'",
  '\n',
  '\r',
  '\t',
  '=HYPERLINK("http://evil.example/","x")',
  '+',
  '-',
  '@',
  '=',
  '\x1b[31m',
  '\x1b[2J',
  '\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07',
  '\x1b]52;c;ZXZpbA==\x07',
  '\x1b]0;title\x07',
  '\u202e',
  '\u2066',
  '\u200f',
  '\x85',
  '\x9b',
  '\x90',
  '\x7f',
  '\x07',
  '\x08',
  `$(touch ${m})`,
  `\`touch ${m}\``,
  `'; touch ${m}; '`,
  `"; touch ${m}; "`,
  '|',
  '&',
  ';',
  '*',
  '?',
  '[',
  '~',
  '#',
  '<script>alert(1)</script>',
  '</script><script>alert(2)</script>',
  '<img src=x onerror=alert(3)>',
  '&amp;',
  '{{ name }}',
  'ü',
  '日本',
  '🙂',
  ' ',
  'step',
];

/** Names of 2-6 pieces each, the same on every run. */
function fuzzNames(count: number, m: string): string[] {
  const next = seededRandom(0x5eed10);
  const p = pieces(m);
  const names = new Set<string>();
  while (names.size < count) {
    const n = 2 + Math.floor(next() * 5);
    let s = '';
    for (let i = 0; i < n; i++) s += p[Math.floor(next() * p.length)];
    // a name is at least one visible character (blank names read badly)
    if (s.trim()) names.add(s);
  }
  return [...names];
}

const handPicked = (m: string) => [
  'Swappiness at 10% of RAM',
  '%s%s%s%n%n%b\\',
  '=cmd|" /C calc"!A0',
  '+1+1',
  '-2+3',
  '@SUM(1+1)*cmd',
  '\tleading tab',
  '\rleading CR',
  'multi\nline\nname',
  'a,"b",c',
  `$(touch ${m})`,
  `\`touch ${m}\``,
  "x'$(touch " + m + ")'",
  '\x1b]52;c;ZXZpbA==\x07clipboard',
  '\u202egnp.exe',
  '\x1b[2J\x1b[Hscreen cleared',
  '\x9b31mC1 CSI',
  '\x85NEL \x90DCS \x7fDEL',
  'back\\slash \\n \\t',
  '</script><script>alert(1)</script>',
  '{{ evil }}',
];

// bytes a terminal acts on: C0 but \n and \t, DEL, C1, bidi overrides
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f]/;

// the edges of the alphabets: host names letters, digits, ".", "_", "-" (63 at most, a letter
// or digit first); phase names lowercase letters, digits, "-", "_" (a letter or digit first)
const HOSTS = ['a', '9', 'A.b_c-D', `x${'-'.repeat(62)}`];
const PHASES = ['fuzz', '0', `p${'-_'.repeat(40)}9`, 'z_-9'];

/** An inventory of these host names, all on the fleet's one sshd, each its own state and work folder. */
function inventory(hostNames: string[]): string {
  const dir = mkdtempSync(join(fleet.dir, 'inv-'));
  const p = join(dir, 'hosts.yml');
  writeFileSync(
    p,
    stringify({
      known_hosts_file: fleet.knownHostsPath,
      host_key_policy: 'strict',
      defaults: { user: 'root', identity_file: fleet.key.privateKeyPath },
      hosts: Object.fromEntries(
        hostNames.map((n, i) => {
          mkdirSync(join(dir, `work-${i}`));
          return [
            n,
            {
              address: '127.0.0.1',
              port: fleet.sshds[0]!.port,
              state_dir: join(dir, `state-${i}`),
              vars: { work_root: join(dir, `work-${i}`) },
            },
          ];
        }),
      ),
    }),
  );
  return p;
}

test("fuzzed step names, in phases and on hosts at their alphabets' edges: a real run, plan --json, the merged report, report fetch", async () => {
  const names = [...handPicked(marker), ...fuzzNames(24, marker)];
  const few = names.filter((_, i) => i % 9 === 0);
  const [fuzz, zero, long, loud] = PHASES as [string, string, string, string];
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), stringify({ phases: PHASES, vars: { evil: `$(touch ${marker})` } }));
  // each step changes, so every name reaches the host's timing.csv through the apply script
  const phase = (name: string, stepNames: string[]) =>
    writeFileSync(
      join(pb, `${name}.yml`),
      stringify({ name, estimate_s: 30, steps: stepNames.map((n) => ({ name: n, command: { run: 'true' } })) }),
    );
  phase(fuzz, names);
  phase(zero, few);
  phase(long, few.slice(0, 1));
  // a failing step whose output carries escapes: shown on the terminal and in the report
  writeFileSync(
    join(pb, `${loud}.yml`),
    stringify({
      name: loud,
      estimate_s: 5,
      steps: [{ name: names[1], command: { run: "printf '\\033]52;c;ZXZpbA==\\007\\033[2J\\233 evil\\n'; exit 1" } }],
    }),
  );
  const inv = inventory(HOSTS);
  const reports = mkdtempSync(join(fleet.dir, 'reports-'));

  // the line renderer: every name shown, no control byte reaches the terminal
  const r = await runCli(['provision', '-i', inv, '--playbooks', pb, '--yes', '--verbose', '--reports-dir', reports], {
    timeoutMs: 240_000,
  });
  const shown = r.stdout + r.stderr;
  expect(`${r.code} ${r.stderr}`).toMatch(/^2 /);
  expect(shown).not.toMatch(CONTROL);
  expect(shown).toContain('Swappiness at 10% of RAM');
  // one terminal line per name: a newline in it is shown as \n
  expect(shown).toContain('multi\\nline\\nname');
  expect(shown).not.toMatch(/^line\b/m);
  expect(shown).not.toMatch(/\n\s+at /);
  for (const h of HOSTS) expect(shown).toContain(`${h}: `);
  expect(existsSync(marker)).toBe(false);
  const runId = /\brun (\d{8}T\d{6}Z-[0-9a-f]+)/.exec(shown)?.[1];
  expect(runId).toBeDefined();

  // --json: the names exactly, C1 controls, DEL and bidi overrides as \u escapes
  const plan = await runCli(['plan', '-i', inv, '--playbooks', pb, '--json'], { timeoutMs: 240_000 });
  expect(plan.stdout).not.toMatch(CONTROL);
  const planned = JSON.parse(plan.stdout) as RunResult;
  expect(planned.hosts.map((h) => h.host).sort()).toEqual([...HOSTS].sort());
  for (const h of planned.hosts) {
    expect(h.phases.map((p) => p.name)).toEqual(PHASES);
    expect(h.phases[0]!.steps.map((s) => s.name)).toEqual(names);
    expect(h.phases[1]!.steps.map((s) => s.name)).toEqual(few);
  }

  // the merged report: report.json, timing.csv (here and on each host), report.html
  const dir = join(reports, runId!);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport;
  expect(report.hosts.map((h) => h.host).sort()).toEqual([...HOSTS].sort());
  for (const h of report.hosts) {
    expect(h.phases.map((p) => p.name)).toEqual(PHASES);
    expect(h.phases[0]!.steps.map((s) => s.name)).toEqual(names);
    expect(h.phases[0]!.steps.every((s) => s.status === 'changed')).toBe(true);
    expect(h.phases[3]!.steps[0]!.status).toBe('failed');
  }
  const hostCsvs = HOSTS.map((_, i) => join(inv, '..', `state-${i}`, 'runs', runId!, 'timing.csv'));
  for (const csv of [join(dir, 'timing.csv'), ...hostCsvs]) {
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
    const stepsOf = (p: string, host = HOSTS[0]) =>
      rows
        .filter((x) => readCsvCell(x.phase!) === p && readCsvCell(x.host!) === host && x.step !== '')
        .map((x) => readCsvCell(x.step!));
    const host = csv === join(dir, 'timing.csv') ? HOSTS[0] : HOSTS[hostCsvs.indexOf(csv)];
    expect([csv, stepsOf(fuzz, host)]).toEqual([csv, names]);
    expect(stepsOf(zero, host)).toEqual(few);
    expect(stepsOf(long, host)).toEqual(few.slice(0, 1));
    expect(stepsOf(loud, host)).toEqual([names[1]]);
    // no cell a spreadsheet would run as a formula
    for (const x of rows) for (const cell of Object.values(x)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  }
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  expect(html).not.toMatch(/<script>alert|<img src=x|\x1b|\x9b/);
  expect(html.match(/<\/script>/gi)?.length).toBe(html.match(/<script\b/gi)?.length);
  // the name is there, escaped as HTML text or as JSON inside the page's data script
  expect(html).toMatch(/&lt;\/script&gt;&lt;script&gt;alert\(1\)|\\u003c\/script\\u003e\\u003cscript\\u003ealert\(1\)/);

  // another laptop: report fetch rebuilds the same report from what the hosts kept
  rmSync(dir, { recursive: true, force: true });
  const fetched = await runCli(['report', 'fetch', '-i', inv, '--reports-dir', reports, '--run', runId!, '--json'], {
    timeoutMs: 120_000,
  });
  expect(`${fetched.code} ${fetched.stderr}`).toMatch(/^0 /);
  expect(fetched.stdout).not.toMatch(CONTROL);
  const again = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport;
  for (const key of Object.keys(report) as (keyof RunReport)[]) {
    if (key === 'generatedAt') continue;
    expect([key, again[key]]).toEqual([key, report[key]]);
  }
  expect(existsSync(marker)).toBe(false);
}, 480_000);

test('a host or phase name one character past its alphabet: one clear refusal, exit 5, nothing sent', async () => {
  const pb = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(pb, 'site.yml'), 'phases: [one]\n');
  writeFileSync(
    join(pb, 'one.yml'),
    stringify({ name: 'one', estimate_s: 5, steps: [{ name: 'one', command: { run: `touch ${marker}` } }] }),
  );
  const good = inventory(['ok']);
  // each class once: a bad first character, length, printf, CSV, shell, ESC, C1 and bidi, newline, non-ASCII
  const bad = [
    '-lead',
    `x${'y'.repeat(63)}`,
    'a%sb',
    'a,b"c',
    'a$(touch x)b',
    'a\x1b[31mb',
    'a\x85b\u202ec',
    'a\nb',
    'ü',
  ];
  const cases = bad.flatMap((name) => {
    const badPhase = mkdtempSync(join(fleet.dir, 'pb-'));
    writeFileSync(join(badPhase, 'site.yml'), stringify({ phases: [name] }));
    writeFileSync(
      join(badPhase, 'one.yml'),
      stringify({ name: 'one', estimate_s: 5, steps: [{ name: 'one', command: { run: `touch ${marker}` } }] }),
    );
    return [
      {
        name,
        what: 'host',
        args: ['plan', '-i', inventory([name]), '--playbooks', pb],
        message: /host names are letters, digits, "\.", "_" and "-"/,
      },
      // the length limit is the host names'; a phase name may be long
      ...(name.length > 63
        ? []
        : [
            {
              name,
              what: 'phase',
              args: ['plan', '-i', good, '--playbooks', badPhase],
              message: /phase names are lowercase letters, digits, - and _/,
            },
          ]),
    ];
  });
  // a few at a time: each is a CLI start, no connection
  const results: Awaited<ReturnType<typeof runCli>>[] = [];
  for (let i = 0; i < cases.length; i += 4)
    results.push(...(await Promise.all(cases.slice(i, i + 4).map((c) => runCli(c.args, { timeoutMs: 120_000 })))));
  results.forEach((b, i) => {
    const c = cases[i]!;
    expect([c.what, c.name, b.code]).toEqual([c.what, c.name, 5]);
    expect(b.stderr).toMatch(c.message);
    expect(b.stderr).not.toMatch(CONTROL);
    expect(b.stderr).not.toMatch(/\n\s+at /);
    expect(b.stdout).toBe('');
  });
  expect(existsSync(marker)).toBe(false);
}, 400_000);
