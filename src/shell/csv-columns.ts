// The columns of the CSV files the hosts write: one owner for the shell that writes them
// (phase scripts, src/monitor/sampler.sh: checked against these by test/unit/csv-columns.test.ts)
// and the report that reads them (report/formats.ts re-exports them).

/** timing.csv (host) and controller-timing.csv (laptop): one row per step, plus one per phase with step ''. */
export const TIMING_COLUMNS = [
  'timestamp',
  'run_id',
  'host',
  'phase',
  'step',
  'start_epoch_s',
  'duration_s',
  'status',
] as const;

/** The header line of timing.csv, as the phase scripts write it. */
export const TIMING_HEADER = TIMING_COLUMNS.join(',');

/** The numeric columns of resources.csv, in file order after timestamp and host: [sample field, column]. */
export const RESOURCE_METRIC_COLUMNS = [
  ['cpuPct', 'cpu_pct'],
  ['memUsedMb', 'mem_used_mb'],
  ['memAvailableMb', 'mem_available_mb'],
  ['diskAvailMb', 'disk_avail_mb'],
  ['diskReadKbps', 'disk_read_kbps'],
  ['diskWriteKbps', 'disk_write_kbps'],
  ['netRxKbps', 'net_rx_kbps'],
  ['netTxKbps', 'net_tx_kbps'],
  ['load1', 'load1'],
  ['procs', 'procs'],
] as const;

/** resources.csv, written by src/monitor/sampler.sh. */
export const RESOURCE_COLUMNS = ['timestamp', 'host', ...RESOURCE_METRIC_COLUMNS.map(([, column]) => column)] as const;
