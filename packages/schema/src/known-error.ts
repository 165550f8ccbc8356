/**
 * A failure we anticipated: a stable `reason` word for journals and scripts, and a message a user can
 * act on (what went wrong and the fix). Each package's error is a subclass that names itself
 * (`override readonly name`) and its reasons; `toJSON()` is the shape journals carry. A message never
 * holds a secret or a token.
 */
export class KnownError<Reason extends string = string> extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): { name: string; reason: Reason; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
