// `when:` on steps and phases: the schema (load errors name the file and line), the pure
// evaluation against OS facts and variables, and what the engine does with it (skipped,
// never failed; plan too) with the real remote driver in a local sh.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook, instantiatePhase } from '../../src/config/playbook.js';
import { whenSchema, bindWhen, evaluateWhen, type HostWhen } from '../../src/config/when.js';
import { parseOsRelease, osReleaseProbe, type OsFacts } from '../../src/facts/os-release.js';
import { ConfigError } from '../../src/errors.js';
import type { HostSpec } from '../../src/config/inventory.js';
import type { HostResult } from '../../src/engine/events.js';
import { runHost } from '../../src/engine/host-runner.js';
import { LocalConnector } from '../../src/transport/local-connector.js';

const bookworm = parseOsRelease('debian|12|bookworm|x86_64|Debian GNU/Linux 12 (bookworm)');
const trixie = parseOsRelease('debian|13|trixie|x86_64|Debian GNU/Linux 13 (trixie)');
const ubuntu = parseOsRelease('ubuntu|24.04|noble|x86_64|Ubuntu 24.04 LTS');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vps-when-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function bound(cond: unknown, vars: Record<string, string> = {}): HostWhen {
  const b = bindWhen(whenSchema.parse(cond), vars);
  if ('unknownVar' in b) throw new Error(`unknown ${b.unknownVar}`);
  return b;
}

describe('evaluateWhen', () => {
  test.each<[string, unknown, OsFacts, Record<string, string>, boolean, string]>([
    ['os_version string', { os_version: '12' }, bookworm, {}, true, ''],
    [
      'os_version on another release',
      { os_version: '12' },
      trixie,
      {},
      false,
      'not for this host: os_version is "13", not 12',
    ],
    ['os_version as a YAML number', { os_version: 13 }, trixie, {}, true, ''],
    ['a list is any of', { os_codename: ['bookworm', 'trixie'] }, trixie, {}, true, ''],
    [
      'a list is any of (none)',
      { os_codename: ['bookworm', 'trixie'] },
      ubuntu,
      {},
      false,
      'not for this host: os_codename is "noble", not bookworm or trixie',
    ],
    [
      'every key must hold',
      { os_id: 'debian', os_version: '12' },
      ubuntu,
      {},
      false,
      'not for this host: os_id is "ubuntu", not debian',
    ],
    ['every key must hold (all do)', { os_id: 'debian', os_version: '12' }, bookworm, {}, true, ''],
    ['var equals', { var: 'desktop_profile', equals: 'lean' }, trixie, { desktop_profile: 'lean' }, true, ''],
    [
      'var differs',
      { var: 'desktop_profile', equals: 'lean' },
      trixie,
      { desktop_profile: 'full' },
      false,
      'not for this host: desktop_profile is "full", not lean',
    ],
    [
      'var in a list',
      { var: 'desktop_profile', equals: ['lean', 'full'] },
      trixie,
      { desktop_profile: 'full' },
      true,
      '',
    ],
    [
      'var and OS together',
      { os_version: '12', var: 'rdp_access', equals: 'public' },
      bookworm,
      { rdp_access: 'tunnel' },
      false,
      'not for this host: rdp_access is "tunnel", not public',
    ],
    ['not', { not: { os_version: '12' } }, trixie, {}, true, ''],
    ['not (matches)', { not: { os_version: '12' } }, bookworm, {}, false, 'not for this host: os_version is 12'],
    [
      'not with a var',
      { os_id: 'debian', not: { var: 'desktop_profile', equals: 'lean' } },
      bookworm,
      { desktop_profile: 'lean' },
      false,
      'not for this host: desktop_profile is lean',
    ],
    // an unknown OS never matches a wanted value
    [
      'unknown OS',
      { os_id: 'debian' },
      parseOsRelease(''),
      {},
      false,
      'not for this host: os_id is "unknown", not debian',
    ],
    [
      'no version',
      { os_version: '13' },
      parseOsRelease('debian||forky|x86_64|sid'),
      {},
      false,
      'not for this host: os_version is not known, not 13',
    ],
  ])('%s', (_what, cond, os, vars, applies, reason) => {
    const v = evaluateWhen(bound(cond, vars), os);
    expect(v.applies).toBe(applies);
    if (reason) expect(v.reason).toBe(reason);
  });

  test('a variable value is compared as text, whatever its YAML type', () => {
    expect(evaluateWhen(bound({ var: 'ssh_port', equals: 22 }, { ssh_port: '22' }), trixie).applies).toBe(true);
    const b = bindWhen(whenSchema.parse({ var: 'flag', equals: 'true' }), { flag: true });
    expect('unknownVar' in b ? null : evaluateWhen(b, trixie).applies).toBe(true);
    expect(bindWhen(whenSchema.parse({ var: 'nope', equals: 'x' }), { other: 'x' })).toEqual({ unknownVar: 'nope' });
  });
});

/** A playbook with one phase whose text is given; returns the load error's message. */
function loadError(phaseText: string, vars = ''): string {
  writeFileSync(join(dir, 'site.yml'), `phases: [one]\n${vars}`);
  writeFileSync(join(dir, 'one.yml'), phaseText);
  try {
    const pb = loadPlaybook(dir);
    for (const p of pb.phases) instantiatePhase(pb, p, pb.vars, 'h1');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('loaded without an error');
}

// (here for loadError: a step field's type error in the words its schema gives)
test('a step field with its own words for a whole number says them and the number found', () => {
  const phase = `name: one\nestimate_s: 5\nsteps:\n  - name: a\n    command: { run: "true" }\n    timeout_s: 1.5\n`;
  expect(loadError(phase)).toMatch(
    /one\.yml:6: steps\[0\]\.timeout_s: expected a whole number of seconds, found 1\.5$/,
  );
});

describe('when: load errors name the file and line', () => {
  const step = (when: string) =>
    `name: one\nestimate_s: 5\nsteps:\n  - name: a\n    command: { run: "true" }\n  - name: b\n    when: ${when}\n    command: { run: "true" }\n`;
  test.each([
    ['{ os_versoin: "12" }', /one\.yml:7: .*os_versoin/],
    ['{ os_version: "" }', /one\.yml:7: an empty value never matches/],
    ['{ os_version: 13.1 }', /one\.yml:7: a whole number, or a quoted value/],
    ['{ os_version: [] }', /one\.yml:7: a list of at least one value/],
    ['{}', /one\.yml:7: when: needs a condition/],
    ['{ var: desktop_profile }', /one\.yml:7: when: var and equals go together/],
    ['{ equals: lean }', /one\.yml:7: when: var and equals go together/],
    ['{ var: "a b", equals: x }', /one\.yml:7: a variable name/],
    ['{ not: { not: { os_id: debian } } }', /one\.yml:7: .*not/],
    ['"os_version == 12"', /one\.yml:7: /],
    ['{ var: nowhere, equals: x }', /one\.yml:7: when: unknown variable "nowhere" \(host h1\)/],
  ])('%s', (when, want) => {
    expect(loadError(step(when))).toMatch(want);
  });

  test('on a phase too', () => {
    expect(
      loadError(
        'name: one\nestimate_s: 5\nwhen: { os_codename: 12 }\nwhen_not: x\nsteps:\n  - name: a\n    command: { run: "true" }\n',
      ),
    ).toMatch(/one\.yml:\d+: .*when_not/);
    expect(
      loadError(
        'name: one\nestimate_s: 5\nwhen: { var: missing, equals: x }\nsteps:\n  - name: a\n    command: { run: "true" }\n',
      ),
    ).toMatch(/one\.yml:3: when: unknown variable "missing"/);
  });

  test('a step with when still needs exactly one step type', () => {
    expect(loadError('name: one\nestimate_s: 5\nsteps:\n  - name: a\n    when: { os_id: debian }\n')).toMatch(
      /exactly one step type key \(has none\)/,
    );
  });

  test('a condition is part of the phase hash; phases without one keep theirs', () => {
    writeFileSync(join(dir, 'site.yml'), 'phases: [one]\nvars: { p: lean }\n');
    const hashOf = (extra: string) => {
      writeFileSync(
        join(dir, 'one.yml'),
        `name: one\nestimate_s: 5\nsteps:\n  - name: a\n${extra}    command: { run: "true" }\n`,
      );
      const pb = loadPlaybook(dir);
      return instantiatePhase(pb, pb.phases[0]!, pb.vars, 'h').hash;
    };
    const plain = hashOf('');
    const v12 = hashOf('    when: { os_version: "12" }\n');
    const v13 = hashOf('    when: { os_version: "13" }\n');
    expect(new Set([plain, v12, v13]).size).toBe(3);
    expect(hashOf('')).toBe(plain);
  });
});

describe('the engine skips what does not apply (real driver in a local sh)', () => {
  // this machine's own /etc/os-release is what the local shell reads (read only)
  const localOs = parseOsRelease(execFileSync('sh', ['-c', osReleaseProbe()], { encoding: 'utf8' }));
  let connector: LocalConnector;
  let work: string;
  beforeEach(() => {
    work = join(dir, 'work');
    mkdirSync(work);
    mkdirSync(join(dir, 'tmp'));
    connector = new LocalConnector({ env: { TMPDIR: join(dir, 'tmp') } });
  });
  afterEach(() => {
    for (const c of connector.connections) c.close();
  });

  async function run(mode: 'apply' | 'plan', vars: Record<string, string>): Promise<HostResult> {
    const h: HostSpec = {
      name: 'local-1',
      address: '127.0.0.1',
      explicit: {},
      fallback: { user: 'root', port: 22 },
      become: false,
      vars: { work_root: work, ...vars },
      stateDir: join(dir, 'state'),
    };
    const pb = loadPlaybook(join(dir, 'pb'));
    const phases = pb.phases.map((p) => instantiatePhase(pb, p, { ...pb.vars, ...h.vars }, h.name));
    return runHost(connector, h, {
      mode,
      runId: `20261130T000000Z-${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`,
      holder: 'test (pid 1)',
      phases,
      force: true,
      emit: () => undefined,
    });
  }

  beforeEach(() => {
    const pb = join(dir, 'pb');
    mkdirSync(pb);
    writeFileSync(join(pb, 'site.yml'), 'phases: [os, other, after]\nvars: { profile: full }\n');
    writeFileSync(
      join(pb, 'os.yml'),
      [
        'name: os',
        'estimate_s: 5',
        'steps:',
        '  - name: this OS',
        `    when: { os_id: "${localOs.id}", os_version: "${localOs.versionId || 'none'}", os_codename: "${localOs.codename || 'none'}" }`,
        '    file: { path: "{{ work_root }}/this-os", content: "yes\\n" }',
        '  - name: another OS',
        '    when: { not: { os_id: "' + localOs.id + '" } }',
        '    file: { path: "{{ work_root }}/other-os", content: "yes\\n" }',
        '  - name: lean only',
        '    when: { var: profile, equals: lean }',
        '    file: { path: "{{ work_root }}/lean", content: "yes\\n" }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(pb, 'other.yml'),
      'name: other\nestimate_s: 5\nwhen: { var: profile, equals: lean }\nsteps:\n  - name: x\n    file: { path: "{{ work_root }}/other-phase", content: "x\\n" }\n',
    );
    writeFileSync(
      join(pb, 'after.yml'),
      'name: after\nestimate_s: 5\nneeds: [other]\nsteps:\n  - name: y\n    file: { path: "{{ work_root }}/after", content: "y\\n" }\n',
    );
  });

  const statuses = (r: HostResult) =>
    r.phases.flatMap((p) => [`${p.name}: ${p.status}`, ...p.steps.map((s) => `  ${s.name}: ${s.status}`)]);

  test('plan and apply: a false `when` is a skipped step or phase, never a failure; a phase needing a skipped one runs', async () => {
    const plan = await run('plan', {});
    expect(plan.status).toBe('ok');
    expect(statuses(plan)).toEqual([
      'os: changed',
      '  this OS: changed',
      '  another OS: skipped',
      '  lean only: skipped',
      'other: skipped',
      '  x: skipped',
      'after: changed',
      '  y: changed',
    ]);
    const skippedReason = plan.phases[0]!.steps.find((s) => s.name === 'lean only')!.reason;
    expect(skippedReason).toBe('not for this host: profile is "full", not lean');
    expect(plan.phases[1]!.reason).toBe('not for this host: profile is "full", not lean');

    const apply = await run('apply', {});
    expect(apply.status).toBe('ok');
    expect(statuses(apply)).toEqual(statuses(plan));
    expect(readFileSync(join(work, 'this-os'), 'utf8')).toBe('yes\n');
    for (const f of ['other-os', 'lean', 'other-phase'])
      expect([
        f,
        (() => {
          try {
            readFileSync(join(work, f));
            return true;
          } catch {
            return false;
          }
        })(),
      ]).toEqual([f, false]);

    // the same playbooks for a lean host: those steps and the phase apply
    const lean = await run('apply', { profile: 'lean' });
    expect(statuses(lean)).toEqual([
      'os: changed',
      '  this OS: ok',
      '  another OS: skipped',
      '  lean only: changed',
      'other: changed',
      '  x: changed',
      'after: ok',
      '  y: ok',
    ]);
  });
});
