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
export function bucketRate(bucket: TimelineBucket, field: "bytesIn" | "wireBytesIn" | "bytesOut"): number | undefined {
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
