import { render, TemplateError, templateVars } from '../../src/config/template.js';

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
