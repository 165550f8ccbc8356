/**
 * A failure we anticipated: a stable `reason` word for journals and scripts, and a message a user can
 * act on (what went wrong and the fix). Each package's error is a subclass that names itself
 * (`override readonly name`) and its reasons; `toJSON()` is the shape journals carry. A message never
 * holds a secret or a token. The CLI's error boundary prints any KnownError as one line (and its
 * details), exit 1; anything else is a bug, printed with its trace.
 */
export class KnownError<Reason extends string = string> extends Error {
  /** Evidence the message points at (a server's last log lines), shown under it, one per line. */
  readonly details: readonly string[];

  constructor(
    readonly reason: Reason,
    message: string,
    options?: { readonly cause?: unknown; readonly details?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details ?? [];
  }

  toJSON(): { name: string; reason: Reason; message: string; details?: readonly string[] } {
    return {
      name: this.name,
      reason: this.reason,
      message: this.message,
      ...(this.details.length > 0 ? { details: this.details } : {}),
    };
  }
}

/**
 * What a caught value says, for a message a user reads: an error's message, anything else as text
 * (a rejected promise may carry a string, a number, `undefined`).
 */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A caught value's stack for a bug report: the trace where there is one, else its message. */
export function traceOf(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
