// The batched probe gives each file, line and creates-guard step exactly the text its own
// probe prints (the apply script compares the two), for every kind of state: absent, a
// directory, a symlink, an empty file, matching and non-matching lines, names with spaces,
// newlines and quotes, two steps on one file, and an unreadable file (for a non-root user).
// Run with the local sh in a temp folder, through the real probe script and record reader.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeScript, type ScriptStep } from '../../src/shell/phase-scripts.js';
import { singleProbe, batchFacts, type BatchRecord } from '../../src/facts/batch-probe.js';
import { recordReader, trimTrailingNewlines } from '../../src/engine/records.js';
import { fileStep } from '../../src/steps/file.js';
import { lineStep } from '../../src/steps/line.js';
import { commandStep } from '../../src/steps/command.js';
import type { AnyStepType, ProbeOutput } from '../../src/steps/step-type.js';
import { countForks } from '../support/fork-count.js';
import { running } from '../support/running.js';

const N = 'n0nce';

/** Runs a script as the driver does: a file in a private folder ($T), its own process group. */
function runScript(script: string): { out: string; code: number } {
  const t = mkdtempSync(join(tmpdir(), 'batch-probe-t-'));
  try {
    writeFileSync(join(t, 's'), `vpsp_main() {\nN=${N}\n${script}}\nvpsp_main\n`);
    const r = spawnSync('setsid', ['-w', 'sh', join(t, 's')], { timeout: 60_000 });
    // killed by a signal: the status sh (the driver) would see
    return { out: r.stdout.toString(), code: r.status ?? 128 + (r.signal ? constants.signals[r.signal] : 0) };
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
}

function runFacts(script: string): Map<number, ProbeOutput> {
  const { out } = runScript(script);
  const facts = new Map<number, ProbeOutput>();
  const batches: BatchRecord[] = [];
  const read = recordReader(N, (r) => {
    if (r.tag === 'B')
      facts.set(Number(r.args[0]), { exitCode: Number(r.args[1]), text: trimTrailingNewlines(r.body ?? '') });
    if (r.tag === 'G')
      batches.push({ kind: r.args[0]!, indexes: r.args.slice(1).filter(Boolean).map(Number), body: r.body ?? '' });
  });
  for (const line of out.split('\n')) read(line);
  for (const [i, o] of batchFacts(batches)) facts.set(i, o);
  return facts;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'batch-probe-'));
  mkdirSync(join(dir, 'a dir'));
  writeFileSync(join(dir, 'plain.conf'), 'name=x\nkey_1=old\nkey_1=second\n');
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, "odd 'name'\nwith newline\\"), 'k=v\n');
  symlinkSync(join(dir, 'plain.conf'), join(dir, 'link'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  writeFileSync(join(dir, 'locked'), 'secret=1\n');
  chmodSync(join(dir, 'locked'), 0o000);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('every batched step reads what its own probe reads', () => {
  const p = (n: string) => join(dir, n);
  const cases: [AnyStepType, Record<string, unknown>][] = [
    ...[
      'plain.conf',
      'empty',
      'a dir',
      'absent',
      "odd 'name'\nwith newline\\",
      'link',
      'dangling',
      'locked',
      'plain.conf',
    ].map((n): [AnyStepType, Record<string, unknown>] => [fileStep, { path: p(n), content: 'x' }]),
    [lineStep, { path: p('plain.conf'), line: 'key_1=new', regexp: '^key_1=' }],
    [lineStep, { path: p('plain.conf'), line: 'name=x' }],
    [lineStep, { path: p('plain.conf'), line: 'absent=1', regexp: '^absent=' }],
    [lineStep, { path: p('empty'), line: 'a=1', regexp: '^a=' }],
    [lineStep, { path: p('missing.conf'), line: 'a=1' }],
    [lineStep, { path: p('a dir'), line: 'a=1' }],
    [lineStep, { path: p("odd 'name'\nwith newline\\"), line: 'VPSP_LINES_END', regexp: '^k=' }],
    [lineStep, { path: p('link'), line: "quote ' \\ $x `id`", regexp: '^(name|key)_?[0-9]*=' }],
    [commandStep, { run: 'true', creates: p('plain.conf') }],
    [commandStep, { run: 'true', creates: p('nope') }],
    [commandStep, { run: 'true', creates: p('x'), unless: 'exit 0' }],
  ];
  const steps: ScriptStep[] = cases.map(([type, args], index) => ({
    index,
    name: `s${index}`,
    probe: type.probe(args),
    batch: type.batchProbe?.(args),
  }));
  expect(steps.filter((s) => s.batch).length).toBe(cases.length - 1);
  const batched = runFacts(probeScript(N, steps));
  const single = runFacts(steps.map((s) => singleProbe(s.index, s.probe!)).join('\n') + '\n');
  expect(single.size).toBe(cases.length);
  // an unreadable file is read alike only when the test runs as a user the mode stops
  for (const [i, want] of single) expect([i, batched.get(i)?.text]).toEqual([i, want.text]);
});

test('a batched probe of 50 file/line/creates steps forks a handful of processes, not one or more per step', () => {
  const steps: ScriptStep[] = [];
  for (let i = 0; i < 17; i++) {
    const f = join(dir, `f${i}`);
    writeFileSync(f, `key=${i}\n`);
    const types: [AnyStepType, Record<string, unknown>][] = [
      [fileStep, { path: f, content: 'x' }],
      [lineStep, { path: f, line: `key=${i}`, regexp: '^key=' }],
      [commandStep, { run: 'true', creates: f }],
    ];
    for (const [type, args] of types)
      if (steps.length < 50)
        steps.push({
          index: steps.length,
          name: `s${steps.length}`,
          probe: type.probe(args),
          batch: type.batchProbe?.(args),
        });
  }
  const { forks, execs } = countForks(probeScript(N, steps, 600));
  // stat, sha256sum and awk, each in a command substitution or straight from sh; the watchdog
  // bounding the reads (a subshell and its sleep) is one per script, not one per step
  expect(forks).toBeLessThanOrEqual(6);
  // (the watchdog's sleep is not started when the script is over first)
  expect(
    execs
      .map((e) => e.replace(/.*\//, ''))
      .filter((e) => e !== 'sleep')
      .sort(),
  ).toEqual(['awk', 'sh', 'sha256sum', 'stat']);
});

// SPEC §3 timeouts: a read of a step's state is bounded like its action. Past the step's own
// limit (or what is left of the phase's) the script's watchdog names the step (PTO) and kills
// the script's process group, the hung read included; the batched reads are bounded alike.
test('a read that hangs past its limit: PTO names the step, the script and its group are killed', () => {
  const f = join(dir, 'plain.conf');
  const hang = `sleep-${process.pid}-${Date.now()}`;
  const steps: ScriptStep[] = [
    {
      index: 0,
      name: 'a file',
      probe: fileStep.probe({ path: f, content: 'x' }),
      batch: fileStep.batchProbe?.({ path: f, content: 'x' }),
    },
    {
      index: 1,
      name: 'a creates guard',
      probe: commandStep.probe({ run: 'true', creates: f }),
      batch: commandStep.batchProbe?.({ run: 'true', creates: f }),
    },
    {
      index: 2,
      name: 'a hung guard',
      probe: commandStep.probe({ run: 'true', unless: `sh -c 'sleep 100' ${hang}` }),
      timeoutS: 1,
    },
  ];
  const records = (out: string) => {
    const got: string[] = [];
    const read = recordReader(N, (r) => got.push(`${r.tag} ${r.args.join(' ')}`.trim()));
    for (const line of out.split('\n')) read(line);
    return got;
  };
  const step = runScript(probeScript(N, steps, 600));
  expect(step.code).toBe(137);
  expect(records(step.out)).toContain('PTO 2 1 step');
  expect(records(step.out).filter((r) => r.startsWith('B '))).toEqual([]);
  // no step limit: the phase's, counted from the script's start
  const phase = runScript(
    probeScript(
      N,
      steps.map((s) => ({ ...s, timeoutS: undefined })),
      2,
    ),
  );
  expect(records(phase.out)).toContain('PTO 2 2 phase');
  expect(running(hang)).toBe(0);
  // quick reads under the same watchdog: every step answered, the script exits 0
  const quick = runScript(probeScript(N, steps.slice(0, 2), 600));
  expect([quick.code, records(quick.out).filter((r) => r.startsWith('PTO'))]).toEqual([0, []]);
  expect([...runFacts(probeScript(N, steps.slice(0, 2), 600)).keys()].sort()).toEqual([0, 1]);
});
