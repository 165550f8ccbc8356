import { KnownError } from "@livekit-swarm/schema";

export type K8sErrorReason = "bad-name" | "bad-input" | "api";

/** A manifest that cannot be rendered, or a Job that cannot be watched, worded with the fix. */
export class K8sError extends KnownError<K8sErrorReason> {
  override readonly name = "K8sError";
}

export type ResultsErrorReason =
  /** A listing read over HTTP that is not one: bad JSON, a name that is not a result file's, a bad size or hash. */
  | "bad-listing"
  /** A file whose bytes are not what its listing said: more bytes, or another sha256. */
  | "bad-file"
  /** A listing whose files add up to more than there is room for. */
  | "too-big"
  /** kubectl is missing or failed. */
  | "kubectl"
  /** The merge's results cannot be fetched: no such Job, its pod ended or never started. */
  | "not-fetched"
  /** The folder to write into cannot take the results. */
  | "output";

/** A run's results that cannot be served, collected or fetched, worded with the fix. */
export class ResultsError extends KnownError<ResultsErrorReason> {
  override readonly name = "ResultsError";
}
