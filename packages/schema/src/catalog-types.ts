/** The metric catalog's shapes: metric types, labels, thresholds, and the builders its entries use. */
export type MetricType = "counter" | "gauge" | "histogram";
export type MetricSource = "swarm" | "livekit";

/** Grafana unit ids. For counters it is the unit of `rate()`, the way a counter is plotted. */
export type GrafanaUnit =
  "s" | "ms" | "µs" | "ns" | "percent" | "percentunit" | "bytes" | "Bps" | "pps" | "short" | "none";

export const grafanaUnits: readonly GrafanaUnit[] = [
  "s",
  "ms",
  "µs",
  "ns",
  "percent",
  "percentunit",
  "bytes",
  "Bps",
  "pps",
  "short",
  "none",
];

export type ThresholdOp = "<" | "<=" | ">" | ">=";
export type Aggregation = "p50" | "p95" | "p99" | "max" | "min" | "avg" | "rate" | "count";
/** What one observation stands for when a percentile is taken (docs/observability.md 2). */
export type Population = "participants" | "tracks" | "windows";

export const thresholdOps: readonly ThresholdOp[] = ["<", "<=", ">", ">="];
export const aggregations: readonly Aggregation[] = [
  "p50",
  "p95",
  "p99",
  "max",
  "min",
  "avg",
  "rate",
  "count",
];
export const populations: readonly Population[] = ["participants", "tracks", "windows"];

/**
 * A default gate on a metric: it passes while `aggregation(metric) op value`, evaluated over
 * `population`. `warn` and `fail` are two bounds of the same comparison; either may be absent.
 */
export interface MetricThreshold {
  readonly warn?: number;
  readonly fail?: number;
  readonly op: ThresholdOp;
  readonly aggregation: Aggregation;
  readonly population: Population;
}

export const swarmLabelNames = [
  "scenario",
  "run_id",
  "shard",
  "worker",
  "kind",
  "role",
  "state",
  "reason",
  "quality",
  "method",
  "transport",
] as const;
export type SwarmLabel = (typeof swarmLabelNames)[number];

/** Unbounded labels: a few thousand participants would make millions of series, so off by default. */
export const optInLabelNames = ["room", "participant"] as const;
export type OptInLabel = (typeof optInLabelNames)[number];

/** Constant labels livekit-server puts on every one of its metrics. */
export const livekitConstLabels = ["node_id", "node_type"] as const;

export const SWARM_METRIC_PREFIX = "lkswarm_";
export const LIVEKIT_METRIC_PREFIX = "livekit_";

interface MetricCommon {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** The unit word: a base unit (`seconds`, `ratio`, `bytes`) or what is counted (`packets`). */
  readonly unit: string;
  readonly grafanaUnit: GrafanaUnit;
  /** Histogram upper bounds, strictly increasing, with a boundary at every threshold value. */
  readonly buckets?: readonly number[];
  readonly thresholds?: readonly MetricThreshold[];
}

export interface SwarmMetric extends MetricCommon {
  readonly source: "swarm";
  readonly labels: readonly SwarmLabel[];
  readonly optInLabels: readonly OptInLabel[];
}

/**
 * Whether a livekit-server node exposes the metric once one participant has published audio and
 * video for about 15 s and a subscriber receives them. Labelled vectors have no series before
 * their first observation, so most names are absent from a fresh node.
 */
export type Presence = "always" | { readonly conditional: string };

export interface LivekitMetric extends MetricCommon {
  readonly source: "livekit";
  readonly labels: readonly string[];
  readonly presence: Presence;
}

export type MetricDefinition = SwarmMetric | LivekitMetric;

type SwarmInput<N extends string> = Omit<SwarmMetric, "source" | "optInLabels" | "name"> & {
  readonly name: N;
  readonly optInLabels?: readonly OptInLabel[];
};

export function swarm<const N extends string>(m: SwarmInput<N>): SwarmMetric & { readonly name: N } {
  return { ...m, optInLabels: m.optInLabels ?? ["room", "participant"], source: "swarm" };
}

export function livekit<const N extends string>(
  m: Omit<LivekitMetric, "source" | "name"> & { readonly name: N },
): LivekitMetric & { readonly name: N } {
  return { ...m, source: "livekit" };
}

/** Same bounds as Go's prometheus.ExponentialBucketsRange, which livekit-server uses. */
export function exponentialBucketsRange(min: number, max: number, count: number): number[] {
  const growth = Math.pow(max / min, 1 / (count - 1));
  return Array.from({ length: count }, (_, i) => min * Math.pow(growth, i));
}

/** `shard`: a sharded run's shard index (swarm --shard I/N), 0 when unsharded; N values at most. */
