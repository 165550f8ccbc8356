/** The LiveKit server named by --url cannot be used: unreachable, or it rejects the keys. */
export class TargetError extends Error {
  override readonly name = "TargetError";
  constructor(
    readonly reason: "unreachable" | "unauthorized",
    message: string,
  ) {
    super(message);
  }

  toJSON(): { name: string; reason: string; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
