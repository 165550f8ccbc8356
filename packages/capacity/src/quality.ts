/** The quality a step must meet: gate thresholds, with short names for the usual four. */
import { ThresholdError, parseThreshold, type Threshold } from "@livekit-swarm/gate";
import type { SwarmMetricName } from "@livekit-swarm/schema";

/** `loss p95 < 1%` reads as `lkswarm_inbound_loss_ratio p95 < 1%`; any catalog name works as in the gate. */
export const QUALITY_ALIASES: Readonly<Record<string, string>> = {
  loss: "lkswarm_inbound_loss_ratio",
  jitter: "lkswarm_inbound_jitter_seconds",
  join: "lkswarm_join_duration_seconds",
  reconnects: "lkswarm_reconnects_total",
} satisfies Record<string, SwarmMetricName>;

/** The guide's "good call" quality when --quality is not given. */
export const DEFAULT_QUALITY = "loss p95 < 1%; join p99 < 2s; jitter p95 < 30ms; reconnects count <= 0";

/**
 * Metrics observed while participants join: a warm-up would leave them all out, so they are
 * judged over the whole step.
 */
const JOIN_TIME_METRICS = new Set([
  "lkswarm_join_duration_seconds",
  "lkswarm_join_failures_total",
  "lkswarm_time_to_first_packet_seconds",
  "lkswarm_time_to_first_frame_seconds",
]);

/** Pure: `--quality` texts (each may hold several thresholds separated by `;`) as threshold texts. */
export function qualityTexts(texts: readonly string[]): string[] {
  return texts
    .flatMap((t) => t.split(";"))
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map((t) => {
      const match = /^([a-z]+)(?=[\s{])/.exec(t);
      const alias = match?.[1] !== undefined ? QUALITY_ALIASES[match[1]] : undefined;
      return alias !== undefined && match !== null ? alias + t.slice(match[0].length) : t;
    });
}

/**
 * Pure: the thresholds of a step. Those without their own `warmup=` leave out the step's first
 * `warmupMs` (the ramp and the settling after it), except join-time metrics, which happen then.
 */
export function qualityThresholds(texts: readonly string[], warmupMs: number): Threshold[] {
  const thresholds = qualityTexts(texts);
  // nothing to judge by judges every step good: a search that finds nothing while saying it did
  if (thresholds.length === 0)
    throw new ThresholdError(
      texts.join("; "),
      `holds no threshold; give at least one, e.g. "${DEFAULT_QUALITY.split(";")[0] ?? ""}"`,
    );
  return thresholds.map((text) => {
    const t = parseThreshold(text);
    return t.warmupMs === undefined && !JOIN_TIME_METRICS.has(t.metric) ? { ...t, warmupMs } : t;
  });
}
