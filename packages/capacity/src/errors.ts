import { KnownError } from "@livekit-swarm/schema";

/** A capacity search that cannot go on; the message names the fix. */
export class CapacityError extends KnownError<"step-failed" | "interrupted" | "bad-option"> {
  override readonly name = "CapacityError";
}
