import { KnownError } from "@livekit-swarm/schema";

export type LeanErrorReason = "unreachable" | "rejected" | "timeout" | "closed" | "left" | "negotiation";

/** Why a lean participant could not join or stay: a reason for journals, a message a user can act on. */
export class LeanError extends KnownError<LeanErrorReason> {
  override readonly name = "LeanError";
}
