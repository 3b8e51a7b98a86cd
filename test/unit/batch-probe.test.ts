// The batched probe gives each file, line and creates-guard step exactly the text its own
// probe prints (the apply script compares the two), for every kind of state: absent, a
// directory, a symlink, an empty file, matching and non-matching lines, names with spaces,
// newlines and quotes, two steps on one file, and an unreadable file (for a non-root user).
// Run with the local sh in a temp folder, through the real probe script and record reader.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeScript, type ScriptStep } from '../../src/commands/phase-scripts.js';
import { singleProbe, batchFacts, type BatchRecord } from '../../src/facts/batch-probe.js';
import { recordReader, trimTrailingNewlines } from '../../src/engine/records.js';
import { fileStep } from '../../src/steps/file.js';
import { lineStep } from '../../src/steps/line.js';
import { commandStep } from '../../src/steps/command.js';
import type { AnyStepType, ProbeOutput } from '../../src/steps/step-type.js';
import { countForks } from '../support/fork-count.js';

const N = 'n0nce';

function runFacts(script: string): Map<number, ProbeOutput> {
  const out = execFileSync('sh', ['-c', `vpsp_main() {\nN=${N}\n${script}}\nvpsp_main\n`]).toString();
  const facts = new Map<number, ProbeOutput>();
  const batches: BatchRecord[] = [];
  const read = recordReader(N, (r) => {
    if (r.tag === 'B') facts.set(Number(r.args[0]), { exitCode: Number(r.args[1]), text: trimTrailingNewlines(r.body ?? '') });
    if (r.tag === 'G') batches.push({ kind: r.args[0]!, indexes: r.args.slice(1).filter(Boolean).map(Number), body: r.body ?? '' });
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
    ...['plain.conf', 'empty', 'a dir', 'absent', "odd 'name'\nwith newline\\", 'link', 'dangling', 'locked', 'plain.conf']
      .map((n): [AnyStepType, Record<string, unknown>] => [fileStep, { path: p(n), content: 'x' }]),
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
  const steps: ScriptStep[] = cases.map(([type, args], index) => ({ index, name: `s${index}`, probe: type.probe(args), batch: type.batchProbe?.(args) }));
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
    const types: [AnyStepType, Record<string, unknown>][] = [[fileStep, { path: f, content: 'x' }], [lineStep, { path: f, line: `key=${i}`, regexp: '^key=' }], [commandStep, { run: 'true', creates: f }]];
    for (const [type, args] of types) if (steps.length < 50) steps.push({ index: steps.length, name: `s${steps.length}`, probe: type.probe(args), batch: type.batchProbe?.(args) });
  }
  const { forks, execs } = countForks(probeScript(N, steps));
  // stat, sha256sum and awk, each in a command substitution or straight from sh
  expect(forks).toBeLessThanOrEqual(4);
  expect(execs.map((e) => e.replace(/.*\//, '')).sort()).toEqual(['awk', 'sh', 'sha256sum', 'stat']);
});
