import type {
  BitsPerSecond,
  CandidatePairSample,
  InboundStreamSample,
  MediaKind,
  Milliseconds,
  OutboundStreamSample,
  QualityLimitationReason,
  Ratio,
  RemoteInboundSample,
  Seconds,
  Snapshot,
} from "./snapshot.js";

/**
 * What one inbound stream did between two snapshots. Counts are differences of cumulative counters;
 * a field is undefined when either end lacks it, or a rate when the window has no usable length.
 */
export interface InboundWindow {
  readonly key: string;
  readonly ssrc: number;
  readonly kind: MediaKind;
  readonly mid?: string;
  readonly trackIdentifier?: string;
  /** The stream was not in the previous snapshot: counts run from zero. */
  readonly firstSeen: boolean;
  /** A counter went down: the stream restarted inside the window and counts run from zero. */
  readonly reset: boolean;
  readonly durationMs: Milliseconds | undefined;
  /** Originals and retransmissions, as reported. */
  readonly packetsReceived: number;
  /** Received on the RTX stream; 0 when the stream has no RTX (audio) or does not say. */
  readonly packetsRetransmitted: number;
  /** Clamped at 0: duplicates cannot make a window's loss negative. */
  readonly packetsLost: number;
  /** The signed difference, for exact reconciliation with cumulative counters. */
  readonly packetsLostRaw: number;
  /** Original packets the sender's sequence numbers promised: received originals + lost. */
  readonly packetsExpected: number;
  /** Original packets lost over original packets expected (docs/observability.md 1.1). */
  readonly lossRatio: Ratio | undefined;
  /** RTP payload bytes, retransmissions included. */
  readonly bytesReceived: number;
  /** Payload bitrate. */
  readonly bitrate: BitsPerSecond | undefined;
  /** RTP header and padding bytes; undefined when either end lacks the counter. */
  readonly headerBytesReceived: number | undefined;
  /** (payload + header bytes) over the window: RTP on the wire, without IP, UDP and SRTP overhead. */
  readonly wireBitrate: BitsPerSecond | undefined;
  /** Instantaneous value at the end of the window, as reported. */
  readonly jitter: Seconds | undefined;
  readonly nackCount: number | undefined;
  readonly pliCount: number | undefined;
  readonly firCount: number | undefined;
  readonly framesDecoded: number | undefined;
  readonly framesPerSecond: number | undefined;
  readonly framesDropped: number | undefined;
  /** Size of the last decoded frame, as reported at the end of the window. */
  readonly frameWidth: number | undefined;
  readonly frameHeight: number | undefined;
  readonly freezeCount: number | undefined;
  readonly totalFreezesDuration: Seconds | undefined;
  /** Frozen time over window time. */
  readonly freezeRatio: Ratio | undefined;
  readonly concealedSamples: number | undefined;
  readonly totalSamplesReceived: number | undefined;
  readonly concealmentRatio: Ratio | undefined;
  /** Mean time a sample or frame spent in the jitter buffer during the window. */
  readonly jitterBufferDelay: Seconds | undefined;
}

export interface OutboundWindow {
  readonly key: string;
  readonly ssrc: number;
  readonly kind: MediaKind;
  readonly mid?: string;
  readonly rid?: string;
  readonly firstSeen: boolean;
  readonly reset: boolean;
  readonly durationMs: Milliseconds | undefined;
  readonly packetsSent: number;
  readonly bytesSent: number;
  readonly bitrate: BitsPerSecond | undefined;
  readonly nackCount: number | undefined;
  readonly pliCount: number | undefined;
  readonly firCount: number | undefined;
  readonly framesEncoded: number | undefined;
  readonly framesPerSecond: number | undefined;
  readonly qualityLimitationReason: QualityLimitationReason | undefined;
}

export interface RemoteInboundWindow {
  readonly key: string;
  readonly ssrc: number;
  readonly kind: MediaKind;
  readonly firstSeen: boolean;
  readonly packetsLost: number;
  readonly packetsLostRaw: number;
  /** The mean of the RTCP round trips measured in the window (libwebrtc floors each at 1 ms). */
  readonly roundTripTime: Seconds | undefined;
  readonly fractionLost: Ratio | undefined;
}

/** The selected pair of one transport at the end of a window, with the mean of its connectivity checks' round trips in the window. */
export interface CandidatePairWindow extends CandidatePairSample {
  readonly roundTripTime: Seconds | undefined;
}

/** One participant's stats between two of its snapshots. */
export interface WindowDelta {
  readonly startMs: Milliseconds;
  readonly endMs: Milliseconds;
  readonly durationMs: Milliseconds;
  readonly inbound: readonly InboundWindow[];
  readonly outbound: readonly OutboundWindow[];
  readonly remoteInbound: readonly RemoteInboundWindow[];
  /** As of the end of the window. */
  readonly candidatePairs: readonly CandidatePairWindow[];
  /**
   * Keys present in the previous snapshot and gone now. What they did between the previous snapshot
   * and their end is unobservable, so they contribute nothing to this window.
   */
  readonly ended: {
    readonly inbound: readonly string[];
    readonly outbound: readonly string[];
    readonly remoteInbound: readonly string[];
  };
}

type InboundCounter =
  | "packetsReceived"
  | "retransmittedPacketsReceived"
  | "bytesReceived"
  | "headerBytesReceived"
  | "nackCount"
  | "pliCount"
  | "firCount"
  | "framesDecoded"
  | "framesDropped"
  | "freezeCount"
  | "totalFreezesDuration"
  | "concealedSamples"
  | "totalSamplesReceived"
  | "jitterBufferDelay"
  | "jitterBufferEmittedCount";

// packetsLost is left out on purpose: it legitimately decreases, so it cannot signal a restart.
const INBOUND_MONOTONIC: readonly InboundCounter[] = [
  "packetsReceived",
  "retransmittedPacketsReceived",
  "bytesReceived",
  "headerBytesReceived",
  "nackCount",
  "pliCount",
  "firCount",
  "framesDecoded",
  "framesDropped",
  "freezeCount",
  "totalFreezesDuration",
  "concealedSamples",
  "totalSamplesReceived",
  "jitterBufferDelay",
  "jitterBufferEmittedCount",
];

type OutboundCounter = "packetsSent" | "bytesSent" | "nackCount" | "pliCount" | "firCount" | "framesEncoded";

const OUTBOUND_MONOTONIC: readonly OutboundCounter[] = [
  "packetsSent",
  "bytesSent",
  "nackCount",
  "pliCount",
  "firCount",
  "framesEncoded",
];

/**
 * Per-window deltas between two snapshots of the same participant.
 *
 * - A stream absent from `prev` counts from zero: W3C counters start at zero when the stream's stats
 *   object is created, and it was created inside this window, so the counts are exact and rates over
 *   the window are true window averages. For a participant's very first snapshot pass
 *   `emptySnapshot(joinedAtMs)` as `prev`, or keep it as a baseline and start with the next one.
 * - If any monotonic counter of a stream went down, the whole stream restarted: every counter is
 *   taken from zero (mixing old and new bases would give garbage) and the window says `reset`. The
 *   old incarnation's last moments are unobservable, so a reset window's counts and rates are lower
 *   bounds; population statistics may drop such windows by the flag.
 * - A negative `packetsLost` difference is clamped to 0 for the window only; the next window diffs
 *   the raw cumulative values, so one window's duplicates never hide later loss.
 */
export function computeWindowDelta(prev: Snapshot, cur: Snapshot): WindowDelta {
  const durationMs = cur.timestampMs - prev.timestampMs;
  const prevInbound = byKey(prev.inbound);
  const prevOutbound = byKey(prev.outbound);
  const prevRemote = byKey(prev.remoteInbound);
  const curInbound = byKey(cur.inbound);
  const curOutbound = byKey(cur.outbound);
  const curRemote = byKey(cur.remoteInbound);
  const prevPairs = new Map(prev.candidatePairs.map((c) => [c.id, c]));

  return {
    startMs: prev.timestampMs,
    endMs: cur.timestampMs,
    durationMs,
    inbound: [...curInbound.values()].map((c) => inboundWindow(prevInbound.get(c.key), c, durationMs)),
    outbound: [...curOutbound.values()].map((c) => outboundWindow(prevOutbound.get(c.key), c, durationMs)),
    remoteInbound: [...curRemote.values()].map((c) => remoteInboundWindow(prevRemote.get(c.key), c)),
    candidatePairs: cur.candidatePairs.map((c) => {
      const p = prevPairs.get(c.id);
      const rtt = windowMeanRoundTrip(
        p?.totalRoundTripTime,
        p?.responsesReceived,
        c.totalRoundTripTime,
        c.responsesReceived,
      );
      return { ...c, roundTripTime: rtt === NO_TOTALS ? c.currentRoundTripTime : rtt };
    }),
    ended: {
      inbound: missingFrom(prevInbound, curInbound),
      outbound: missingFrom(prevOutbound, curOutbound),
      remoteInbound: missingFrom(prevRemote, curRemote),
    },
  };
}

function inboundWindow(
  prev: InboundStreamSample | undefined,
  cur: InboundStreamSample,
  snapshotDurationMs: Milliseconds,
): InboundWindow {
  const reset = prev !== undefined && INBOUND_MONOTONIC.some((f) => decreased(prev[f], cur[f]));
  const base = prev === undefined || reset ? undefined : prev;
  const delta = (f: InboundCounter): number | undefined =>
    counterDelta(base?.[f], cur[f], base === undefined);
  const durationMs = streamDurationMs(prev, cur, snapshotDurationMs);

  const packetsReceived = delta("packetsReceived") ?? 0;
  const packetsLostRaw = cur.packetsLost - (base?.packetsLost ?? 0);
  const packetsLost = Math.max(0, packetsLostRaw);
  const packetsRetransmitted = delta("retransmittedPacketsReceived") ?? 0;
  // libwebrtc counts RTX packets in packetsReceived but computes packetsLost on the media stream's
  // sequence numbers, where a repaired packet stays lost: received + lost would count a repaired
  // packet twice in the denominator and read low under loss (docs/observability.md 1.1)
  const packetsExpected = Math.max(0, packetsReceived - packetsRetransmitted) + packetsLost;
  const bytesReceived = delta("bytesReceived") ?? 0;
  const headerBytesReceived = delta("headerBytesReceived");
  const framesDecoded = delta("framesDecoded");
  const totalFreezesDuration = delta("totalFreezesDuration");
  const concealedSamples = delta("concealedSamples");
  const totalSamplesReceived = delta("totalSamplesReceived");

  return {
    key: cur.key,
    ssrc: cur.ssrc,
    kind: cur.kind,
    mid: cur.mid,
    trackIdentifier: cur.trackIdentifier,
    firstSeen: prev === undefined,
    reset,
    durationMs,
    packetsReceived,
    packetsRetransmitted,
    packetsLost,
    packetsLostRaw,
    packetsExpected,
    lossRatio: ratio(packetsLost, packetsExpected),
    bytesReceived,
    bitrate: perSecond(bytesReceived * 8, durationMs),
    headerBytesReceived,
    wireBitrate:
      headerBytesReceived === undefined
        ? undefined
        : perSecond((bytesReceived + headerBytesReceived) * 8, durationMs),
    jitter: cur.jitter,
    nackCount: delta("nackCount"),
    pliCount: delta("pliCount"),
    firCount: delta("firCount"),
    framesDecoded,
    framesPerSecond: perSecond(framesDecoded, durationMs),
    framesDropped: delta("framesDropped"),
    frameWidth: cur.frameWidth,
    frameHeight: cur.frameHeight,
    freezeCount: delta("freezeCount"),
    totalFreezesDuration,
    freezeRatio: durationMs === undefined ? undefined : ratio(totalFreezesDuration, durationMs / 1000),
    concealedSamples,
    totalSamplesReceived,
    concealmentRatio: ratio(concealedSamples, totalSamplesReceived),
    jitterBufferDelay: ratio(delta("jitterBufferDelay"), delta("jitterBufferEmittedCount")),
  };
}

function outboundWindow(
  prev: OutboundStreamSample | undefined,
  cur: OutboundStreamSample,
  snapshotDurationMs: Milliseconds,
): OutboundWindow {
  const reset = prev !== undefined && OUTBOUND_MONOTONIC.some((f) => decreased(prev[f], cur[f]));
  const base = prev === undefined || reset ? undefined : prev;
  const delta = (f: OutboundCounter): number | undefined =>
    counterDelta(base?.[f], cur[f], base === undefined);
  const durationMs = streamDurationMs(prev, cur, snapshotDurationMs);
  const bytesSent = delta("bytesSent") ?? 0;
  const framesEncoded = delta("framesEncoded");

  return {
    key: cur.key,
    ssrc: cur.ssrc,
    kind: cur.kind,
    mid: cur.mid,
    rid: cur.rid,
    firstSeen: prev === undefined,
    reset,
    durationMs,
    packetsSent: delta("packetsSent") ?? 0,
    bytesSent,
    bitrate: perSecond(bytesSent * 8, durationMs),
    nackCount: delta("nackCount"),
    pliCount: delta("pliCount"),
    firCount: delta("firCount"),
    framesEncoded,
    framesPerSecond: perSecond(framesEncoded, durationMs),
    qualityLimitationReason: cur.qualityLimitationReason,
  };
}

function remoteInboundWindow(
  prev: RemoteInboundSample | undefined,
  cur: RemoteInboundSample,
): RemoteInboundWindow {
  // RR loss is signed and has no monotonic companion counter, so a restart cannot be told apart from
  // duplicates; clamping keeps either case from producing negative loss.
  const packetsLostRaw = cur.packetsLost - (prev?.packetsLost ?? 0);
  const rtt = windowMeanRoundTrip(
    prev?.totalRoundTripTime,
    prev?.roundTripTimeMeasurements,
    cur.totalRoundTripTime,
    cur.roundTripTimeMeasurements,
  );
  return {
    key: cur.key,
    ssrc: cur.ssrc,
    kind: cur.kind,
    firstSeen: prev === undefined,
    packetsLost: Math.max(0, packetsLostRaw),
    packetsLostRaw,
    roundTripTime: rtt === NO_TOTALS ? cur.roundTripTime : rtt,
    fractionLost: cur.fractionLost,
  };
}

const NO_TOTALS = Symbol("no totals");

/**
 * The mean of the round trips measured inside a window, from a cumulative total and its count: a
 * stats object's "current" round trip is its last, and it stays there through windows that measured
 * none (a stale figure counted again) and is one reading where the window may hold several. Undefined
 * when the window measured none; a count or total that went down is a restarted object, counted from
 * zero as a new one is. NO_TOTALS when the stats carry no totals (a recording from before they were
 * kept): the caller falls back to the latest reading.
 */
function windowMeanRoundTrip(
  prevTotal: Seconds | undefined,
  prevCount: number | undefined,
  curTotal: Seconds | undefined,
  curCount: number | undefined,
): Seconds | undefined | typeof NO_TOTALS {
  if (curTotal === undefined || curCount === undefined) return NO_TOTALS;
  const fresh =
    prevTotal === undefined || prevCount === undefined || curCount < prevCount || curTotal < prevTotal;
  const count = fresh ? curCount : curCount - prevCount;
  const total = fresh ? curTotal : curTotal - prevTotal;
  return count > 0 && total >= 0 ? total / count : undefined;
}

/**
 * Prefers the stream's own stats timestamps: libwebrtc stamps them when it collects, so they are free
 * of the event-loop delay between collection and the sampler reading its clock. The snapshot clock is
 * the fallback when a side has none (a new stream has no previous timestamp). Equal or backwards
 * stream timestamps (libwebrtc serves a cached report within 50 ms) give no usable length.
 */
function streamDurationMs(
  prev: { readonly timestampMs?: Milliseconds } | undefined,
  cur: { readonly timestampMs?: Milliseconds },
  snapshotDurationMs: Milliseconds,
): Milliseconds | undefined {
  const duration =
    prev?.timestampMs !== undefined && cur.timestampMs !== undefined
      ? cur.timestampMs - prev.timestampMs
      : snapshotDurationMs;
  return duration > 0 ? duration : undefined;
}

function counterDelta(
  prev: number | undefined,
  cur: number | undefined,
  fromZero: boolean,
): number | undefined {
  if (cur === undefined) return undefined;
  if (fromZero) return cur;
  return prev === undefined ? undefined : cur - prev;
}

function decreased(prev: number | undefined, cur: number | undefined): boolean {
  return prev !== undefined && cur !== undefined && cur < prev;
}

function ratio(numerator: number | undefined, denominator: number | undefined): number | undefined {
  return numerator === undefined || denominator === undefined || denominator <= 0
    ? undefined
    : numerator / denominator;
}

function perSecond(count: number | undefined, durationMs: Milliseconds | undefined): number | undefined {
  return count === undefined || durationMs === undefined ? undefined : count / (durationMs / 1000);
}

/** First sample wins on a duplicate key, matching the adapter. */
function byKey<T extends { readonly key: string }>(samples: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const s of samples) if (!map.has(s.key)) map.set(s.key, s);
  return map;
}

function missingFrom(prev: ReadonlyMap<string, unknown>, cur: ReadonlyMap<string, unknown>): string[] {
  return [...prev.keys()].filter((k) => !cur.has(k));
}
