export * from "./snapshot.js";
export * from "./webrtc.js";

export type { InboundWindow, OutboundWindow, RemoteInboundWindow, WindowDelta } from "./delta.js";
export { computeWindowDelta } from "./delta.js";

// statistics.ts names its own `Ratio`, the same `number` alias; this says which one is public.
export type { Ratio } from "./units.js";
export * from "./statistics.js";

export type { ConnectionState, RosterEntry } from "./roster.js";
export { Roster, connectionStates, isGone, isPresent } from "./roster.js";

export type { FreezeTotals } from "./freeze.js";
export { FreezeDetector } from "./freeze.js";

export type { WireCounts } from "./wire.js";
export { TRANSPORT_OVERHEAD_BYTES, wireBytes } from "./wire.js";
export {
  MAX_MAGNITUDE,
  MIN_MAGNITUDE,
  QuantileSketch,
  SKETCH_EXACT_LIMIT,
  SKETCH_RELATIVE_ERROR,
  SketchError,
  type SketchJson,
} from "./sketch.js";
