export type LeanErrorReason = "unreachable" | "rejected" | "timeout" | "closed" | "left" | "negotiation";

/** Why a lean participant could not join or stay: a reason for journals, a message a user can act on. */
export class LeanError extends Error {
  constructor(
    readonly reason: LeanErrorReason,
    message: string,
  ) {
    super(message);
    this.name = "LeanError";
  }
  toJSON(): object {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
