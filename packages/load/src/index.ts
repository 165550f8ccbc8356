// The run engine: plans, worker processes and their participants, the aggregate and the run's
// reports. Importing this module never loads the media stack (workers load it in their own process).
export * from "./run/messages.js";
// The run API (prepare, then start); the orchestrator and its planning steps stay inside
export { prepareRun, startRun, type PreparedRun, type PrepareRunOptions, type RunStart } from "./run/run.js";
export { planRun, shapeOf, type RunPlan, type RunShape } from "./run/plan.js";
export { WORKER_DIED, lostWorkerText, type LostWorker } from "./run/standings.js";
export type {
  ClientNetworkPlace,
  EndReason,
  ProgressView,
  RunControl,
  RunOutcome,
  RunTarget,
} from "./run/orchestrator.js";
export * from "./run/aggregate.js";
export {
  ICE_SCOPE_LIBRARY,
  iceScopeFor,
  iceScopeLine,
  mediaHosts,
  type HostRoute,
  type IceScope,
  type MediaTarget,
} from "./run/ice-scope.js";
export { FIRST_MEDIA_WINDOW_MS } from "./engine/participant.js";
export { isShortWindow } from "./run/participant-state.js";
export { E2EE_KEY_BYTES } from "./engine/e2ee.js";
export { restrictiveProfiles } from "./run/network-placement.js";
export {
  ENGINE_RULES,
  EngineError,
  checkEngines,
  checkDrillable,
  type Engine,
  type EngineParticipant,
  type EngineRules,
  type EventSink,
} from "./engine/engine.js";
export { preflight, TargetError } from "./preflight.js";
export { summaryTable } from "./report/table.js";
export { reportHtml, histogram } from "./report/html.js";
export { uplotAssets } from "./report/assets.js";
export {
  banner,
  chartSlot,
  escapeHtml,
  htmlPage,
  htmlTable,
  scriptJson,
  type ChartSpec,
  type Column,
  type PageAssets,
} from "./report/page.js";
export { formatValue } from "./report/format.js";
export {
  DEFAULT_STATS_INTERVAL_MS,
  type HttpRoute,
  type ResultsRoute,
  type RunResultsOptions,
  type RunMetrics,
  type RunMetricsOptions,
  type RunSessionOptions,
  type RunSessionResult,
} from "./session/options.js";
export { runSession } from "./session/session.js";
export { newRunId } from "./session/clock.js";
export { Interruption, type InterruptionMessages, type StopSignal } from "./session/interruption.js";
export {
  RunSessionError,
  checkOutputDir,
  clientTestbedTarget,
  LIVEKIT_CLOUD_MAX_PARTICIPANTS,
  MAX_RUN_PARTICIPANTS,
  isLivekitCloud,
} from "./session/target.js";
export {
  runReport,
  shardProblems,
  verdictLines,
  type RunOutputs,
  type RunReport,
  type ShardCoverage,
} from "./session/outputs.js";
export * from "./shard/split.js";
export { MANIFEST_FILE, writeManifest, type ShardManifest } from "./shard/manifest.js";
export { MergeError, mergeShards, type MergeOptions, type MergeResult } from "./shard/merge.js";
export {
  STORM_SCENARIOS,
  StormError,
  runStorm,
  stormScript,
  type StormMetrics,
  type StormMetricsOptions,
  type StormOptions,
  type StormResult,
} from "./storm/storm.js";
export { stormSection, type StormReport } from "./storm/report.js";
