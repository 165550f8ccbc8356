export { K8sError, type K8sErrorReason } from "./errors.js";
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
  type ParticipantCost,
  type PodSize,
  type ShardEngine,
} from "./sizing.js";
export {
  METRICS_PORT,
  RESULTS_DIR,
  SCENARIO_DIR,
  SCENARIO_FILE,
  resultsVolumeGiB,
  runManifests,
  shardDeadlineSeconds,
  type RenderOptions,
  type RunObjects,
  type RenderedRun,
} from "./manifests.js";
export { renderYaml } from "./render.js";
export {
  inClusterApi,
  jobState,
  waitForJob,
  type InClusterApi,
  type JobEnd,
  type JobState,
  type WaitOptions,
} from "./job-wait.js";
export type * from "./types.js";
