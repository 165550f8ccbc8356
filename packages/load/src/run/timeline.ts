import { percentiles } from "@livekit-swarm/stats";
import type { Kind } from "./messages.js";

/** What the samples of one time bucket added up to, over every participant. */
export interface TimelineBucket {
  readonly t: number;
  lost: Record<Kind, number>;
  expected: Record<Kind, number>;
  bytesIn: number;
  /** Undefined until a track reports its RTP header bytes. */
  wireBytesIn: number | undefined;
  bytesOut: number;
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
  /** Participants that began a reconnect in the bucket (absent from older summaries). */
  readonly reconnecting?: number;
}

export function emptyBucket(t: number): TimelineBucket {
  return {
    t,
    lost: { audio: 0, video: 0 },
    expected: { audio: 0, video: 0 },
    bytesIn: 0,
    wireBytesIn: undefined,
    bytesOut: 0,
    jitter: [],
    latency: [],
    participants: new Set(),
  };
}

/** The buckets in time order, as rates over `bucketMs`. */
export function timelinePoints(buckets: Iterable<TimelineBucket>, bucketMs: number): TimelinePoint[] {
  return [...buckets]
    .sort((a, b) => a.t - b.t)
    .map((b) => ({
      t: b.t,
      participants: b.participants.size,
      lossAudio: b.expected.audio > 0 ? b.lost.audio / b.expected.audio : undefined,
      lossVideo: b.expected.video > 0 ? b.lost.video / b.expected.video : undefined,
      jitterP95S: percentiles(b.jitter, [95], "windows")[0]?.value,
      bitrateInBps: (b.bytesIn * 8 * 1000) / bucketMs,
      wireBitrateInBps: b.wireBytesIn !== undefined ? (b.wireBytesIn * 8 * 1000) / bucketMs : undefined,
      bitrateOutBps: (b.bytesOut * 8 * 1000) / bucketMs,
      latencyP50S: percentiles(b.latency, [50], "windows")[0]?.value,
    }));
}
