// The OS facts (facts/os-release.ts: one probe, parsed as hostile data) and what `check`
// says of them: only what the default playbooks are proven on passes without a warning.
import { osSupport } from '../../src/cli/commands/check.js';
import { parseOsRelease, osName } from '../../src/facts/os-release.js';

test.each([
  ['debian|13|trixie|x86_64|Debian GNU/Linux 13 (trixie)', false],
  ['debian|13.1|trixie|x86_64|', false],
  ['debian|12|bookworm|x86_64|Debian GNU/Linux 12 (bookworm)', false],
  ['debian|11|bullseye|x86_64|Debian GNU/Linux 11 (bullseye)', true],
  ['ubuntu|24.04|noble|x86_64|Ubuntu 24.04.1 LTS', true],
  ['debian|130|||', true],
  ['', true],
])('%s: warning %s', (line, warn) => {
  const r = osSupport(parseOsRelease(line));
  expect(r.ok).toBe(true);
  expect(r.warn).toBe(warn);
  expect(r.detail).not.toMatch(/ubuntu 24\.04 \(?supported|supported: /i);
  expect(r.detail).toContain(warn ? 'proven on Debian 12 and 13 only' : 'proven on Debian 12 and 13');
});

test.each([
  [
    'debian|12|bookworm|x86_64|Debian GNU/Linux 12 (bookworm)',
    { id: 'debian', versionId: '12', codename: 'bookworm', arch: 'x86_64', pretty: 'Debian GNU/Linux 12 (bookworm)' },
  ],
  // a pretty name may hold the separator: it is the last field
  [
    'debian|13|trixie|aarch64|A|B',
    { id: 'debian', versionId: '13', codename: 'trixie', arch: 'aarch64', pretty: 'A|B' },
  ],
  // sid: no VERSION_ID
  [
    'debian||forky|x86_64|Debian GNU/Linux forky/sid\n',
    { id: 'debian', versionId: '', codename: 'forky', arch: 'x86_64', pretty: 'Debian GNU/Linux forky/sid' },
  ],
  // hostile values are not kept in fields that steps compare or show
  ['Debian;rm|1 2|$(x)|x86 64|a\x1b[31mb', { id: 'unknown', versionId: '', codename: '', arch: '', pretty: 'a[31mb' }],
  ['', { id: 'unknown', versionId: '', codename: '', arch: '', pretty: '' }],
])('parseOsRelease(%j)', (line, want) => {
  expect(parseOsRelease(line)).toEqual(want);
});

test('osName: the pretty name, else id and version, else unknown', () => {
  expect(osName(parseOsRelease('debian|12|bookworm|x86_64|Debian GNU/Linux 12 (bookworm)'))).toBe(
    'Debian GNU/Linux 12 (bookworm)',
  );
  expect(osName(parseOsRelease('debian|12|||'))).toBe('debian 12');
  expect(osName(parseOsRelease(''))).toBe('unknown OS');
});
