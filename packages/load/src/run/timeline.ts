import { percentiles } from "@livekit-swarm/stats";
import type { Kind } from "./messages.js";

/** One participant's bytes in a bucket, over the summed length of its own windows there. */
export interface BucketShare {
  bytesIn: number;
  /** Undefined until a track reports its RTP header bytes. */
  wireBytesIn: number | undefined;
  bytesOut: number;
  durationMs: number;
}

/** What the samples of one time bucket added up to, over every participant. */
export interface TimelineBucket {
  readonly t: number;
  lost: Record<Kind, number>;
  expected: Record<Kind, number>;
  /** Per participant: a rate is each one's bytes over its own windows, summed over participants. */
  shares: Map<string, BucketShare>;
  jitter: number[];
  latency: number[];
  participants: Set<string>;
}

export interface TimelinePoint {
  readonly t: number;
  readonly participants: number;
  readonly lossAudio: number | undefined;
  readonly lossVideo: number | undefined;
  readonly jitterP95S: number | undefined;
  readonly bitrateInBps: number;
  /** Summed over the bucket's participants, on the wire (docs/observability.md 4.2). */
  readonly wireBitrateInBps: number | undefined;
  readonly bitrateOutBps: number;
  readonly latencyP50S: number | undefined;
  /** The p95 the latency thresholds judge, beside the p50 (absent from older summaries). */
  readonly latencyP95S?: number | undefined;
  /** Participants that began a reconnect in the bucket (absent from older summaries). */
  readonly reconnecting?: number;
}

export function emptyBucket(t: number): TimelineBucket {
  return {
    t,
    lost: { audio: 0, video: 0 },
    expected: { audio: 0, video: 0 },
    shares: new Map(),
    jitter: [],
    latency: [],
    participants: new Set(),
  };
}

/** Adds one window's bytes and length to a participant's share of a bucket. */
export function addShare(
  bucket: TimelineBucket,
  participant: string,
  window: { bytesIn: number; wireBytesIn: number | undefined; bytesOut: number; durationMs: number },
): void {
  const share = bucket.shares.get(participant);
  if (share === undefined) {
    bucket.shares.set(participant, { ...window });
    return;
  }
  share.bytesIn += window.bytesIn;
  if (window.wireBytesIn !== undefined) share.wireBytesIn = (share.wireBytesIn ?? 0) + window.wireBytesIn;
  share.bytesOut += window.bytesOut;
  share.durationMs += window.durationMs;
}

/**
 * A bucket's rate in bits/s: each participant's bytes over the length of its own windows there,
 * summed. Not the bucket's bytes over the bucket's length: a bucket holds the windows that ended
 * in it, and when a sampling round slips or a participant joins, leaves or reconnects those do not
 * cover the bucket (one bucket of a run under an 800 kbit/s cap read 524 kbit/s, its neighbours
 * 737-746).
 */
export function bucketRate(
  bucket: TimelineBucket,
  field: "bytesIn" | "wireBytesIn" | "bytesOut",
): number | undefined {
  let rate: number | undefined;
  for (const share of bucket.shares.values()) {
    const bytes = share[field];
    if (bytes === undefined || share.durationMs <= 0) continue;
    rate = (rate ?? 0) + (bytes * 8 * 1000) / share.durationMs;
  }
  return rate;
}

/** The buckets in time order, as rates. */
export function timelinePoints(buckets: Iterable<TimelineBucket>): TimelinePoint[] {
  return [...buckets]
    .sort((a, b) => a.t - b.t)
    .map((b) => ({
      t: b.t,
      participants: b.participants.size,
      lossAudio: b.expected.audio > 0 ? b.lost.audio / b.expected.audio : undefined,
      lossVideo: b.expected.video > 0 ? b.lost.video / b.expected.video : undefined,
      jitterP95S: percentiles(b.jitter, [95], "windows")[0]?.value,
      bitrateInBps: bucketRate(b, "bytesIn") ?? 0,
      wireBitrateInBps: bucketRate(b, "wireBytesIn"),
      bitrateOutBps: bucketRate(b, "bytesOut") ?? 0,
      latencyP50S: percentiles(b.latency, [50], "windows")[0]?.value,
      latencyP95S: percentiles(b.latency, [95], "windows")[0]?.value,
    }));
}

/**
 * The most points a run's timeline holds. Past it, neighbouring points merge into one twice as
 * long (`coarsen`), so summary.json and report.html stay the same size however long the run: a
 * week at 1 s stats windows ends as 1,182 points of 512 s, not 604,800 (a merged timeline holds
 * 1,000 to 2,000 points).
 */
export const MOST_TIMELINE_POINTS = 2000;

/** A point with what merging it with its neighbours needs: loss's sums, and how many buckets it spans. */
export interface SpanPoint {
  readonly point: TimelinePoint;
  readonly lost: Readonly<Record<Kind, number>>;
  readonly expected: Readonly<Record<Kind, number>>;
  /** Stats buckets with windows that it merges (1 for a bucket's own point). */
  readonly buckets: number;
}

/** The buckets in time order, as points that can merge. */
export function spanPoints(buckets: Iterable<TimelineBucket>): SpanPoint[] {
  const sorted = [...buckets].sort((a, b) => a.t - b.t);
  const points = timelinePoints(sorted);
  return sorted.map((b, i) => ({
    point: points[i] as TimelinePoint,
    lost: { ...b.lost },
    expected: { ...b.expected },
    buckets: 1,
  }));
}

/**
 * The points (in time order) merged onto a grid of `stepMs`: one point per step that had windows,
 * at the step's start. Loss is the ratio of the summed lost and expected packets, exact; the
 * bitrates are the mean of the merged buckets' rates (each weighted by the buckets it spans); the
 * participants, jitter p95 and latency percentiles are the worst of the merged buckets', so a spike
 * one bucket long stays visible, as a worst, not averaged away.
 */
export function coarsen(points: readonly SpanPoint[], stepMs: number): SpanPoint[] {
  const out: SpanPoint[] = [];
  let group: SpanPoint[] = [];
  const flush = (): void => {
    if (group.length > 0) out.push(mergeSpan(group, stepMs));
    group = [];
  };
  for (const p of points) {
    const first = group[0];
    if (first !== undefined && Math.floor(first.point.t / stepMs) !== Math.floor(p.point.t / stepMs)) flush();
    group.push(p);
  }
  flush();
  return out;
}

function mergeSpan(group: readonly SpanPoint[], stepMs: number): SpanPoint {
  const only = group[0] as SpanPoint;
  const t = Math.floor(only.point.t / stepMs) * stepMs;
  if (group.length === 1) return only.point.t === t ? only : { ...only, point: { ...only.point, t } };
  const lost = { audio: 0, video: 0 };
  const expected = { audio: 0, video: 0 };
  let buckets = 0;
  for (const g of group) {
    for (const k of ["audio", "video"] as const) {
      lost[k] += g.lost[k];
      expected[k] += g.expected[k];
    }
    buckets += g.buckets;
  }
  const worst = (f: (p: TimelinePoint) => number | undefined): number | undefined => {
    let w: number | undefined;
    for (const g of group) {
      const v = f(g.point);
      if (v !== undefined && (w === undefined || v > w)) w = v;
    }
    return w;
  };
  const mean = (f: (p: TimelinePoint) => number | undefined): number | undefined => {
    let sum = 0;
    let weight = 0;
    for (const g of group) {
      const v = f(g.point);
      if (v === undefined) continue;
      sum += v * g.buckets;
      weight += g.buckets;
    }
    return weight > 0 ? sum / weight : undefined;
  };
  return {
    point: {
      t,
      participants: worst((p) => p.participants) ?? 0,
      lossAudio: expected.audio > 0 ? lost.audio / expected.audio : undefined,
      lossVideo: expected.video > 0 ? lost.video / expected.video : undefined,
      jitterP95S: worst((p) => p.jitterP95S),
      bitrateInBps: mean((p) => p.bitrateInBps) ?? 0,
      wireBitrateInBps: mean((p) => p.wireBitrateInBps),
      bitrateOutBps: mean((p) => p.bitrateOutBps) ?? 0,
      latencyP50S: worst((p) => p.latencyP50S),
      latencyP95S: worst((p) => p.latencyP95S),
    },
    lost,
    expected,
    buckets,
  };
}

/**
 * Appends `fresh` (in time order, after every point of `points`) to `points`, in place, merged onto
 * `stepMs`, then merges the whole onto doubled steps until at most `most` points remain; returns
 * the step the points now have. Only the last point can share a step with the fresh ones, so a
 * run's sealing merges its tail, not the whole timeline each bucket.
 */
export function extendTimeline(
  points: SpanPoint[],
  fresh: readonly SpanPoint[],
  stepMs: number,
  most = MOST_TIMELINE_POINTS,
): number {
  const last = points.pop();
  points.push(...coarsen(last === undefined ? fresh : [last, ...fresh], stepMs));
  let step = stepMs;
  while (points.length > most) {
    step *= 2;
    const merged = coarsen(points, step);
    points.length = 0;
    points.push(...merged);
  }
  return step;
}
