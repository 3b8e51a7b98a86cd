// The small error hierarchy of DESIGN §1.6. Every error carries a one-line hint
// for the user; only src/cli turns them into exit codes and prints them.

export abstract class ProvisionError extends Error {
  abstract readonly kind: 'config' | 'connect' | 'preflight' | 'command' | 'step' | 'interrupted' | 'cancelled';
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad inventory, playbook, argument: names the file and line (or YAML path). */
export class ConfigError extends ProvisionError {
  readonly kind = 'config' as const;
  constructor(
    message: string,
    hint: string,
    readonly file?: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}

export type ConnectFailure = 'auth' | 'host-key' | 'timeout' | 'refused' | 'unreachable' | 'dropped' | 'other';

/** Could not reach or authenticate to a host, or the connection broke. */
export class ConnectError extends ProvisionError {
  readonly kind = 'connect' as const;
  constructor(
    readonly host: string,
    readonly reason: ConnectFailure,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}

/** A check made on every host before any change failed (e.g. sudo refused somewhere). */
export class PreflightError extends ProvisionError {
  readonly kind = 'preflight' as const;
}

/** A remote command could not be run as intended (not a non-zero exit: that is data). */
export class CommandError extends ProvisionError {
  readonly kind = 'command' as const;
}

export class InterruptedError extends ProvisionError {
  readonly kind = 'interrupted' as const;
  constructor(message = 'interrupted', hint = 'the run was stopped by a signal; re-run to continue where it stopped') {
    super(message, hint);
  }
}

/** The user answered "no" when asked to confirm. */
export class CancelledError extends ProvisionError {
  readonly kind = 'cancelled' as const;
  constructor() {
    super('cancelled', 'nothing was changed');
  }
}
