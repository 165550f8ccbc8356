export type {
  Aggregation,
  DefaultThreshold,
  GrafanaUnit,
  LivekitMetric,
  LivekitMetricName,
  MetricDefinition,
  MetricName,
  MetricSource,
  MetricThreshold,
  MetricType,
  OptInLabel,
  Population,
  Presence,
  SwarmLabel,
  SwarmMetric,
  SwarmMetricName,
  ThresholdOp,
} from "./catalog.js";
export {
  LIVEKIT_METRIC_PREFIX,
  SWARM_METRIC_PREFIX,
  aggregations,
  catalog,
  defaultThresholds,
  grafanaUnits,
  livekitConstLabels,
  livekitMetrics,
  metric,
  metricByName,
  optInLabelNames,
  populations,
  suggestMetric,
  swarmLabelNames,
  swarmMetrics,
  thresholdOps,
  validateCatalog,
} from "./catalog.js";
export type { Milliseconds } from "./duration.js";
export { redactSecrets } from "./redact.js";
export { serverUrlProblem } from "./server-url.js";
export { RUN_ID_PATTERN } from "./run-id.js";
export {
  DurationError,
  MAX_DURATION,
  describeValue,
  formatDuration,
  parseDuration,
  quoted,
  quotedPath,
} from "./duration.js";
export type {
  AudioSpec,
  DataSpec,
  E2eeSpec,
  EngineChoice,
  Scenario,
  StormSpec,
  VideoCodec,
  VideoResolutionPreset,
  VideoSpec,
  PublishedVideo,
} from "./scenario-types.js";
export type { ScenarioInput } from "./scenario.js";
export {
  loadScenario,
  parseScenario,
  parseScenarioObject,
  JOINS_PER_SECOND,
  MAX_SHARING,
  MAX_ROOMS,
  MAX_PER_ROOM,
  scenarioKeyPaths,
} from "./scenario.js";
export { engineChoices, videoCodecs, videoResolutions } from "./scenario-types.js";
export { scenarioDefaults, scenarioFields } from "./scenario-fields.js";
export { closestMatches, editDistance } from "./suggest.js";
export type {
  Role,
  Kind,
  InboundTrackSample,
  OutboundTrackSample,
  WindowSample,
  WorkerLoadWindow,
  MediaTicksWindow,
  ParticipantEvent,
  RoomPlacement,
  EventContext,
  RunObserver,
  StormObservation,
} from "./samples.js";
export {
  STORM_METRIC_PREFIX,
  WORKER_LATE_TICK_MS,
  WORKER_SATURATED_EVENT_LOOP,
  CryptorReport,
  cannotDecrypt,
  decryptsAgain,
  inboundTrackSample,
  inboundCounts,
  outboundCounts,
} from "./samples.js";
export { TransportWatch, transportClass, transportClasses } from "./transport.js";
export type {
  CandidateType,
  IceProtocol,
  RelayProtocol,
  SelectedPair,
  TransportClass,
  TransportEvent,
} from "./transport.js";
export type {
  AbortConditions,
  ClientFaultType,
  ComposeTarget,
  DeploymentFault,
  DeploymentFaultType,
  Drill,
  DrillBackend,
  DrillFault,
  DrillTarget,
  Expectations,
  FaultParams,
  FaultTarget,
  FaultType,
  FindingId,
  KubernetesTarget,
  LocalTarget,
  Percentiles,
  PrometheusProbe,
  RecoveryBounds,
  RecoveryPopulation,
  SimulateScenario,
  SteadyState,
} from "./drill-types.js";
export {
  clientFaultTypes,
  faultTypes,
  findingIds,
  isDeploymentFault,
  recoveryPopulations,
  simulateScenarios,
  drillBackends,
} from "./drill-types.js";
export type { ParseDrillOptions } from "./drill/index.js";
export { loadDrill, parseDrill } from "./drill/index.js";
export { EXPECT_DEFAULT } from "./drill/expectations.js";
export type { ConfigErrorReason, ConfigProblem } from "./config.js";
export { ConfigError, readConfigText, readFailure, readYaml } from "./config.js";
export { FIFO_WAIT_MS, readHeadSync } from "./bounded-read.js";
export { labelMatcher, promqlString } from "./promql-string.js";
export { ExitCode, exitCodeForSignal } from "./exit-codes.js";
export { KnownError, messageOf, traceOf } from "./known-error.js";
export { TOOL } from "./tool.js";
