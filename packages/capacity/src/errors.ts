/** A capacity search that cannot go on; the message names the fix. */
export class CapacityError extends Error {
  override readonly name = "CapacityError";
  constructor(
    readonly reason: "step-failed" | "interrupted" | "bad-option",
    message: string,
  ) {
    super(message);
  }

  toJSON(): { name: string; reason: string; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
