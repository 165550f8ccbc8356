export { K8sError, ResultsError, type K8sErrorReason, type ResultsErrorReason } from "./errors.js";
export { requireDnsLabel, requireDnsSubdomain, requireLabelValue } from "./names.js";
export {
  LIMIT_FACTOR,
  MAX_WORKERS,
  PARTICIPANT_COSTS,
  POD_BASE,
  REQUEST_HEADROOM,
  largestShard,
  participantCost,
  participantsPerRoom,
  podSize,
  shardEngine,
  type ParticipantCost,
  type PodSize,
  type ShardEngine,
} from "./sizing.js";
export {
  MERGE_HOLD,
  METRICS_PORT,
  RESULTS_DIR,
  SCENARIO_DIR,
  SCENARIO_FILE,
  resultsVolumeGiB,
  runManifests,
  shardDeadlineSeconds,
  shardServingSeconds,
  type RenderOptions,
  type RunObjects,
  type RenderedRun,
} from "./manifests.js";
export { renderYaml } from "./render.js";
export {
  ACCOUNT_DIR,
  apiGet,
  inClusterApi,
  jobState,
  podsOf,
  shardJob,
  type InClusterApi,
  type JobEnd,
  type JobState,
  type Pod,
  type ShardJob,
} from "./api.js";
export {
  COLLECTED_PATH,
  LISTING_FORMAT,
  RESULTS_PATH,
  parseListing,
  type Listing,
  type ResultFile,
} from "./results/listing.js";
export {
  ResultsRoute,
  serveResults,
  type ResultsServer,
  type RunEnd,
  type ServingEnd,
} from "./results/route.js";
export { collectShards, type CollectOptions, type ShardOutcome, type ShardPod } from "./results/collect.js";
export {
  fetchRun,
  kubectl,
  KubectlFailed,
  type Fetched,
  type FetchOptions,
  type Kubectl,
} from "./results/fetch.js";
export type * from "./types.js";
