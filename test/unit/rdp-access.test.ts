// rdp_access / rdp_allow_from: checked and turned into what the playbooks use.
import { withRdpAccess, parseCidr, RdpAccessError } from '../../src/config/rdp-access.js';

const base = { rdp_port: 3389, rdp_access: 'tunnel', rdp_allow_from: 'anywhere' };

test.each([
  [{}, { rdp_listen: 'tcp://127.0.0.1:3389', rdp_allow_from: 'anywhere' }],
  [{ rdp_access: 'public' }, { rdp_listen: '3389', rdp_allow_from: 'anywhere' }],
  [{ rdp_access: 'public', rdp_port: 3390 }, { rdp_listen: '3390' }],
  [
    { rdp_access: 'public', rdp_allow_from: '203.0.113.7, 198.51.100.0/24' },
    { rdp_allow_from: '203.0.113.7 198.51.100.0/24' },
  ],
  [{ rdp_access: 'public', rdp_allow_from: '2001:db8::/32' }, { rdp_allow_from: '2001:db8::/32' }],
  [{ rdp_allow_from: '' }, { rdp_allow_from: 'anywhere' }],
])('%j -> %j', (over, want) => {
  expect(withRdpAccess({ ...base, ...over })).toMatchObject(want);
});

test.each([
  [{ rdp_access: 'open' }, 'rdp_access', 'rdp_access is "open"'],
  [{ rdp_allow_from: '10.0.0.0/33' }, 'rdp_allow_from', '"10.0.0.0/33" is not an address or CIDR'],
  [{ rdp_allow_from: '10.0.0.1; reboot' }, 'rdp_allow_from', 'is not an address or CIDR'],
  [{ rdp_allow_from: '$(id)' }, 'rdp_allow_from', 'is not an address or CIDR'],
  [{ rdp_allow_from: 'anywhere 10.0.0.1' }, 'rdp_allow_from', 'mixes "anywhere"'],
  [{ rdp_port: 'x' }, 'rdp_port', 'rdp_port is "x"'],
])('%j is refused, naming %s', (over, variable, message) => {
  let err: RdpAccessError | undefined;
  try {
    withRdpAccess({ ...base, ...over });
  } catch (e) {
    err = e as RdpAccessError;
  }
  expect(err).toBeInstanceOf(RdpAccessError);
  expect(err!.variable).toBe(variable);
  expect(err!.message).toContain(message);
});

test('vars without rdp_access (other playbooks) pass as they are', () => {
  expect(withRdpAccess({ a: 1 })).toEqual({ a: 1 });
});

test('an inventory rdp_access with playbooks that define no rdp_port passes as it is', () => {
  expect(withRdpAccess({ rdp_access: 'public', a: 1 })).toEqual({ rdp_access: 'public', a: 1 });
});

test.each([
  ['10.1.2.3', '10.1.2.3'],
  ['10.1.2.0/024', '10.1.2.0/24'],
  ['::1/128', '::1/128'],
  ['10.1.2', undefined],
  ['x/8', undefined],
])('parseCidr(%s)', (s, want) => {
  expect(parseCidr(s)).toBe(want);
});
