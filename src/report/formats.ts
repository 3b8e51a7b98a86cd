// The file formats shared by the droplet, the controller and the report: CSV column
// lists, row types, and zod schemas for run.json, thresholds and alerts, so that a
// damaged file is rejected with a message naming the file and the field.
//
// Units: *_mb = MiB; *_kbps = KiB/s (disk and network alike); cpu_pct is over all
// CPUs (0-100); timestamps are ISO-8601 UTC with milliseconds; epoch values seconds.
import * as z from '../zod.js';
import { ConfigError } from '../errors.js';
import { csvField } from '../shell/csv-field.js';

import { TIMING_COLUMNS, RESOURCE_COLUMNS, RESOURCE_METRIC_COLUMNS } from '../shell/csv-columns.js';

// the columns are owned by shell/csv-columns.ts (the shell that writes the files uses them too)
export { TIMING_COLUMNS, RESOURCE_COLUMNS, RESOURCE_METRIC_COLUMNS };
/** reports/<run-id>/timing.csv: droplet rows joined with the laptop's measure of the same step. */
export const MERGED_TIMING_COLUMNS = [...TIMING_COLUMNS, 'controller_duration_s'] as const;

export const STEP_STATUSES = ['ok', 'changed', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
/** A phase may also never have started (an earlier critical phase failed, or Ctrl-C). */
const PHASE_STATUSES = [...STEP_STATUSES, 'pending'] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];
const HOST_STATUSES = ['ok', 'failed', 'unreachable', 'interrupted'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

export interface TimingRow {
  /** ISO-8601 UTC end time with ms */
  timestamp: string;
  runId: string;
  host: string;
  phase: string;
  /** '' on the phase's own row */
  step: string;
  startEpochS: number;
  durationS: number;
  status: StepStatus;
}

export interface ResourceSample {
  timestamp: string;
  /** timestamp as epoch milliseconds (parsed once) */
  t: number;
  host: string;
  cpuPct: number;
  memUsedMb: number;
  memAvailableMb: number;
  diskAvailMb: number;
  diskReadKbps: number;
  diskWriteKbps: number;
  netRxKbps: number;
  netTxKbps: number;
  load1: number;
  procs: number;
}

/** The numeric fields of a sample, in column order after timestamp and host. */
export type SampleMetric = (typeof RESOURCE_METRIC_COLUMNS)[number][0];
export const SAMPLE_METRICS: readonly SampleMetric[] = RESOURCE_METRIC_COLUMNS.map(
  ([metric]) => metric,
) satisfies readonly (keyof ResourceSample)[];

const isoDateTime = z
  .string()
  .check(
    z.refine(
      (s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)),
      { message: 'expected an ISO-8601 date-time such as 2026-11-28T02:21:00.000Z' },
    ),
  );

/** SPEC §5 defaults; each may be overridden in the inventory. */
const AlertThresholdsSchema = z.strictObject({
  /** alert when available memory drops below this many MiB */
  memAvailableMb: z._default(z.number().check(z.positive()), 500),
  /** alert when free space on / drops below this many GiB */
  diskFreeGb: z._default(z.number().check(z.positive()), 5),
  /** alert when CPU stays above this % ... */
  cpuPct: z._default(z.number().check(z.positive(), z.lte(100)), 95),
  /** ... for at least this many seconds */
  cpuSustainedS: z._default(z.number().check(z.positive()), 60),
  /** warning when a phase takes more than this % of its estimate */
  phaseWarningPct: z._default(z.number().check(z.positive()), 150),
  /** critical when a phase takes more than this % of its estimate */
  phaseCriticalPct: z._default(z.number().check(z.positive()), 200),
});
export type AlertThresholds = z.infer<typeof AlertThresholdsSchema>;
export const DEFAULT_THRESHOLDS: AlertThresholds = Object.freeze(AlertThresholdsSchema.parse({}));

const ALERT_KINDS = ['memory', 'disk', 'cpu', 'phase-duration'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export type Severity = 'warning' | 'critical';

const AlertSchema = z.object({
  host: z.string().check(z.minLength(1)),
  kind: z.enum(ALERT_KINDS),
  severity: z.enum(['warning', 'critical']),
  at: isoDateTime,
  message: z.string(),
  phase: z.optional(z.string()),
  value: z.number(),
  threshold: z.number(),
});
export type Alert = z.infer<typeof AlertSchema>;

const RunPhaseSchema = z.object({
  name: z.string().check(z.minLength(1)),
  estimateS: z.number().check(z.nonnegative()),
  critical: z.boolean(),
  status: z.enum(PHASE_STATUSES),
  startedAt: z.optional(isoDateTime),
  durationMs: z.optional(z.number().check(z.nonnegative())),
  reason: z.optional(z.string()),
  /** the failed steps of the phase and the tail of their output (hostile text: escape it) */
  failedSteps: z.optional(z.array(z.object({ step: z.string(), output: z.string().check(z.maxLength(20_000)) }))),
});

/** reports/<run-id>/<host>/run.json, written by the controller. */
const RunJsonSchema = z.object({
  runId: z.string().check(z.minLength(1)),
  host: z.string().check(z.minLength(1)),
  address: z.string(),
  startedAt: isoDateTime,
  /** absent only when the controller died before writing it */
  endedAt: z.optional(isoDateTime),
  status: z.enum(HOST_STATUSES),
  error: z.optional(z.string()),
  phases: z.array(RunPhaseSchema),
  thresholds: AlertThresholdsSchema,
  alerts: z._default(z.array(AlertSchema), []),
});
export type RunJson = z.infer<typeof RunJsonSchema>;
/** What the controller passes in (defaults not yet applied). */
export type RunJsonInput = z.input<typeof RunJsonSchema>;

function issuesText(err: z.core.$ZodError): string {
  return (
    err.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
      .join('; ') + (err.issues.length > 5 ? `; and ${err.issues.length - 5} more` : '')
  );
}

/** Parses and validates run.json text; errors name the file and the field. */
export function parseRunJson(text: string, file: string): RunJson {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `${file}: not valid JSON (${(err as Error).message})`,
      'the file is damaged: fetch the report again',
      file,
      undefined,
      { cause: err },
    );
  }
  const r = RunJsonSchema.safeParse(data);
  if (!r.success)
    throw new ConfigError(
      `${file}: ${issuesText(r.error)}`,
      'the file is damaged or from another version: fetch the report again',
      file,
    );
  return r.data;
}

const num = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : '');

/** The CSV header line of timing.csv (with newline). */
export function timingHeader(): string {
  return TIMING_COLUMNS.join(',') + '\n';
}

/** A timing row's cells in TIMING_COLUMNS order (a number that is not finite is an empty cell). */
export function timingCells(r: TimingRow): string[] {
  const cells: Record<(typeof TIMING_COLUMNS)[number], string> = {
    timestamp: r.timestamp,
    run_id: r.runId,
    host: r.host,
    phase: r.phase,
    step: r.step,
    start_epoch_s: num(r.startEpochS),
    duration_s: num(r.durationS),
    status: r.status,
  };
  return TIMING_COLUMNS.map((column) => cells[column]);
}

/**
 * timing.csv lines (each with its newline), cell by cell with csvField: the text csv-stringify
 * writes with CSV_STRINGIFY_GUARD (the unit test compares the two), without its ~0.6 ms of CPU
 * a row (50 rows per host).
 */
export function formatTimingRows(rows: readonly TimingRow[]): string {
  return rows.map((r) => csvLine(timingCells(r))).join('');
}

/** One CSV line: each cell through csvField. */
const csvLine = (cells: readonly string[]) => `${cells.map(csvField).join(',')}\n`;

/**
 * A CSV file's text: the header line, then each row's cells with csvField: what
 * csv-stringify writes with CSV_STRINGIFY_GUARD, `header` and `columns` (the unit test
 * compares the two), without its garbage (a merged timing.csv has ~50 rows per host).
 */
export function csvText(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  let out = csvLine(columns);
  for (const r of rows) out += csvLine(r);
  return out;
}
