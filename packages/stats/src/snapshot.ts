import type { CandidateType, IceProtocol, RelayProtocol, SelectedPair } from "@livekit-swarm/schema";
import {
  PAIR_SUCCEEDED,
  nonEmpty,
  positive,
  toKind,
  toNumber,
  toQualityLimitation,
  toSignedInt64,
  toTimestampMs,
} from "./values.js";

import type {
  BitsPerSecond,
  MediaKind,
  Milliseconds,
  QualityLimitationReason,
  Ratio,
  Seconds,
} from "./units.js";

export type * from "./units.js";

/**
 * One `inbound-rtp` stream (a subscriber's downlink) at one instant. Counter names follow W3C
 * webrtc-stats so their definitions can be looked up there; values are cumulative since the stream's
 * stats object was created.
 */
export interface InboundStreamSample {
  /** Identity across snapshots: kind + ssrc + mid + trackIdentifier. */
  readonly key: string;
  readonly ssrc: number;
  readonly kind: MediaKind;
  readonly mid?: string;
  readonly trackIdentifier?: string;
  /** When libwebrtc collected this stream's stats, if the source says. */
  readonly timestampMs?: Milliseconds;
  /**
   * Original packets plus retransmissions: libwebrtc adds the RTX stream's packets to the media
   * stream's count (docs/observability.md 1.1).
   */
  readonly packetsReceived: number;
  /**
   * Signed: RFC 3550 cumulative loss goes negative when duplicates outnumber losses. Counted on the
   * media stream's sequence numbers, where a packet repaired by RTX still counts as lost.
   */
  readonly packetsLost: number;
  /** Packets received on the RTX stream (a subset of packetsReceived); absent without RTX. */
  readonly retransmittedPacketsReceived?: number;
  /** RTP payload bytes, retransmissions included. */
  readonly bytesReceived: number;
  /** RTP header and padding bytes, retransmissions included: with bytesReceived, the wire volume. */
  readonly headerBytesReceived?: number;
  /** A smoothed estimate, not a counter. */
  readonly jitter?: Seconds;
  readonly nackCount?: number;
  readonly pliCount?: number;
  readonly firCount?: number;
  readonly framesDecoded?: number;
  readonly framesDropped?: number;
  /** Instantaneous values libwebrtc reports for the last decoded frames. */
  readonly framesPerSecond?: number;
  readonly frameWidth?: number;
  readonly frameHeight?: number;
  readonly freezeCount?: number;
  readonly totalFreezesDuration?: Seconds;
  readonly concealedSamples?: number;
  readonly totalSamplesReceived?: number;
  readonly jitterBufferDelay?: Seconds;
  readonly jitterBufferEmittedCount?: number;
}

/** One `outbound-rtp` stream (a publisher's uplink, one per simulcast layer). */
export interface OutboundStreamSample {
  /** Identity across snapshots: kind + ssrc + mid + rid. */
  readonly key: string;
  readonly ssrc: number;
  readonly kind: MediaKind;
  readonly mid?: string;
  readonly rid?: string;
  readonly timestampMs?: Milliseconds;
  readonly packetsSent: number;
  readonly bytesSent: number;
  /** NACK/PLI/FIR received from the SFU about this stream. */
  readonly nackCount?: number;
  readonly pliCount?: number;
  readonly firCount?: number;
  readonly framesEncoded?: number;
  readonly qualityLimitationReason?: QualityLimitationReason;
}

/** The SFU's view of one of our outbound streams, from RTCP receiver reports. */
export interface RemoteInboundSample {
  readonly key: string;
  readonly ssrc: number;
  readonly kind: MediaKind;
  readonly timestampMs?: Milliseconds;
  /** Signed, cumulative, as reported in RTCP RR. */
  readonly packetsLost: number;
  /** Absent until an RR with a usable DLSR has arrived. libwebrtc floors each at 1 ms (too good to be true, it says). */
  readonly roundTripTime?: Seconds;
  /** Cumulative, with the count below: a window's own mean is their two differences' ratio. */
  readonly totalRoundTripTime?: Seconds;
  readonly roundTripTimeMeasurements?: number;
  /** Over the last RR interval: already a rate, never diff it. */
  readonly fractionLost?: Ratio;
}

/** The selected ICE candidate pair of one transport. */
export interface CandidatePairSample {
  readonly id: string;
  /** The last connectivity check's, in whole milliseconds (0 is a real reading on a loopback). */
  readonly currentRoundTripTime?: Seconds;
  /** Cumulative over the checks answered, with their count: a window's own mean is the two differences' ratio. */
  readonly totalRoundTripTime?: Seconds;
  readonly responsesReceived?: number;
  readonly availableOutgoingBitrate?: BitsPerSecond;
}

/**
 * Everything the swarm keeps from one `getStats()` call of one participant. Plain JSON-safe data
 * (no bigint, no class instances) so it can cross the worker IPC and be written to samples.jsonl.
 */
export interface Snapshot {
  /** Wall clock of the sampler when the stats were taken. */
  readonly timestampMs: Milliseconds;
  readonly inbound: readonly InboundStreamSample[];
  readonly outbound: readonly OutboundStreamSample[];
  readonly remoteInbound: readonly RemoteInboundSample[];
  readonly candidatePairs: readonly CandidatePairSample[];
  /** The selected pair's candidate types and protocols; absent when no selected pair names both candidates. */
  readonly selectedPair?: SelectedPair;
}

/**
 * A snapshot with no streams. Used as the "previous" snapshot stamped at join time, it makes the first
 * window run from join to the first poll instead of being spent as a baseline.
 */
export function emptySnapshot(timestampMs: Milliseconds): Snapshot {
  return { timestampMs, inbound: [], outbound: [], remoteInbound: [], candidatePairs: [] };
}

// ---------------------------------------------------------------------------------------------------
// Adapter for @livekit/rtc-node `room.getRtcStats()`.
//
// The types below are a minimal structural mirror of rtc-ffi-bindings' `proto/stats_pb.d.ts` (0.12.73,
// shipped with rtc-node 1.1.0), declared locally so this module has no runtime or type dependency on
// the SDK. Every field is optional and every integer may be bigint or number, because protobuf-es
// gives bigint for 64-bit fields and number for 32-bit ones, and other engines hand us plain numbers.

type WireInt = bigint | number;

interface RtcDataShape {
  readonly id?: string;
  /** libwebrtc's RTCStats::ToJson writes `timestamp_.us()`: microseconds. */
  readonly timestamp?: WireInt;
}

interface RtpStreamShape {
  readonly ssrc?: number;
  readonly kind?: string;
}

interface ReceivedShape {
  readonly packetsReceived?: WireInt;
  readonly packetsLost?: WireInt;
  readonly jitter?: number;
}

interface InboundRtpShape {
  readonly rtc?: RtcDataShape;
  readonly stream?: RtpStreamShape;
  readonly received?: ReceivedShape;
  readonly inbound?: {
    readonly trackIdentifier?: string;
    readonly mid?: string;
    readonly bytesReceived?: WireInt;
    readonly headerBytesReceived?: WireInt;
    readonly retransmittedPacketsReceived?: WireInt;
    readonly nackCount?: number;
    readonly pliCount?: number;
    readonly firCount?: number;
    readonly framesDecoded?: number;
    readonly framesDropped?: number;
    readonly framesPerSecond?: number;
    readonly frameWidth?: number;
    readonly frameHeight?: number;
    readonly freezeCount?: number;
    readonly totalFreezeDuration?: number;
    readonly concealedSamples?: WireInt;
    readonly totalSamplesReceived?: WireInt;
    readonly jitterBufferDelay?: number;
    readonly jitterBufferEmittedCount?: WireInt;
  };
}

interface OutboundRtpShape {
  readonly rtc?: RtcDataShape;
  readonly stream?: RtpStreamShape;
  readonly sent?: { readonly packetsSent?: WireInt; readonly bytesSent?: WireInt };
  readonly outbound?: {
    readonly mid?: string;
    readonly rid?: string;
    readonly nackCount?: number;
    readonly pliCount?: number;
    readonly firCount?: number;
    readonly framesEncoded?: number;
    /** proto enum: 0 none, 1 cpu, 2 bandwidth, 3 other. */
    readonly qualityLimitationReason?: number | string;
  };
}

interface RemoteInboundRtpShape {
  readonly rtc?: RtcDataShape;
  readonly stream?: RtpStreamShape;
  readonly received?: ReceivedShape;
  readonly remoteInbound?: {
    readonly roundTripTime?: number;
    readonly totalRoundTripTime?: number;
    readonly fractionLost?: number;
    readonly roundTripTimeMeasurements?: WireInt;
  };
}

interface CandidatePairShape {
  readonly rtc?: RtcDataShape;
  readonly candidatePair?: {
    /** proto enum IceCandidatePairState: 4 is PAIR_SUCCEEDED. */
    readonly state?: number;
    readonly nominated?: boolean;
    readonly currentRoundTripTime?: number;
    readonly totalRoundTripTime?: number;
    readonly availableOutgoingBitrate?: number;
    readonly responsesReceived?: WireInt;
    readonly localCandidateId?: string;
    readonly remoteCandidateId?: string;
  };
}

interface IceCandidateShape {
  readonly rtc?: RtcDataShape;
  readonly candidate?: {
    readonly protocol?: string;
    /** proto enum IceCandidateType: 0 host, 1 srflx, 2 prflx, 3 relay. */
    readonly candidateType?: number | string;
    /** proto enum IceServerTransportProtocol: 0 udp, 1 tcp, 2 tls. */
    readonly relayProtocol?: number | string;
  };
}

interface TransportShape {
  readonly transport?: { readonly selectedCandidatePairId?: string };
}

/** Structurally matches rtc-node's `RtcStats`: a protobuf oneof wrapped as `{ stats: { case, value } }`. */
export interface RtcNodeStats {
  readonly stats?: { readonly case?: string; readonly value?: unknown };
}

const CANDIDATE_TYPE_BY_ENUM: readonly CandidateType[] = ["host", "srflx", "prflx", "relay"];
const RELAY_PROTOCOL_BY_ENUM: readonly RelayProtocol[] = ["udp", "tcp", "tls"];

/**
 * Normalizes one rtc-node `getRtcStats()` result. Both arrays are read and filtered on `stats.case`,
 * because livekit-server 1.13 runs one PeerConnection per participant and rust-sdks files everything,
 * inbound included, under `publisherStats`; a stream reported in both arrays is kept once.
 */
export function fromRtcNodeStats(
  publisherStats: readonly RtcNodeStats[],
  subscriberStats: readonly RtcNodeStats[],
  nowMs: Milliseconds,
): Snapshot {
  const inbound = new Map<string, InboundStreamSample>();
  const outbound = new Map<string, OutboundStreamSample>();
  const remoteInbound = new Map<string, RemoteInboundSample>();
  const pairs: { sample: CandidatePairSample; selectedHint: boolean; ends: PairEnds }[] = [];
  const selectedPairIds = new Set<string>();
  const candidates = new Map<string, CandidateEnd>();

  for (const entry of [...publisherStats, ...subscriberStats]) {
    const value = entry.stats?.value;
    // Beyond "is an object" nothing is trusted: every field goes through a reader that checks its
    // runtime type, so a shape drift in a future SDK yields undefined fields, never NaN or a throw.
    if (typeof value !== "object" || value === null) continue;
    switch (entry.stats?.case) {
      case "inboundRtp": {
        const sample = inboundSample(value);
        if (sample !== undefined && !inbound.has(sample.key)) inbound.set(sample.key, sample);
        break;
      }
      case "outboundRtp": {
        const sample = outboundSample(value);
        if (sample !== undefined && !outbound.has(sample.key)) outbound.set(sample.key, sample);
        break;
      }
      case "remoteInboundRtp": {
        const sample = remoteInboundSample(value);
        if (sample !== undefined && !remoteInbound.has(sample.key)) remoteInbound.set(sample.key, sample);
        break;
      }
      case "candidatePair": {
        const pair = candidatePairSample(value);
        if (pair !== undefined) pairs.push(pair);
        break;
      }
      case "localCandidate":
      case "remoteCandidate": {
        const id = (value as IceCandidateShape).rtc?.id;
        const end = candidateEnd(value);
        if (typeof id === "string" && id !== "" && end !== undefined) candidates.set(id, end);
        break;
      }
      case "transport": {
        const id = (value as TransportShape).transport?.selectedCandidatePairId;
        if (typeof id === "string" && id !== "") selectedPairIds.add(id);
        break;
      }
      default:
        break;
    }
  }

  // The transport names its selected pair; only without one do we fall back to nominated+succeeded,
  // since other pairs keep stale RTTs from connectivity checks.
  const selected =
    selectedPairIds.size > 0
      ? pairs.filter((p) => selectedPairIds.has(p.sample.id))
      : pairs.filter((p) => p.selectedHint);
  const candidatePairs: CandidatePairSample[] = [];
  const seenPairs = new Set<string>();
  for (const { sample } of selected) {
    if (seenPairs.has(sample.id)) continue;
    seenPairs.add(sample.id);
    candidatePairs.push(sample);
  }

  // one PeerConnection per participant with livekit-server 1.13 (so one selected pair); with two,
  // the first array's (the publisher's) comes first
  const selectedPair = selected
    .map(({ ends }) => pairOf(ends, candidates))
    .find((p): p is SelectedPair => p !== undefined);
  return {
    timestampMs: nowMs,
    inbound: [...inbound.values()],
    outbound: [...outbound.values()],
    remoteInbound: [...remoteInbound.values()],
    candidatePairs,
    ...(selectedPair !== undefined ? { selectedPair } : {}),
  };
}

interface PairEnds {
  readonly local?: string;
  readonly remote?: string;
}

interface CandidateEnd {
  readonly type: CandidateType;
  readonly protocol: IceProtocol;
  readonly relayProtocol?: RelayProtocol;
}

function candidateEnd(v: IceCandidateShape): CandidateEnd | undefined {
  const c = v.candidate;
  const type =
    typeof c?.candidateType === "number"
      ? CANDIDATE_TYPE_BY_ENUM[c.candidateType]
      : CANDIDATE_TYPE_BY_ENUM.find((t) => t === c?.candidateType);
  const protocol = c?.protocol === "udp" || c?.protocol === "tcp" ? c.protocol : undefined;
  if (type === undefined || protocol === undefined) return undefined;
  // proto2 fills an absent enum with its first value (udp): only a relay candidate has a relay protocol
  const relayProtocol =
    type !== "relay"
      ? undefined
      : typeof c?.relayProtocol === "number"
        ? RELAY_PROTOCOL_BY_ENUM[c.relayProtocol]
        : RELAY_PROTOCOL_BY_ENUM.find((r) => r === c?.relayProtocol);
  return { type, protocol, ...(relayProtocol !== undefined ? { relayProtocol } : {}) };
}

function pairOf(ends: PairEnds, candidates: ReadonlyMap<string, CandidateEnd>): SelectedPair | undefined {
  const local = ends.local === undefined ? undefined : candidates.get(ends.local);
  const remote = ends.remote === undefined ? undefined : candidates.get(ends.remote);
  if (local === undefined || remote === undefined) return undefined;
  return {
    local: local.type,
    remote: remote.type,
    protocol: local.protocol,
    ...(local.relayProtocol !== undefined ? { relayProtocol: local.relayProtocol } : {}),
  };
}

/** What every RTP stream's stats start with; undefined without an SSRC, which keys the stream. */
function rtpStream(v: {
  readonly rtc?: RtcDataShape;
  readonly stream?: RtpStreamShape;
}): { ssrc: number; kind: MediaKind; timestampMs: Milliseconds | undefined } | undefined {
  const ssrc = toNumber(v.stream?.ssrc);
  if (ssrc === undefined) return undefined;
  return { ssrc, kind: toKind(v.stream?.kind), timestampMs: toTimestampMs(v.rtc?.timestamp) };
}

function inboundSample(v: InboundRtpShape): InboundStreamSample | undefined {
  const stream = rtpStream(v);
  if (stream === undefined) return undefined;
  const { ssrc, kind } = stream;
  const inb = v.inbound;
  const mid = nonEmpty(inb?.mid);
  const trackIdentifier = nonEmpty(inb?.trackIdentifier);
  // libwebrtc reports every field for every kind (rust fills absent ones with 0); dropping the other
  // kind's fields keeps audio windows out of video populations (freezes) and vice versa (concealment).
  const video = kind !== "audio";
  const audio = kind !== "video";
  return {
    key: `inbound:${kind}:${ssrc}:${mid ?? ""}:${trackIdentifier ?? ""}`,
    ...stream,
    mid,
    trackIdentifier,
    packetsReceived: toNumber(v.received?.packetsReceived) ?? 0,
    packetsLost: toSignedInt64(v.received?.packetsLost) ?? 0,
    retransmittedPacketsReceived: toNumber(inb?.retransmittedPacketsReceived),
    bytesReceived: toNumber(inb?.bytesReceived) ?? 0,
    headerBytesReceived: toNumber(inb?.headerBytesReceived),
    jitter: toNumber(v.received?.jitter),
    nackCount: toNumber(inb?.nackCount),
    pliCount: video ? toNumber(inb?.pliCount) : undefined,
    firCount: video ? toNumber(inb?.firCount) : undefined,
    framesDecoded: video ? toNumber(inb?.framesDecoded) : undefined,
    framesDropped: video ? toNumber(inb?.framesDropped) : undefined,
    // 0 until a frame is decoded (rust fills absent with 0): no frame is no size
    framesPerSecond: video ? toNumber(inb?.framesPerSecond) : undefined,
    frameWidth: video ? positive(inb?.frameWidth) : undefined,
    frameHeight: video ? positive(inb?.frameHeight) : undefined,
    freezeCount: video ? toNumber(inb?.freezeCount) : undefined,
    totalFreezesDuration: video ? toNumber(inb?.totalFreezeDuration) : undefined,
    concealedSamples: audio ? toNumber(inb?.concealedSamples) : undefined,
    totalSamplesReceived: audio ? toNumber(inb?.totalSamplesReceived) : undefined,
    jitterBufferDelay: toNumber(inb?.jitterBufferDelay),
    jitterBufferEmittedCount: toNumber(inb?.jitterBufferEmittedCount),
  };
}

function outboundSample(v: OutboundRtpShape): OutboundStreamSample | undefined {
  const stream = rtpStream(v);
  if (stream === undefined) return undefined;
  const { ssrc, kind } = stream;
  const out = v.outbound;
  const mid = nonEmpty(out?.mid);
  const rid = nonEmpty(out?.rid);
  const video = kind !== "audio";
  return {
    key: `outbound:${kind}:${ssrc}:${mid ?? ""}:${rid ?? ""}`,
    ...stream,
    mid,
    rid,
    packetsSent: toNumber(v.sent?.packetsSent) ?? 0,
    bytesSent: toNumber(v.sent?.bytesSent) ?? 0,
    nackCount: toNumber(out?.nackCount),
    pliCount: video ? toNumber(out?.pliCount) : undefined,
    firCount: video ? toNumber(out?.firCount) : undefined,
    framesEncoded: video ? toNumber(out?.framesEncoded) : undefined,
    qualityLimitationReason: video ? toQualityLimitation(out?.qualityLimitationReason) : undefined,
  };
}

function remoteInboundSample(v: RemoteInboundRtpShape): RemoteInboundSample | undefined {
  const stream = rtpStream(v);
  if (stream === undefined) return undefined;
  const measurements = toNumber(v.remoteInbound?.roundTripTimeMeasurements);
  return {
    key: `remote-inbound:${stream.kind}:${stream.ssrc}`,
    ...stream,
    packetsLost: toSignedInt64(v.received?.packetsLost) ?? 0,
    // rust fills an unmeasured RTT with 0, which on a loopback testbed is also a real value: only the
    // measurement count tells them apart.
    roundTripTime: measurements === 0 ? undefined : toNumber(v.remoteInbound?.roundTripTime),
    totalRoundTripTime: toNumber(v.remoteInbound?.totalRoundTripTime),
    roundTripTimeMeasurements: measurements,
    fractionLost: toNumber(v.remoteInbound?.fractionLost),
  };
}

function candidatePairSample(
  v: CandidatePairShape,
): { sample: CandidatePairSample; selectedHint: boolean; ends: PairEnds } | undefined {
  const id = v.rtc?.id;
  if (typeof id !== "string" || id === "") return undefined;
  const cp = v.candidatePair;
  const responses = toNumber(cp?.responsesReceived);
  const outgoing = toNumber(cp?.availableOutgoingBitrate);
  return {
    sample: {
      id,
      currentRoundTripTime: responses === 0 ? undefined : toNumber(cp?.currentRoundTripTime),
      totalRoundTripTime: toNumber(cp?.totalRoundTripTime),
      responsesReceived: responses,
      // Absent when send-side BWE does not run; rust turns absent into 0, and 0 bits/s is no estimate.
      availableOutgoingBitrate: outgoing === 0 ? undefined : outgoing,
    },
    selectedHint: cp?.nominated === true && cp.state === PAIR_SUCCEEDED,
    ends: { local: nonEmpty(cp?.localCandidateId), remote: nonEmpty(cp?.remoteCandidateId) },
  };
}
