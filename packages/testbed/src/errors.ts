/**
 * A failure the user can act on: `reason` is a stable machine-readable word, `message` says what went
 * wrong and how to fix it, `details` carries evidence such as a server's last log lines.
 */
export class TestbedError extends Error {
  override readonly name = "TestbedError";
  constructor(
    readonly reason:
      | "missing-binary"
      | "port-in-use"
      | "server-exited"
      | "not-ready"
      | "already-running"
      | "not-running"
      | "needs-root"
      | "bad-option"
      | "bad-name"
      | "bad-ledger"
      | "bad-state",
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }

  toJSON(): { name: string; reason: string; message: string; details: readonly string[] } {
    return { name: this.name, reason: this.reason, message: this.message, details: this.details };
  }
}
