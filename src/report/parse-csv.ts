// Pure CSV parsing (csv-parse) into validated rows. Columns are found by header name,
// so extra columns and another order are accepted. A bad row (or a stretch the CSV
// reader cannot read) is skipped with a warning naming the file, the line and the
// column: one damaged line never costs the rest of the file. A file without the
// expected header throws a ConfigError (the caller drops that file with a warning).
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../errors.js';
import { readCsvCell } from '../shell/csv-field.js';
import {
  RESOURCE_COLUMNS,
  RESOURCE_METRIC_COLUMNS,
  STEP_STATUSES,
  TIMING_COLUMNS,
  type ResourceSample,
  type StepStatus,
  type TimingRow,
} from './formats.js';

export interface Parsed<T> {
  rows: T[];
  warnings: string[];
}

const HINT = 'the file is damaged: fetch the report again, or delete the bad line';

class RowError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}

function records(text: string, file: string, warnings: string[]): Array<[number, string[]]> {
  try {
    // Without quotes or CRs a record is exactly one line, so its line number is its
    // index: csv-parse's per-record info (a third of the parse time) is not needed.
    // Nor is a field more than the text between two commas then: split, as csv-parse would
    // (a report reads two such files per host; csv-parse took most of that time).
    if (!text.includes('"') && !text.includes('\r')) return simpleRecords(text);
    const recs = parse(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        warnings.push(
          `${file}${err?.lines ? `:${err.lines}` : ''}: not valid CSV (${err?.message ?? 'unreadable record'}), skipped`,
        );
      },
    }) as unknown as Array<{ info: { lines: number }; record: string[] }>;
    return recs.map((r) => [r.info.lines, r.record]);
  } catch (err) {
    // e.g. a quote never closed: keep what comes before the line where reading broke
    const line = (err as { lines?: number }).lines;
    warnings.push(
      `${file}${line ? `:${line}` : ''}: not valid CSV (${(err as Error).message}); the rest of the file is ignored`,
    );
    const lines = text.split('\n');
    const keep = line && line > 1 ? lines.slice(0, line - 1).join('\n') + '\n' : '';
    if (!keep || keep.length >= text.length) return [];
    return records(keep, file, warnings);
  }
}

/** CSV text without quotes or CRs: one record per line, blank lines left out, a BOM dropped. */
export function simpleRecords(text: string): Array<[number, string[]]> {
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n');
  const out: Array<[number, string[]]> = [];
  for (let i = 0; i < lines.length; i++) if (lines[i] !== '') out.push([i + 1, lines[i]!.split(',')]);
  return out;
}

function columnIndex(header: string[], wanted: readonly string[], file: string): number[] {
  const names = header.map((h) => h.trim());
  return wanted.map((col) => {
    const i = names.indexOf(col);
    if (i < 0) {
      throw new ConfigError(`${file}:1: header lacks column "${col}" (expected ${wanted.join(',')})`, HINT, file, 1);
    }
    return i;
  });
}

function parseTable<T>(
  text: string,
  file: string,
  columns: readonly string[],
  toRow: (cells: string[]) => T,
  headerless = false,
): Parsed<T> {
  const warnings: string[] = [];
  const recs = records(text, file, warnings);
  if (recs.length === 0) {
    if (!headerless) warnings.push(`${file}: empty file`);
    return { rows: [], warnings };
  }
  const idx = headerless ? columns.map((_, i) => i) : columnIndex(recs[0][1], columns, file);
  const rows: T[] = [];
  const cutShort = !text.endsWith('\n');
  for (let r = headerless ? 0 : 1; r < recs.length; r++) {
    const [line, rec] = recs[r];
    try {
      const cells = new Array<string>(idx.length);
      for (let c = 0; c < idx.length; c++) {
        const v = rec[idx[c]!];
        if (v === undefined) throw new RowError(columns[c]!, `has ${rec.length} fields, expected ${columns.length}`);
        cells[c] = v;
      }
      rows.push(toRow(cells));
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      const where = `${file}:${line}: column ${err.column}: ${err.message}`;
      warnings.push(
        cutShort && r === recs.length - 1 ? `${where} (last line cut short, ignored)` : `${where} (row skipped)`,
      );
    }
  }
  return { rows, warnings };
}

function number(v: string, column: string, min = -Infinity): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new RowError(column, `expected a number, got ${JSON.stringify(v)}`);
  if (n < min) throw new RowError(column, `expected a number >= ${min}, got ${v}`);
  return n;
}

function time(v: string, column: string): number {
  const t = /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new RowError(column, `expected an ISO-8601 UTC time, got ${JSON.stringify(v)}`);
  return t;
}

/** A text cell, with the formula guard of the writers undone. */
function text(v: string, column: string, allowEmpty = false): string {
  if (!allowEmpty && v === '') throw new RowError(column, 'is empty');
  return readCsvCell(v);
}

const STATUS = new Set<string>(STEP_STATUSES);

type TimingColumn = (typeof TIMING_COLUMNS)[number];
const TIMING_INDEX = Object.fromEntries(TIMING_COLUMNS.map((col, i) => [col, i])) as Record<TimingColumn, number>;

function timingRow(c: string[]): TimingRow {
  // cells come in TIMING_COLUMNS order (parseTable finds them by header name); read by name,
  // without a (value, column) pair per cell: a report reads two of these files per host
  const timestamp = c[TIMING_INDEX.timestamp]!;
  time(timestamp, 'timestamp');
  const status = c[TIMING_INDEX.status]!;
  if (!STATUS.has(status))
    throw new RowError('status', `expected one of ${STEP_STATUSES.join('|')}, got ${JSON.stringify(status)}`);
  return {
    timestamp,
    runId: text(c[TIMING_INDEX.run_id]!, 'run_id'),
    host: text(c[TIMING_INDEX.host]!, 'host'),
    phase: text(c[TIMING_INDEX.phase]!, 'phase'),
    step: text(c[TIMING_INDEX.step]!, 'step', true),
    startEpochS: number(c[TIMING_INDEX.start_epoch_s]!, 'start_epoch_s', 0),
    durationS: number(c[TIMING_INDEX.duration_s]!, 'duration_s', 0),
    status: status as StepStatus,
  };
}

function resourceRow(c: string[]): ResourceSample {
  const sample = { timestamp: c[0], t: time(c[0], 'timestamp'), host: text(c[1], 'host') } as ResourceSample;
  // the metrics follow timestamp and host, in the order of RESOURCE_COLUMNS
  RESOURCE_METRIC_COLUMNS.forEach(([metric, column], i) => {
    sample[metric] = number(c[i + 2], column, 0);
  });
  return sample;
}

/** timing.csv or controller-timing.csv text -> rows. */
export function parseTimingCsv(csv: string, file: string): Parsed<TimingRow> {
  return parseTable(csv, file, TIMING_COLUMNS, timingRow);
}

/** resources.csv text -> samples (in file order). */
export function parseResourcesCsv(csv: string, file: string): Parsed<ResourceSample> {
  return parseTable(csv, file, RESOURCE_COLUMNS, resourceRow);
}

/** resources.csv rows without the header (the output of readSamplesCommand), for live alerts. */
export function parseResourceRows(csv: string, source: string): Parsed<ResourceSample> {
  return parseTable(csv, source, RESOURCE_COLUMNS, resourceRow, true);
}
