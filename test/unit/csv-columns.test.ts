// The CSV columns have one owner (src/shell/csv-columns.ts); the shell that writes the
// files is checked against it: the sampler's header and row, the phase scripts' header.
import { readFileSync } from 'node:fs';
import { RESOURCE_COLUMNS, TIMING_COLUMNS, TIMING_HEADER } from '../../src/shell/csv-columns.js';
import { monitorScriptPath } from '../../src/monitor/script-files.js';
import { goldenScripts } from '../support/script-fixtures.js';

const sampler = readFileSync(monitorScriptPath('sampler.sh'), 'utf8');

test('sampler.sh writes the header of RESOURCE_COLUMNS', () => {
  const headers = [...sampler.matchAll(/echo '(timestamp,[^']*)' >> "\$OUT"/g)].map((m) => m[1]);
  expect(headers).toEqual([RESOURCE_COLUMNS.join(',')]);
});

test('sampler.sh writes rows of as many fields as RESOURCE_COLUMNS', () => {
  const row = /row = sprintf\("([^"]*)\\n"/.exec(sampler)?.[1];
  expect(row).toBeDefined();
  expect(row!.split(',')).toHaveLength(RESOURCE_COLUMNS.length);
  expect(row!.split(',').every((f) => /^%[.\d]*[sd f]$/.test(f))).toBe(true);
});

test('the phase scripts write the header of TIMING_COLUMNS', () => {
  expect(TIMING_HEADER).toBe(TIMING_COLUMNS.join(','));
  const scripts = goldenScripts();
  for (const name of ['phase/apply.sh', 'phase/satisfied.sh'])
    expect(scripts[name]).toContain(`printf '%s\\n' ${TIMING_COLUMNS.join(',')} >> "$TF"`);
  // each timing row printf has one field per column (the fixed run_id,host,phase,step go as one argument)
  expect(scripts['phase/apply.sh']).toContain(`printf '%s,%s,%d.%02d,%d.%02d,%s\\n'`);
});
