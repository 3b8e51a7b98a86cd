// The line step's settle action (what the apply script runs for a line step found stale)
// makes the same choice as the probe + decide() path, for every kind of file: run both with
// the local sh on copies of one file in a temp folder and compare the outcome.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineStep } from '../../src/steps/line.js';
import { UNKNOWN_OS } from '../../src/facts/os-release.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'line-settle-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a script as the apply script does: a file of its own folder, run by sh. */
function runAction(folder: string, script: string): { code: number; ok: boolean } {
  mkdirSync(folder, { recursive: true });
  rmSync(join(folder, 'ok'), { force: true });
  writeFileSync(join(folder, 'a'), script);
  let code = 0;
  try {
    execFileSync('sh', [join(folder, 'a')], { stdio: 'ignore' });
  } catch (e) {
    code = (e as { status: number }).status;
  }
  return { code, ok: existsSync(join(folder, 'ok')) };
}

const CASES: [string | null, { line: string; regexp?: string; create?: boolean }][] = [
  [null, { line: 'k=1' }],
  [null, { line: 'k=1', create: false }],
  ['', { line: 'k=1', regexp: '^k=' }],
  ['a=1\nk=0\nk=2\n', { line: 'k=1', regexp: '^k=' }],
  ['a=1\nk=1\n', { line: 'k=1', regexp: '^k=' }],
  ['k=1\nk=0\n', { line: 'k=1', regexp: '^k=0' }],
  ['a=1\nb=2', { line: 'c=3' }],
  ['a=1\nc=3\n', { line: 'c=3' }],
  ['x\n', { line: "odd ' \\ $HOME `id` VPSP_LINE_END", regexp: '^odd' }],
  ['VPSP_LINE_END\n', { line: 'VPSP_LINE_END', regexp: 'VPSP_LINE_END' }],
];

test.each(CASES.map((c, i) => [i, ...c] as const))(
  'case %i: settle does what probe + decide do',
  (i, content, args) => {
    const paths = ['decide', 'settle'].map((k) => join(dir, `${k}-${i}`, 'f.conf'));
    for (const p of paths) {
      mkdirSync(join(p, '..'), { recursive: true });
      if (content !== null) writeFileSync(p, content);
    }
    const [viaDecide, viaSettle] = paths as [string, string];
    const a = { path: viaDecide, ...args };
    const probed = execFileSync('sh', ['-c', lineStep.probe(a)!])
      .toString()
      .replace(/\n+$/, '');
    const d = lineStep.decide(a, { exitCode: 0, text: probed }, { remoteUser: 'root', os: UNKNOWN_OS });
    const want =
      d.status === 'ok'
        ? { code: 0, ok: true }
        : { code: runAction(join(dir, `decide-${i}-run`), d.script).code, ok: false };
    const got = runAction(join(dir, `settle-${i}-run`), lineStep.settle!({ ...args, path: viaSettle })!.script);
    expect({ code: got.code === 0 ? 0 : 'failed', ok: got.ok }).toEqual({
      code: want.code === 0 ? 0 : 'failed',
      ok: want.ok,
    });
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
    expect(read(viaSettle)).toBe(read(viaDecide));
  },
);
