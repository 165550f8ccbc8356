import { KnownError } from "@livekit-swarm/schema";

export type K8sErrorReason = "bad-name" | "bad-input" | "api";

/** A manifest that cannot be rendered, or a Job that cannot be watched, worded with the fix. */
export class K8sError extends KnownError<K8sErrorReason> {
  override readonly name = "K8sError";
}
