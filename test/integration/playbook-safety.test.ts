// Playbook text that would turn a value into code, or a value that would break the host's
// files, is refused at load (exit 5, file and line, nothing sent); what is accepted runs
// with values as data, against real sshd.
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { runCli } from '../support/cli.js';

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startTestFleet(1);
});
afterAll(async () => {
  await fleet?.stop();
});

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .*\.js:\d+/);

function playbook(phase: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(fleet.dir, 'pb-'));
  writeFileSync(join(dir, 'site.yml'), 'phases: [p]\n');
  writeFileSync(join(dir, 'p.yml'), `name: p\nestimate_s: 5\nsteps:\n${phase}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const provision = (pb: string, extra: string[] = []) =>
  runCli(['provision', '-i', fleet.inventoryPath, '--playbooks', pb, '--yes', '--force', ...extra]);

test.each([
  [
    'a placeholder inside double quotes',
    '  - name: greet\n    command: { run: "echo \\"hello {{ name }}\\" > {{ work_root }}/out" }\n',
    /p\.yml:5: \{\{ name \}\} is inside double quotes in a shell command/,
  ],
  [
    'a placeholder inside single quotes',
    '  - name: greet\n    command:\n      run: "echo \'hello {{ name }}\'"\n',
    /p\.yml:6: \{\{ name \}\} is inside single quotes/,
  ],
  [
    'a placeholder inside $( )',
    '  - name: greet\n    command: { run: "echo $(echo {{ name }})" }\n',
    /p\.yml:5: .*inside \$\( \)/,
  ],
  [
    "a placeholder in a guard's backticks",
    '  - name: greet\n    command: { run: "true", unless: "test `echo {{ name }}`" }\n',
    /p\.yml:5: .*inside backticks/,
  ],
  [
    'a placeholder in a here-document',
    '  - name: greet\n    command:\n      run: |\n        cat > {{ work_root }}/out <<EOF\n        {{ name }}\n        EOF\n',
    /p\.yml:6: .*inside a here-document/,
  ],
  [
    'a filter',
    '  - name: f\n    file: { path: "{{ work_root }}/f", content: "{{ name | upper }}" }\n',
    /p\.yml:5: "\{\{ name \| upper \}\}" is a filter: only \{\{ name \}\} is a placeholder/,
  ],
  [
    'an expression',
    '  - name: f\n    file: { path: "{{ work_root }}/f", content: "{{ name | default(\\"y\\") }}" }\n',
    /p\.yml:5: .* is a filter/,
  ],
  [
    'an unclosed {{',
    '  - name: f\n    file: { path: "{{ work_root }}/f", content: "{{ name" }\n',
    /p\.yml:5: unclosed "\{\{"/,
  ],
  [
    'a service name starting with -',
    '  - name: s\n    service: { name: "-Hroot@evil", state: started }\n',
    /p\.yml:5: .*(systemd unit name|service\.name)/,
  ],
  [
    'a NUL byte in a line',
    '  - name: l\n    line: { path: "{{ work_root }}/f", line: "a\\0b" }\n',
    /p\.yml:5: a NUL byte in a string at steps\[0\]\.line\.line/,
  ],
  [
    'a NUL byte in a step name',
    '  - name: "a\\x00b"\n    command: { run: "true" }\n',
    /p\.yml:4: a NUL byte in a string at steps\[0\]\.name/,
  ],
  [
    'a fractional step timeout',
    '  - name: t\n    timeout_s: 1.5\n    command: { run: "true" }\n',
    /p\.yml:5: .*steps\[0\]\.timeout_s.*whole number/,
  ],
  [
    'a zero step timeout',
    '  - name: t\n    timeout_s: 0\n    command: { run: "true" }\n',
    /p\.yml:5: .*steps\[0\]\.timeout_s/,
  ],
])('%s: refused at load with file and line, exit 5, nothing run', async (_what, phase, pattern) => {
  fleet.writeInventory({ hostVars: (i) => ({ name: `x$(touch ${fleet.root(i)}/pwned)` }) });
  const r = await provision(playbook(phase));
  expect(r.stderr).toMatch(pattern);
  expect(r.code).toBe(5);
  noStack(r.stderr);
  expect(existsSync(join(fleet.root(0), 'pwned'))).toBe(false);
  expect(existsSync(fleet.stateDir(0))).toBe(false);
});

test('a template file with a filter or an unknown variable names that file and line', async () => {
  fleet.writeInventory();
  const filter = await provision(
    playbook('  - name: t\n    file: { path: "{{ work_root }}/t", template: tpl/motd.tpl }\n', {
      'tpl/motd.tpl': 'line one\nhi {{ who | upper }}\n',
    }),
  );
  expect(filter.code).toBe(5);
  expect(filter.stderr).toMatch(/tpl\/motd\.tpl:2: "\{\{ who \| upper \}\}" is a filter/);
  const unknown = await provision(
    playbook('  - name: t\n    file: { path: "{{ work_root }}/t", template: tpl/motd.tpl }\n', {
      'tpl/motd.tpl': 'a\nb\nc {{ nobody }}\n',
    }),
  );
  expect(unknown.code).toBe(5);
  expect(unknown.stderr).toMatch(/tpl\/motd\.tpl:3: unknown variable "nobody" \(host host-1\)/);
  const unclosed = await provision(
    playbook('  - name: t\n    file: { path: "{{ work_root }}/t", template: tpl/motd.tpl }\n', {
      'tpl/motd.tpl': '{{ work_root }}\n{{ oops\n',
    }),
  );
  expect(unclosed.code).toBe(5);
  expect(unclosed.stderr).toMatch(/tpl\/motd\.tpl:2: unclosed "\{\{"/);
  for (const r of [filter, unknown, unclosed]) noStack(r.stderr);
  expect(existsSync(fleet.stateDir(0))).toBe(false);
});

test('a placeholder where a word starts is quoted: a hostile value is data on the host', async () => {
  fleet.writeInventory({ hostVars: (i) => ({ name: `x$(touch ${fleet.root(i)}/pwned)'"\`;` }) });
  const r = await provision(
    playbook('  - name: greet\n    command: { run: "echo \\"hello \\"{{ name }} > {{ work_root }}/out" }\n'),
  );
  expect(r.code).toBe(0);
  expect(readFileSync(join(fleet.root(0), 'out'), 'utf8')).toBe(`hello x$(touch ${fleet.root(0)}/pwned)'"\`;\n`);
  expect(existsSync(join(fleet.root(0), 'pwned'))).toBe(false);
  fleet.writeInventory();
});
