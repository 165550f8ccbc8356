export type {
  BitsPerSecond,
  CandidatePairSample,
  InboundStreamSample,
  MediaKind,
  Milliseconds,
  OutboundStreamSample,
  QualityLimitationReason,
  Ratio,
  RemoteInboundSample,
  RtcNodeStats,
  Seconds,
  Snapshot,
  WebrtcStatsEntry,
} from "./snapshot.js";
export { emptySnapshot, fromRtcNodeStats, fromWebrtcStats } from "./snapshot.js";

export type { InboundWindow, OutboundWindow, RemoteInboundWindow, WindowDelta } from "./delta.js";
export { computeWindowDelta } from "./delta.js";

export type {
  CensoredPercentile,
  LossCounts,
  LossRatioOfSums,
  Percentile,
  Population,
  Summary,
  WindowLatency,
} from "./statistics.js";
export {
  censoredPercentiles,
  lossRatioByGroup,
  lossRatioOfSums,
  lossRatioPercentile,
  percentile,
  percentiles,
  summarize,
  windowLatency,
} from "./statistics.js";

export type { ConnectionState, RosterEntry } from "./roster.js";
export { Roster, connectionStates, isGone, isPresent } from "./roster.js";

export type { FreezeTotals } from "./freeze.js";
export { FreezeDetector } from "./freeze.js";

export type { WireCounts } from "./wire.js";
export { TRANSPORT_OVERHEAD_BYTES, wireBytes } from "./wire.js";
