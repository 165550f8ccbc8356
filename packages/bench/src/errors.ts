/** A known way for the bench to fail, with a message a user can act on. */
export class BenchError extends Error {
  override readonly name = "BenchError";

  constructor(
    readonly reason: "usage" | "no-start" | "interrupted" | "testbed",
    message: string,
  ) {
    super(message);
  }

  toJSON(): { name: string; reason: string; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
