// Typed engine events and results. The UI (cli/ui) renders events; --json prints results.
// Step and host statuses have one owner, the run file formats (run.json, timing.csv).
import type { HostStatus, StepStatus } from '../report/formats.js';

export type { StepStatus };

export interface StepResult {
  name: string;
  type: string;
  status: StepStatus;
  reason: string;
  durationMs: number;
  /** plan: the exact commands that would run; apply: those that ran */
  commands?: string[];
  /** tail of the output of a failed step */
  output?: string;
  /** plan: the step would fail as things stand (a check that does not hold now) */
  fails?: boolean;
}

export interface PhaseResult {
  name: string;
  status: StepStatus;
  reason: string;
  durationMs: number;
  estimateS: number;
  critical: boolean;
  startedAt?: string;
  steps: StepResult[];
}

export interface HostResult {
  host: string;
  address: string;
  status: HostStatus;
  error?: { kind: string; message: string; hint: string };
  durationMs: number;
  /** scripts and commands sent to the host: each costs one network round trip or more */
  roundTrips: number;
  phases: PhaseResult[];
  /** the host has /var/run/reboot-required at the end of the run */
  rebootRequired?: boolean;
  /** --reboot: what happened when it was rebooted */
  reboot?: { ok: boolean; downMs: number; detail: string };
}

export interface RunResult {
  runId: string;
  mode: 'apply' | 'plan';
  startedAt: string;
  endedAt: string;
  hosts: HostResult[];
}

export type EngineEvent =
  | { type: 'host-start'; host: string }
  | { type: 'host-connected'; host: string; durationMs: number; os: string }
  | { type: 'phase-start'; host: string; phase: string; index: number; total: number; estimateS: number }
  /** the step the host is working on now (apply runs; a step already in place passes at once) */
  | { type: 'step-start'; host: string; phase: string; step: string }
  | { type: 'step'; host: string; phase: string; step: StepResult }
  /** a phase that does not run (checkpoint, a critical phase failed, unmet needs, interrupted) */
  | { type: 'phase-skip'; host: string; phase: PhaseResult }
  | { type: 'phase-end'; host: string; phase: PhaseResult }
  | { type: 'host-end'; host: string; result: HostResult }
  | { type: 'warning'; host: string; message: string }
  /** rows of the host's resources.csv recorded since the last such event */
  | { type: 'samples'; host: string; csv: string };

export type EventSink = (event: EngineEvent) => void;
