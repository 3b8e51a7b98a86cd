// What `check` says of a host's OS: only Debian 13 (where the default playbooks are proven
// on fake droplets) passes without a warning; nothing claims Ubuntu or Debian 12 support.
import { osSupport } from '../../src/cli/commands/check.js';

test.each([
  ['debian 13', 'Debian GNU/Linux 13 (trixie)', false],
  ['debian 13.1', '', false],
  ['debian 12', 'Debian GNU/Linux 12 (bookworm)', true],
  ['ubuntu 24.04', 'Ubuntu 24.04.1 LTS', true],
  ['debian 130', '', true],
  ['', '', true],
])('%s (%s): warning %s', (os, pretty, warn) => {
  const r = osSupport(os, pretty);
  expect(r.ok).toBe(true);
  expect(r.warn).toBe(warn);
  expect(r.detail).not.toMatch(/ubuntu 24\.04 \(?supported|supported: /i);
  expect(r.detail).toContain(warn ? 'proven on Debian 13 only' : 'proven on Debian 13');
});
