// assert: the schema, the pure decision on what the probe printed, and the probe and
// failure scripts run for real by a local sh against files in a temp folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertStep } from '../../src/steps/assert.js';
import { UNKNOWN_OS } from '../../src/facts/os-release.js';
import type { Decision } from '../../src/steps/step-type.js';

const ctx = { remoteUser: 'root', os: UNKNOWN_OS };
const decide = (args: unknown, text: string): Decision =>
  assertStep.decide(assertStep.schema.parse(args), { text, exitCode: 0 }, ctx);

describe('decide', () => {
  test.each<[string, object, string, 'ok' | 'change', string]>([
    ['command holds', { command: 'test -d /' }, 'assert=ok', 'ok', 'holds: test -d /'],
    [
      'command fails',
      { command: 'test -d /nope' },
      'assert=exit 1',
      'change',
      'assertion failed: exit 1: test -d /nope',
    ],
    [
      'a long command is named by its first line',
      { command: 'a &&\nb' },
      'assert=exit 3',
      'change',
      'assertion failed: exit 3: a && ...',
    ],
    [
      'message replaces the wording',
      { command: 'false', message: 'no answer from the port' },
      'assert=exit 1',
      'change',
      'assertion failed: no answer from the port',
    ],
    ['file exists', { file: '/etc/x' }, 'assert=ok', 'ok', '/etc/x exists'],
    ['file missing', { file: '/etc/x' }, 'assert=missing', 'change', 'assertion failed: /etc/x does not exist'],
    ['file contains', { file: '/etc/x', contains: 'a=1' }, 'assert=ok', 'ok', '/etc/x contains "a=1"'],
    [
      'file lacks',
      { file: '/etc/x', contains: 'a=1' },
      'assert=lacks',
      'change',
      'assertion failed: /etc/x does not contain "a=1"',
    ],
    ['services active', { service: ['ssh', 'xrdp'] }, 'unit=active\nunit=active', 'ok', 'active: ssh, xrdp'],
    ['one service', { service: 'ssh' }, 'unit=active', 'ok', 'active: ssh'],
    [
      'services down',
      { service: ['ssh', 'xrdp', 'f2b'] },
      'unit=active\nunit=failed\nunit=',
      'change',
      'assertion failed: xrdp is failed, f2b is unknown (wanted active)',
    ],
    // what the host printed is matched, never shown as it is
    [
      'hostile probe text',
      { service: 'ssh' },
      'unit=$(reboot)',
      'change',
      'assertion failed: ssh is unknown (wanted active)',
    ],
    ['a probe that printed nothing fails', { command: 'true' }, '', 'change', 'assertion failed: exit ?: true'],
  ])('%s', (_what, args, text, status, reason) => {
    const d = decide(args, text);
    expect([d.status, d.reason]).toEqual([status, reason]);
  });

  test.each<[object, string]>([
    [{}, 'assert needs exactly one of command, file, service'],
    [{ command: 'true', file: '/x' }, 'assert needs exactly one of command, file, service'],
    [{ command: 'true', contains: 'x' }, 'contains goes with file'],
    [{ file: '/x', contains: 'a\nb' }, 'contains is one line'],
    [{ service: ['-h'] }, 'a systemd unit name'],
    [{ service: [] }, 'Too small'],
    [{ command: 'true', message: 'two\nlines' }, 'message is one line'],
    [{ command: 'true', extra: 1 }, 'Unrecognized key'],
  ])('refused: %j', (args, message) => {
    expect(() => assertStep.schema.parse(args)).toThrow(message);
  });
});

describe('probe and failure scripts under a real sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vps-assert-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** probe, decide, and (when it fails) the failure script: its exit code and stderr's lines */
  function check(args: unknown): { d: Decision; code: number | null; stderr: string[] } {
    const a = assertStep.schema.parse(args);
    const text = execFileSync('sh', ['-c', assertStep.probe(a)!], { encoding: 'utf8', cwd: dir }).replace(/\n+$/, '');
    const d = assertStep.decide(a, { text, exitCode: 0 }, ctx);
    if (d.status === 'ok') return { d, code: 0, stderr: [] };
    const r = spawnSync('sh', ['-c', d.script], { encoding: 'utf8', cwd: dir });
    return { d, code: r.status, stderr: r.stderr.split('\n').filter(Boolean) };
  }

  test('a file with odd characters in its name and in the text looked for', () => {
    const path = join(dir, "it's $(x) `y`; z");
    writeFileSync(path, 'key=-e %s $(reboot)\n');
    expect(check({ file: path }).d.status).toBe('ok');
    expect(check({ file: path, contains: '-e %s $(reboot)' }).d.status).toBe('ok');
    const lacks = check({ file: path, contains: "it's %d" });
    expect(lacks.code).toBe(1);
    expect(lacks.stderr).toEqual([`assertion failed: ${path} does not contain "it's %d"`]);
    const missing = check({ file: join(dir, 'none') });
    expect(missing.stderr).toEqual([`assertion failed: ${join(dir, 'none')} does not exist`]);
  });

  test("a failing command: its own output, then the verdict as the last line (the step's reason)", () => {
    const r = check({ command: 'echo "checked: 3 things"; echo "one is off" >&2; exit 4' });
    expect(r.d.reason).toBe('assertion failed: exit 4: echo "checked: 3 things"; echo "one is off" >&2; exit 4');
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([
      'checked: 3 things',
      'one is off',
      'assertion failed: exit 4: echo "checked: 3 things"; echo "one is off" >&2; exit 4',
    ]);
    // a command that reads stdin gets nothing (it cannot eat the driver's input)
    expect(check({ command: 'read x && [ -n "$x" ]' }).d.status).toBe('change');
    expect(check({ command: 'true' }).d.status).toBe('ok');
  });

  test('a unit systemctl does not know (or no systemctl at all) is not active', () => {
    const r = check({ service: ['vps-provision-no-such-unit'] });
    expect(r.d.status).toBe('change');
    expect(r.stderr.at(-1)).toMatch(
      /^assertion failed: vps-provision-no-such-unit is (inactive|unknown) \(wanted active\)$/,
    );
  });
});
