import {
  labelMatcher,
  metricByName,
  type MetricDefinition,
  type Population,
  type SwarmMetricName,
} from "@livekit-swarm/schema";
import { queryInstant } from "./prometheus.js";
import { ThresholdError, type Threshold } from "./threshold.js";
import { judge, type Verdict } from "./verdict.js";

/**
 * What each swarm histogram holds one observation of (see packages/exporter): a percentile over
 * Prometheus can only be over that population.
 */
const HISTOGRAM_POPULATION: Readonly<Record<string, string>> = {
  lkswarm_join_duration_seconds: "participants",
  lkswarm_reconnect_duration_seconds: "participants",
  lkswarm_time_to_first_packet_seconds: "tracks",
  lkswarm_time_to_first_frame_seconds: "tracks",
  lkswarm_inbound_loss_ratio: "windows",
  lkswarm_inbound_jitter_seconds: "windows",
  lkswarm_round_trip_time_seconds: "windows",
  lkswarm_end_to_end_latency_seconds: "windows",
} satisfies Partial<Record<SwarmMetricName, Population>>;

export interface PromQuery {
  /** The value the threshold compares. */
  readonly value: string;
  /** How many observations it rests on (for min_samples); undefined when not meaningful. */
  readonly n: string | undefined;
}

export interface RunWindow {
  /** Selects one run's series (swarm metrics carry run_id); undefined: every run in the window. */
  readonly runId: string | undefined;
  readonly startMs: number;
  readonly endMs: number;
}

function selector(t: Threshold, metric: MetricDefinition, runId: string | undefined): string {
  const labels = Object.entries(t.where).map(([k, v]) => labelMatcher(k, v));
  if (metric.source === "swarm" && runId !== undefined) labels.push(labelMatcher("run_id", runId));
  return `{${labels.join(",")}}`;
}

/**
 * The PromQL for a threshold over a run's time range. Swarm counters and histograms start at zero
 * with the run, so their final value is max_over_time (exact counts, also across sharded workers);
 * LiveKit's run longer than the swarm, so theirs is increase() over the range.
 */
export function toPromQL(t: Threshold, rangeSeconds: number, runId: string | undefined): PromQuery {
  const metric = metricByName(t.metric);
  if (metric === undefined) throw new ThresholdError(t.text, `unknown metric ${t.metric}`);
  if (t.warmupMs !== undefined && t.warmupMs > 0) {
    throw new ThresholdError(
      t.text,
      "warmup is evaluated in-process only: over Prometheus, start the range after the warm-up instead",
    );
  }
  const sel = selector(t, metric, runId);
  const r = `${Math.max(1, Math.ceil(rangeSeconds))}s`;
  const final = (name: string): string =>
    metric.source === "swarm"
      ? `sum(max_over_time(${name}${sel}[${r}]))`
      : `sum(increase(${name}${sel}[${r}]))`;

  if (metric.type === "counter") {
    // a counter nobody incremented may have no series at all: that is a count of 0, not missing data
    const total = `(${final(t.metric)} or vector(0))`;
    if (t.aggregation === "count") return { value: total, n: undefined };
    if (t.aggregation === "rate")
      return { value: `${total} / ${Math.max(1, Math.ceil(rangeSeconds))}`, n: undefined };
  }
  if (metric.type === "gauge") {
    const series = `sum(${t.metric}${sel})`;
    const pm = /^p(.+)$/.exec(t.aggregation);
    if (pm !== null)
      return { value: `quantile_over_time(${Number(pm[1]) / 100}, ${series}[${r}:])`, n: undefined };
    if (t.aggregation === "max" || t.aggregation === "min" || t.aggregation === "avg") {
      return { value: `${t.aggregation}_over_time(${series}[${r}:])`, n: undefined };
    }
    throw new ThresholdError(
      t.text,
      `${t.aggregation} of a gauge: use max, min, avg or a percentile over time`,
    );
  }
  // histograms
  const pop = HISTOGRAM_POPULATION[t.metric];
  if (t.aggregation === "count")
    return { value: `(${final(`${t.metric}_count`)} or vector(0))`, n: undefined };
  if (t.aggregation === "max" || t.aggregation === "min") {
    throw new ThresholdError(
      t.text,
      `${t.aggregation} cannot be read back from a Prometheus histogram's buckets: use p99, or evaluate in-process`,
    );
  }
  if (t.metric === "lkswarm_inbound_loss_ratio" && t.population === "participants") {
    // each participant's own ratio of sums needs its counters by participant: --per-participant-labels
    const by = (name: string): string => `sum by (room, participant) (max_over_time(${name}${sel}[${r}]))`;
    const ratio = `(${by("lkswarm_inbound_packets_lost_total")} / ${by("lkswarm_inbound_packets_expected_total")})`;
    const pm = /^p(.+)$/.exec(t.aggregation);
    const value = pm !== null ? `quantile(${Number(pm[1]) / 100}, ${ratio})` : `avg(${ratio})`;
    return { value, n: `count(${ratio})` };
  }
  if (metric.source === "swarm" && pop !== undefined && t.population !== undefined && t.population !== pop) {
    throw new ThresholdError(
      t.text,
      `Prometheus holds ${t.metric} as one observation per ${pop === "participants" ? "participant" : pop === "tracks" ? "track" : "track-window"}: write "over ${pop}", or evaluate in-process`,
    );
  }
  const n = final(`${t.metric}_count`);
  if (t.aggregation === "avg") return { value: `${final(`${t.metric}_sum`)} / ${n}`, n };
  const pm = /^p(.+)$/.exec(t.aggregation);
  if (pm !== null) {
    const buckets =
      metric.source === "swarm"
        ? `sum by (le) (max_over_time(${t.metric}_bucket${sel}[${r}]))`
        : `sum by (le) (increase(${t.metric}_bucket${sel}[${r}]))`;
    return { value: `histogram_quantile(${Number(pm[1]) / 100}, ${buckets})`, n };
  }
  throw new ThresholdError(t.text, `${t.aggregation} is not available over Prometheus`);
}

/** Evaluates thresholds through PromQL at the end of the run's window: the same verdict shape as in-process. */
export async function evaluateThroughPrometheus(
  thresholds: readonly Threshold[],
  prometheusUrl: string,
  window: RunWindow,
): Promise<Verdict & { readonly queries: readonly PromQuery[] }> {
  const rangeSeconds = (window.endMs - window.startMs) / 1000;
  const queries = thresholds.map((t) => toPromQL(t, rangeSeconds, window.runId));
  const results = [];
  for (const [i, t] of thresholds.entries()) {
    const q = queries[i];
    if (q === undefined) continue;
    const value = await queryInstant(prometheusUrl, q.value, { atMs: window.endMs, timeoutMs: 15_000 });
    const n =
      q.n !== undefined
        ? ((await queryInstant(prometheusUrl, q.n, { atMs: window.endMs, timeoutMs: 15_000 })) ?? 0)
        : value === undefined
          ? 0
          : 1;
    results.push(judge(t, { value, n: t.aggregation === "count" ? Math.max(n, 1) : n }));
  }
  return { passed: results.every((r) => r.status === "pass" || r.status === "warn"), results, queries };
}
