// A secret is wrapped where it is created so every printer shows it redacted:
// String(), JSON.stringify() and util.inspect() all give the placeholder.
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The real value: call only where it is sent (stdin of a remote process, a 0600 file). */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
