import { KnownError } from "@livekit-swarm/schema";

/** The stable words a TestbedError gives for what went wrong. */
export type TestbedErrorReason =
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
  | "bad-state";

/**
 * A failure the user can act on: `reason` is a stable machine-readable word, `message` says what went
 * wrong and how to fix it, `details` carries evidence such as a server's last log lines.
 */
export class TestbedError extends KnownError<TestbedErrorReason> {
  override readonly name = "TestbedError";
  constructor(reason: TestbedErrorReason, message: string, details: readonly string[] = []) {
    super(reason, message, { details });
  }

  override toJSON(): {
    name: string;
    reason: TestbedErrorReason;
    message: string;
    details: readonly string[];
  } {
    return { name: this.name, reason: this.reason, message: this.message, details: this.details };
  }
}
