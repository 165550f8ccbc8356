import { KnownError } from "@livekit-swarm/schema";

/** Bad command-line input; the CLI prints the message and exits 1. */
export class UsageError extends KnownError<"usage"> {
  override readonly name = "UsageError";
  constructor(message: string) {
    super("usage", message);
  }
}
