import {
  render,
  TemplateError,
  templateVars,
  checkTemplate,
  shellPlaceholderContext,
} from '../../src/config/template.js';

const vars = { user: 'ana', evil: `x'; rm -rf / #`, dir: '../etc', n: 3 };

test.each([
  ['text', 'hello {{ user }} x{{n}}', 'hello ana x3'],
  ['text', 'raw {{ evil }}', `raw x'; rm -rf / #`],
  ['shell', 'echo {{ evil }}', `echo 'x'\\''; rm -rf / #'`],
  ['shell', 'id {{ user }}', 'id ana'],
  ['path', '/home/{{ user }}/.ssh', '/home/ana/.ssh'],
] as const)('%s: %s', (mode, text, expected) => {
  expect(render(text, vars, mode)).toBe(expected);
});

test('an unknown variable names itself and the known ones', () => {
  expect(() => render('{{ nope }}', vars, 'text')).toThrow(TemplateError);
  expect(() => render('{{ nope }}', vars, 'text')).toThrow('unknown variable "nope"');
});

test('a path value may not climb out with ..', () => {
  expect(() => render('/srv/{{ dir }}/x', vars, 'path')).toThrow('not a safe path part');
  expect(() => render('/srv/{{ v }}', { v: 'a\nb' }, 'path')).toThrow('not a safe path part');
  expect(render('/srv/{{ v }}', { v: 'a..b' }, 'path')).toBe('/srv/a..b');
});

test('templateVars lists names in order', () => {
  expect(templateVars('{{a}} {{ b }} {{a}}')).toEqual(['a', 'b', 'a']);
});

describe('only {{ name }} is a placeholder (SPEC §3)', () => {
  test.each([
    ['{{ who | upper }}', /is a filter: only \{\{ name \}\} is a placeholder/, 1],
    ['a\n{{ x | default("y") }}', /is a filter/, 2],
    ['{{ x + 1 }}', /is an expression/, 1],
    ['{{ "lit" }}', /is an expression/, 1],
    ['one\ntwo {{ x', /unclosed "\{\{"/, 2],
    ['{{}}', /is an expression/, 1],
  ])('%j is refused, naming the line', (text, message, line) => {
    for (const mode of ['text', 'shell', 'path'] as const) {
      let err: unknown;
      try {
        render(text, { who: 'a', x: 'b' }, mode);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).message).toMatch(message);
      expect((err as TemplateError).line).toBe(line);
    }
  });

  test('braces that are not a placeholder stay text', () => {
    expect(render('a { b } {x} }} {{ y }}', { y: 1 }, 'text')).toBe('a { b } {x} }} 1');
    expect(render('{{a}}{{ b }}', { a: 1, b: 2 }, 'text')).toBe('12');
  });

  test('an unknown variable carries its line', () => {
    let err: TemplateError | undefined;
    try {
      render('x\ny\n{{ nope }}', {}, 'text');
    } catch (e) {
      err = e as TemplateError;
    }
    expect(err?.line).toBe(3);
  });

  test('a NUL byte in a value is refused', () => {
    expect(() => render('{{ v }}', { v: 'a\0b' }, 'text')).toThrow('NUL');
  });
});

describe('placeholders in shell fields only where a word starts unquoted', () => {
  const evil = { name: 'x$(touch /tmp/pwned)', dir: '/srv' };
  test.each([
    ['echo "hello {{ name }}"', 'double quotes'],
    ["echo 'hello {{ name }}'", 'single quotes'],
    ['echo `echo {{ name }}`', 'backticks'],
    ['echo $(echo {{ name }})', '$( )'],
    ['echo "$(echo {{ name }})"', '$( )'],
    ['echo ${X:-{{ name }}}', '${ }'],
    ['echo $(( {{ name }} + 1 ))', '$(( ))'],
    ['cat <<EOF\nhello {{ name }}\nEOF', 'a here-document'],
    ["cat <<'EOF' > f\n{{ name }}\nEOF", 'a here-document'],
    ['cat <<-EOF\n\t{{ name }}\n\tEOF', 'a here-document'],
  ])('%j is refused (inside %s)', (text, context) => {
    expect(shellPlaceholderContext(text)?.context).toBe(context);
    expect(() => render(text, evil, 'shell')).toThrow(new RegExp(`inside ${context.replace(/[$()]/g, '\\$&')}`));
    // the same text is fine where values are not shell
    expect(() => checkTemplate(text, 'text')).not.toThrow();
  });

  test.each([
    ['echo hello {{ name }}', `echo hello 'x$(touch /tmp/pwned)'`],
    ['echo "hello "{{ name }}', `echo "hello "'x$(touch /tmp/pwned)'`],
    ['ls {{ dir }}/x && echo "done" # {{ name }}', `ls /srv/x && echo "done" # 'x$(touch /tmp/pwned)'`],
    ['echo \'a\' {{ dir }} "b" `date` $(id) {{ dir }}', 'echo \'a\' /srv "b" `date` $(id) /srv'],
    ['cat <<EOF\nplain\nEOF\necho {{ dir }}', 'cat <<EOF\nplain\nEOF\necho /srv'],
    ['echo \\"{{ dir }}', 'echo \\"/srv'],
    ['x=$((1<<2)); echo {{ dir }}', 'x=$((1<<2)); echo /srv'],
  ])('%j renders with the value quoted', (text, expected) => {
    expect(render(text, evil, 'shell')).toBe(expected);
  });
});
