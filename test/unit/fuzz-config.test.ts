// Random and mutated inventories and playbooks never give a stack trace or a hang: each
// load either succeeds or throws one ConfigError naming the file (and a line when the
// YAML has one), with a hint.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync, readFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory } from '../../src/config/inventory.js';
import { loadPlaybook, instantiatePhase } from '../../src/config/playbook.js';
import { ConfigError } from '../../src/errors.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
// 4000 + 2 x 1000 + 4000 = 10,000 inputs per run of the suite
const RUNS = Number(process.env.FUZZ_RUNS ?? 4000);

const VALID_INVENTORY = `defaults:
  user: root
  port: 22
  become: false
  vars: { developer_user: devuser, work_root: /srv/x, marker: m, greeting: hi }
hosts:
  droplet-1: { address: 203.0.113.10 }
  droplet-2: { address: 203.0.113.11, port: 2222, vars: { developer_user: ana } }
groups:
  workstations: [droplet-1, droplet-2]
`;

/** Mutations that keep the text YAML-ish: replace, delete, insert, duplicate a line. */
const mutation = fc.record({
  kind: fc.constantFrom('replace', 'delete', 'insert', 'dup', 'indent', 'truncate'),
  pos: fc.nat(),
  text: fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(
      ': ',
      '- ',
      '{',
      '}',
      '[',
      ']',
      '"',
      "'",
      '{{ x }}',
      '{{ nope }}',
      '\t',
      '&a',
      '*a',
      '!!binary',
      '~',
      'null',
      '-1',
      '99999999',
      'true',
      '\n  ',
      '#',
      '|',
      '>',
      '...',
      '---',
    ),
  ),
});

function mutate(text: string, muts: { kind: string; pos: number; text: string }[]): string {
  let t = text;
  for (const m of muts) {
    const lines = t.split('\n');
    const i = m.pos % Math.max(1, lines.length);
    const at = m.pos % Math.max(1, t.length);
    switch (m.kind) {
      case 'replace':
        t = t.slice(0, at) + m.text + t.slice(at + m.text.length);
        break;
      case 'delete':
        lines.splice(i, 1);
        t = lines.join('\n');
        break;
      case 'insert':
        t = t.slice(0, at) + m.text + t.slice(at);
        break;
      case 'dup':
        lines.splice(i, 0, lines[i] ?? '');
        t = lines.join('\n');
        break;
      case 'indent':
        lines[i] = `  ${lines[i] ?? ''}`;
        t = lines.join('\n');
        break;
      case 'truncate':
        t = t.slice(0, at);
        break;
    }
  }
  return t;
}

function expectCleanOutcome(fn: () => void, file: string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ConfigError))
      throw new Error(`not a ConfigError for ${file}: ${(err as Error)?.stack ?? String(err)}`, { cause: err });
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.message).not.toMatch(/\n\s+at /);
    expect(err.hint.length).toBeGreaterThan(0);
    expect(err.message).toContain(err.file ?? file);
  }
}

test(`${RUNS} mutated inventories: load or one ConfigError`, () => {
  const file = join(dir, 'hosts.yml');
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      writeFileSync(file, mutate(VALID_INVENTORY, muts));
      expectCleanOutcome(() => loadInventory(file), file);
    }),
    { numRuns: RUNS },
  );
}, 300_000);

test(`${Math.round(RUNS / 4)} random YAML-ish documents, each loaded twice as an inventory`, () => {
  const file = join(dir, 'random.yml');
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ maxLength: 200 }), (value, noise) => {
      writeFileSync(file, `${JSON.stringify(value)}\n${noise}`);
      expectCleanOutcome(() => loadInventory(file), file);
      writeFileSync(file, JSON.stringify({ hosts: value }));
      expectCleanOutcome(() => loadInventory(file), file);
    }),
    { numRuns: Math.round(RUNS / 4) },
  );
}, 300_000);

test(`${RUNS} mutated playbooks: load and render for a host, or one ConfigError`, () => {
  const pb = mkdtempSync(join(dir, 'pb-'));
  cpSync(join(REPO, 'test/fixtures/basic'), pb, { recursive: true });
  const originals = Object.fromEntries(
    ['site.yml', 'files.yml', 'config.yml', 'commands.yml'].map((f) => [f, readFileSync(join(pb, f), 'utf8')]),
  );
  const vars = { inventory_hostname: 'h', work_root: '/srv/w', marker: 'm', greeting: 'hi' };
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(originals)),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (name, muts) => {
        for (const [f, text] of Object.entries(originals)) writeFileSync(join(pb, f), text);
        const target = join(pb, name);
        writeFileSync(target, mutate(originals[name]!, muts));
        expectCleanOutcome(() => {
          const p = loadPlaybook(pb);
          for (const phase of p.phases) instantiatePhase(p, phase, { ...p.vars, ...vars }, 'h');
        }, target);
      },
    ),
    { numRuns: RUNS },
  );
}, 300_000);
