import { stringify } from 'csv-stringify/sync';
import { CSV_STRINGIFY_GUARD } from '../../src/shell/csv-field.js';
import { ConfigError } from '../../src/errors.js';
import {
  RESOURCE_COLUMNS,
  TIMING_COLUMNS,
  formatTimingRows,
  csvText,
  timingCells,
  timingHeader,
  type TimingRow,
} from '../../src/report/formats.js';
import { parseResourceRows, parseResourcesCsv, parseTimingCsv, simpleRecords } from '../../src/report/parse-csv.js';
import { parse } from 'csv-parse/sync';

const TH = TIMING_COLUMNS.join(',');
const RH = RESOURCE_COLUMNS.join(',');
const T1 = '2026-11-28T02:21:05.250Z,20261128T022100Z-a1b2,droplet-1,system-prep,Tune apt,1795832460.1,5.15,changed';
const T2 = '2026-11-28T02:23:00.000Z,20261128T022100Z-a1b2,droplet-1,system-prep,,1795832460,120.5,changed';
const R1 = '2026-11-28T02:21:10.000Z,droplet-1,12.5,800,3100,52000,10.5,2048,300.2,5.1,0.42,97';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseTimingCsv', () => {
  it('reads step and phase rows', () => {
    const { rows, warnings } = parseTimingCsv(`${TH}\n${T1}\n${T2}\n`, 'timing.csv');
    expect(warnings).toEqual([]);
    expect(rows).toEqual([
      {
        timestamp: '2026-11-28T02:21:05.250Z',
        runId: '20261128T022100Z-a1b2',
        host: 'droplet-1',
        phase: 'system-prep',
        step: 'Tune apt',
        startEpochS: 1795832460.1,
        durationS: 5.15,
        status: 'changed',
      },
      {
        timestamp: '2026-11-28T02:23:00.000Z',
        runId: '20261128T022100Z-a1b2',
        host: 'droplet-1',
        phase: 'system-prep',
        step: '',
        startEpochS: 1795832460,
        durationS: 120.5,
        status: 'changed',
      },
    ]);
  });

  it('finds columns by header name, in any order, ignoring extra ones', () => {
    const cols = ['status', 'extra', ...TIMING_COLUMNS.filter((c) => c !== 'status')];
    const f = T1.split(',');
    const line = [f[7], 'x', ...f.slice(0, 7)].join(',');
    const { rows } = parseTimingCsv(`${cols.join(',')}\n${line}\n`, 'timing.csv');
    expect(rows[0].status).toBe('changed');
    expect(rows[0].step).toBe('Tune apt');
  });

  it('round-trips formatTimingRows, quoting commas and quotes in step names', () => {
    const row: TimingRow = {
      timestamp: '2026-11-28T02:21:05.250Z',
      runId: 'r1',
      host: 'h',
      phase: 'p',
      step: 'Say "hi", then go',
      startEpochS: 1795832460.123,
      durationS: 0.5,
      status: 'ok',
    };
    const { rows } = parseTimingCsv(timingHeader() + formatTimingRows([row]), 'timing.csv');
    expect(rows).toEqual([row]);
    // many rows: the same text csv-stringify writes with the project's guard, and read back whole
    const many: TimingRow[] = [
      row,
      { ...row, step: '=cmd', status: 'changed' },
      { ...row, step: "'quoted", durationS: 2 },
      { ...row, step: '-1, "x"\nnext', host: '+h', phase: '@p', runId: '\tr' },
      { ...row, step: '\uFF1Dwide', startEpochS: 0 },
    ];
    expect(formatTimingRows(many)).toBe(stringify(many.map(timingCells), CSV_STRINGIFY_GUARD));
    expect(parseTimingCsv(timingHeader() + formatTimingRows(many), 'timing.csv').rows).toEqual(many);
    expect(formatTimingRows([])).toBe('');
  });

  it('csvText writes what csv-stringify writes with the guard, a header and columns', () => {
    const columns = ['a', 'b_c', 'd'];
    const rows = [
      ['=cmd', "'quoted", '-1, "x"\nnext'],
      ['', '\uFF1Dwide', '\tt'],
      ['plain', '+1', '@p'],
      ['cr\r', 'q"q', '0.25'],
    ];
    const lib = (r: string[][]) => stringify(r, { ...CSV_STRINGIFY_GUARD, header: true, columns });
    expect(csvText(columns, rows)).toBe(lib(rows));
    expect(csvText(columns, [])).toBe(lib([]));
  });

  const bad: Array<[string, string, RegExp, number]> = [
    [
      'unknown status',
      T1.replace(/changed$/, 'done'),
      /timing\.csv:2: column status: expected one of ok\|changed\|failed\|skipped/,
      2,
    ],
    ['negative duration', T1.replace(',5.15,', ',-1,'), /timing\.csv:2: column duration_s: expected a number >= 0/, 2],
    [
      'not a number',
      T1.replace(',5.15,', ',fast,'),
      /timing\.csv:2: column duration_s: expected a number, got "fast"/,
      2,
    ],
    [
      'bad timestamp',
      T1.replace('2026-11-28T02:21:05.250Z', 'yesterday'),
      /timing\.csv:2: column timestamp: expected an ISO-8601/,
      2,
    ],
    ['empty phase', T1.replace(',system-prep,', ',,'), /timing\.csv:2: column phase: is empty/, 2],
    ['too few fields', 'a,b,c', /timing\.csv:2: column \w+: has 3 fields, expected 8/, 2],
  ];
  it.each(bad)(
    'skips a row with %s, with a warning naming file and line; the other rows stay',
    (_name, line, message, lineNo) => {
      const { rows, warnings } = parseTimingCsv(`${TH}\n${line}\n${T2}\n`, 'timing.csv');
      expect(rows).toHaveLength(1);
      expect(rows[0].durationS).toBe(120.5);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(message);
      expect(warnings[0]).toMatch(new RegExp(`^timing\\.csv:${lineNo}: .*\\(row skipped\\)$`));
    },
  );

  it('names the line of a bad row further down', () => {
    const { rows, warnings } = parseTimingCsv(
      `${TH}\n${T1}\n${T2}\n${T1.replace(/changed$/, '?')}\n${T1}\n`,
      'x/timing.csv',
    );
    expect(rows).toHaveLength(3);
    expect(warnings).toEqual([expect.stringMatching(/^x\/timing\.csv:4: column status/)]);
  });

  it('a step name with % and a newline (as the old shell writer produced) costs only its own rows', () => {
    // printf with the name in its format: "10% of RAM" ate an argument, "\n" split the row
    const broken = `${TH}\n${T1}\n2026-11-28T02:21:06.000Z,20261128T022100Z-a1b2,droplet-1,system-prep,Swappiness at 10\n${T2}\n`;
    const { rows, warnings } = parseTimingCsv(broken, 'timing.csv');
    expect(rows.map((r) => r.step)).toEqual(['Tune apt', '']);
    expect(warnings).toEqual([expect.stringMatching(/^timing\.csv:3: .*row skipped/)]);
  });

  it('reads back step names guarded against spreadsheet formulas, exactly', () => {
    for (const step of [
      '=HYPERLINK("http://x","y")',
      '+1',
      '-rf',
      '@SUM(A1)',
      "'quoted",
      "''twice",
      '\tTab',
      'plain',
    ]) {
      const row: TimingRow = {
        timestamp: '2026-11-28T02:21:05.250Z',
        runId: 'r1',
        host: 'h',
        phase: '=p',
        step,
        startEpochS: 1,
        durationS: 0.5,
        status: 'ok',
      };
      const text = formatTimingRows([row]);
      expect(text).not.toMatch(/^([^,]*,){3}"?[=+\-@\t]/);
      expect(parseTimingCsv(timingHeader() + text, 't.csv').rows).toEqual([row]);
    }
  });

  it('rejects a header without a required column', () => {
    const err = errorOf(() => parseTimingCsv(`${TH.replace('duration_s', 'seconds')}\n${T1}\n`, 'timing.csv'));
    expect(err.message).toMatch(/timing\.csv:1: header lacks column "duration_s"/);
  });

  it('keeps the rows before broken CSV quoting, with a warning naming the line', () => {
    const { rows, warnings } = parseTimingCsv(`${TH}\n${T1}\n"unterminated,${T2}\n`, 'timing.csv');
    expect(rows.map((r) => r.step)).toEqual(['Tune apt']);
    expect(warnings.join('\n')).toMatch(/timing\.csv:\d+: not valid CSV/);
  });

  it('reads an empty file as no rows, with a warning', () => {
    expect(parseTimingCsv('', 'timing.csv')).toEqual({ rows: [], warnings: ['timing.csv: empty file'] });
  });
});

describe('parseResourcesCsv', () => {
  it('reads samples with epoch ms', () => {
    const { rows } = parseResourcesCsv(`${RH}\n${R1}\n`, 'resources.csv');
    expect(rows).toEqual([
      {
        timestamp: '2026-11-28T02:21:10.000Z',
        t: Date.parse('2026-11-28T02:21:10.000Z'),
        host: 'droplet-1',
        cpuPct: 12.5,
        memUsedMb: 800,
        memAvailableMb: 3100,
        diskAvailMb: 52000,
        diskReadKbps: 10.5,
        diskWriteKbps: 2048,
        netRxKbps: 300.2,
        netTxKbps: 5.1,
        load1: 0.42,
        procs: 97,
      },
    ]);
  });

  it('reads a host name quoted by the sampler', () => {
    const { rows } = parseResourcesCsv(`${RH}\n${R1.replace('droplet-1', '"my,""odd"" host"')}\n`, 'resources.csv');
    expect(rows[0].host).toBe('my,"odd" host');
  });

  it('drops a last line cut short (no newline) with a warning', () => {
    const { rows, warnings } = parseResourcesCsv(`${RH}\n${R1}\n${R1.slice(0, 40)}`, 'r.csv');
    expect(rows).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/^r\.csv:3: .*last line cut short, ignored/)]);
  });

  it('skips a bad line that is not the last, with a warning', () => {
    const { rows, warnings } = parseResourcesCsv(`${RH}\n${R1.slice(0, 40)}\n${R1}`, 'r.csv');
    expect(rows).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/^r\.csv:2: column \w+.*row skipped/)]);
  });

  it('skips a negative value', () => {
    const { rows, warnings } = parseResourcesCsv(`${RH}\n${R1.replace(',12.5,', ',-3,')}\n${R1}\n`, 'r.csv');
    expect(rows).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/^r\.csv:2: column cpu_pct: expected a number >= 0/)]);
  });

  it('reads header-less rows (the live tail)', () => {
    const { rows } = parseResourceRows(`${R1}\n${R1}\n`, 'droplet-1 live');
    expect(rows).toHaveLength(2);
    expect(parseResourceRows('', 'x').rows).toEqual([]);
  });
});

describe('CSV without quotes or CRs', () => {
  // what csv-parse itself makes of the same text, record by record, with its line numbers
  const byCsvParse = (text: string) =>
    (
      parse(text, { relax_column_count: true, bom: true, info: true }) as unknown as Array<{
        info: { lines: number };
        record: string[];
      }>
    )
      .filter((r) => !(r.record.length === 1 && r.record[0] === ''))
      .map((r) => [r.info.lines, r.record]);
  it.each([
    ['a,b,c\n1,2,3\n'],
    ['a,b,c\n1,2,3'],
    ['\uFEFFa,b\n1,2\n'],
    ['a,b\n\n1,2\n\n\n3,4\n'],
    ['a,b\n1\n1,2,3,4\n'],
    ['a,b\n , \n,\n'],
    [''],
    ['\n'],
    ['x'],
  ])('%j reads as csv-parse reads it', (text) => {
    expect(simpleRecords(text)).toEqual(byCsvParse(text));
  });
});
