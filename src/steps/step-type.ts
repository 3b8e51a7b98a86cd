// A step type is one definition shared by plan and apply (DESIGN §1.1):
// a probe (what to read, from src/facts), then a pure decision on what was read.
import type * as z from '../zod.js';
import type { InsertMode } from '../config/template.js';
import type { BatchProbe } from '../facts/batch-probe.js';
import type { OsFacts } from '../facts/os-release.js';

/** What a probe printed, trailing newlines trimmed (as sh's $( ) does), and its exit code. */
export interface ProbeOutput {
  text: string;
  exitCode: number;
}

export interface StepContext {
  /** Name of the login user, as the probe found it (root when become is on). */
  remoteUser: string;
  /** The host's OS, read in the session's first round trip (facts/os-release.ts). */
  os: OsFacts;
}

export type Decision =
  | { status: 'ok'; reason: string; onChanged?: ConditionalAction }
  | {
      status: 'change';
      reason: string;
      script: string;
      display: string[];
      onChanged?: ConditionalAction;
      /** acting fails the step: a check that does not hold (assert), shown by plan as such */
      fails?: boolean;
    };

/** A self-deciding action (StepType.settle) and how it is shown. */
export interface Settle {
  script: string;
  display: string[];
}

/** Something to do only when named earlier steps changed in this run (service restart_on). */
interface ConditionalAction {
  steps: string[];
  reason: string;
  script: string;
  display: string[];
}

/** A check the controller itself performs (from the laptop), not a command on the host. */
/** through 'ssh': to the host's 127.0.0.1:port over the tool's SSH connection; 'direct': to its address */
export type LocalCheck = { kind: 'rdp-handshake'; port: number; requireTls: boolean; through: 'ssh' | 'direct' };

/**
 * Something a step fetches from outside the host (checked by the source preflight before
 * anything changes). `urls` are alternatives: the source resolves when one of them does
 * (an apt repository's InRelease, else its Release).
 */
export interface ExternalSource {
  /** the argument the URL comes from (key_url, repo, url) */
  field: string;
  kind: 'key' | 'repository' | 'deb';
  urls: string[];
}

export interface StepType<A> {
  id: string;
  /** Argument schema: unknown keys are refused. */
  schema: z.ZodMiniType<A>;
  /** How {{ var }} is inserted in each string argument (default 'text'). */
  fieldModes: Readonly<Record<string, InsertMode>>;
  /** Shell text printing what decide() needs; null when there is nothing to read. */
  probe(args: A): string | null;
  /** The same read in a form the probe script batches with other steps' (one process for many). */
  batchProbe?(args: A): BatchProbe | undefined;
  decide(args: A, probed: ProbeOutput | null, ctx: StepContext): Decision;
  /**
   * An action right whatever the state: used when the apply script finds the step's state
   * changed since the probe (an earlier step of the run touched it), instead of going back to
   * the controller to decide again. When nothing is needed it creates "\${0%/*}/ok" (its
   * own folder) and changes nothing. Without it a stale step costs a round trip.
   */
  settle?(args: A): Settle | undefined;
  /** Names of the earlier steps whose change this step reacts to (service restart_on). */
  watches?(args: A): string[];
  /** A risk in the arguments the user should hear about before the run (shown as a warning). */
  warning?(args: A): string | undefined;
  /** What the step fetches from outside the host (none when absent). */
  sources?(args: A): ExternalSource[];
  /** Set for steps that run on the controller; probe and decide are then not used. */
  local?(args: A): LocalCheck;
}

// Each type is registered with its own args type; the engine treats args as opaque.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStepType = StepType<any>;
