/** Bad command-line input; the CLI prints the message and exits 1. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly reason = "usage";
  toJSON(): { name: string; reason: string; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
