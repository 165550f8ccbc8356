import { KnownError } from "@livekit-swarm/schema";

export type ExporterErrorReason = "serve-failed" | "push-failed";

/** A failure to serve or push metrics, worded for the person running the swarm. */
export class ExporterError extends KnownError<ExporterErrorReason> {
  override readonly name = "ExporterError";
}

/** `ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9091)` from a Node system error, else its message. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && !err.message.includes(code) ? `${code} (${err.message})` : err.message;
}
