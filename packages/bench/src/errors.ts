import { KnownError } from "@livekit-swarm/schema";

/** A known way for the bench to fail, with a message a user can act on. */
export class BenchError extends KnownError<"usage" | "no-start" | "interrupted" | "testbed"> {
  override readonly name = "BenchError";
}
