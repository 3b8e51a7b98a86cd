// The resource charts of a host section, as data: the markup draws one card per entry
// and the page script one chart per entry, so a new chart is one entry here (plus, for
// a metric no chart drew before, nothing: every metric named here is sent to the page).
import type { AlertKind, AlertThresholds, SampleMetric } from '../formats.js';

/** Resource lines use these colours, which mean nothing else on the page. */
type LineColour = 'violet' | 'pink' | 'teal' | 'slate';

export interface ChartLine {
  label: string;
  metric: SampleMetric;
  colour: LineColour;
  /** a MiB metric drawn as GiB with one decimal */
  gib?: boolean;
  /** on the right-hand axis (y1) */
  right?: boolean;
  /** filled down to zero */
  fill?: boolean;
  width?: number;
  dash?: number[];
}

export interface ResourceChart {
  /** the card's data-chart attribute; unique, and never 'gantt' */
  id: string;
  title: string;
  legend: boolean;
  lines: ChartLine[];
  y: { title: string; max?: number };
  y1?: { title: string };
  /**
   * Alerts of this kind are marked: a line at their time and a triangle at their value
   * on the left axis (in GiB when `gib`, capped at the axis max), and the threshold as a
   * dashed line labelled `label` with {} replaced by its value.
   */
  alert?: { kind: AlertKind; threshold: keyof AlertThresholds; label: string; gib?: boolean };
}

export const RESOURCE_CHARTS: readonly ResourceChart[] = [
  {
    id: 'cpu',
    title: 'CPU %',
    legend: false,
    lines: [{ label: 'CPU %', metric: 'cpuPct', colour: 'violet', fill: true }],
    y: { title: 'CPU %', max: 100 },
    alert: { kind: 'cpu', threshold: 'cpuPct', label: 'alert > {} %' },
  },
  {
    id: 'mem',
    title: 'Memory (MB)',
    legend: true,
    lines: [
      { label: 'used MB', metric: 'memUsedMb', colour: 'violet', fill: true },
      { label: 'available MB', metric: 'memAvailableMb', colour: 'pink' },
    ],
    y: { title: 'MB' },
    alert: { kind: 'memory', threshold: 'memAvailableMb', label: 'alert < {} MB available' },
  },
  {
    id: 'disk',
    title: 'Disk: free (GB) and throughput (KiB/s)',
    legend: true,
    lines: [
      { label: 'free GB', metric: 'diskAvailMb', gib: true, colour: 'slate', width: 2 },
      { label: 'read KiB/s', metric: 'diskReadKbps', colour: 'teal', right: true },
      { label: 'write KiB/s', metric: 'diskWriteKbps', colour: 'pink', right: true },
    ],
    y: { title: 'free GB' },
    y1: { title: 'KiB/s' },
    alert: { kind: 'disk', threshold: 'diskFreeGb', label: 'alert < {} GB free', gib: true },
  },
  {
    id: 'net',
    title: 'Network (KiB/s) and load',
    legend: true,
    lines: [
      { label: 'rx KiB/s', metric: 'netRxKbps', colour: 'teal', fill: true },
      { label: 'tx KiB/s', metric: 'netTxKbps', colour: 'pink' },
      { label: 'load (1 min)', metric: 'load1', colour: 'slate', right: true, dash: [4, 3] },
    ],
    y: { title: 'KiB/s' },
    y1: { title: 'load' },
  },
];
