import type { FreezeDetector, WindowDelta } from "@livekit-swarm/stats";
import { windowLatency, windowRoundTrip } from "@livekit-swarm/stats";
import type { Kind, ParticipantPlan, WindowSample } from "../run/messages.js";

/** Streams of a kind the run knows (stats also list streams whose kind could not be read). */
export function knownKinds<T extends { readonly kind: string }>(
  streams: readonly T[],
): (T & { kind: Kind })[] {
  return streams.filter((s): s is T & { kind: Kind } => s.kind === "audio" || s.kind === "video");
}

/** RTCP feedback counts, 0 where the stats left them out. */
function feedbackOf(w: {
  readonly nackCount?: number | undefined;
  readonly pliCount?: number | undefined;
  readonly firCount?: number | undefined;
}): { nack: number; pli: number; fir: number } {
  return { nack: w.nackCount ?? 0, pli: w.pliCount ?? 0, fir: w.firCount ?? 0 };
}

/** What a window's freeze figures come from: a probe's own detectors, by track sid, or libwebrtc's count. */
export type FreezeSources = ReadonlyMap<string, FreezeDetector>;

/**
 * A probe sees every frame of its video tracks and measures freezes itself; elsewhere the count is
 * libwebrtc's, and the duration is known only where the stats fill it (a browser's do): rtc-node never
 * fills totalFreezesDuration, and a 0 would claim smooth video.
 */
export function freezesOf(
  w: {
    readonly kind: string;
    readonly trackIdentifier?: string;
    readonly freezeCount: number | undefined;
    readonly totalFreezesDuration: number | undefined;
  },
  videoStreams: number,
  detectors: FreezeSources,
  reportsFreezeDuration = false,
): { freezes: number; freezeS: number | undefined } {
  // libwebrtc gives a received track a random id, not the LiveKit track sid the detectors are
  // keyed by; a probe with one video stream and one detector pairs them, more stay unknown
  const only = videoStreams === 1 && detectors.size === 1 ? [...detectors.values()] : [];
  const measured =
    w.kind === "video"
      ? ((w.trackIdentifier !== undefined ? detectors.get(w.trackIdentifier) : undefined) ?? only[0])?.take()
      : undefined;
  if (measured !== undefined && measured.frames > 0)
    return { freezes: measured.freezes, freezeS: measured.frozen };
  return {
    freezes: w.freezeCount ?? 0,
    freezeS: reportsFreezeDuration && w.kind === "video" ? w.totalFreezesDuration : undefined,
  };
}

/**
 * One window's streams in the engines' shape, from a stats delta (rtc-node's or a browser's): inbound and outbound per
 * known kind, and the median of the round trips measured in the window (the selected pairs' checks, else RTCP's).
 */
export function windowStreams(
  delta: WindowDelta,
  detectors: FreezeSources,
  reportsFreezeDuration = false,
): Pick<WindowSample, "inbound" | "outbound" | "rttS"> {
  const videoStreams = delta.inbound.filter((v) => v.kind === "video").length;
  const measured = (vs: readonly (number | undefined)[]): number[] =>
    vs.filter((v): v is number => v !== undefined && v >= 0);
  // The connectivity checks' round trips first: timed at the ICE layer, whole milliseconds whose
  // 0s are real on a loopback (a mean over several is finer). RTCP's only for a window with no check
  // answered: libwebrtc floors each at 1 ms ("too good to be true"), which read every sub-millisecond
  // network as over 1 ms.
  const checks = measured(delta.candidatePairs.map((c) => c.roundTripTime));
  const rtts = checks.length > 0 ? checks : measured(delta.remoteInbound.map((r) => r.roundTripTime));
  return {
    inbound: knownKinds(delta.inbound).map((w) => ({
      key: w.key,
      kind: w.kind,
      expected: w.packetsExpected,
      lost: w.packetsLost,
      received: w.packetsReceived,
      retransmitted: w.packetsRetransmitted,
      bytes: w.bytesReceived,
      headerBytes: w.headerBytesReceived,
      width: w.frameWidth,
      height: w.frameHeight,
      jitterS: w.jitter,
      ...feedbackOf(w),
      framesDecoded: w.framesDecoded ?? 0,
      framesDropped: w.framesDropped ?? 0,
      ...freezesOf(w, videoStreams, detectors, reportsFreezeDuration),
      concealedSamples: w.concealedSamples ?? 0,
      totalSamples: w.totalSamplesReceived ?? 0,
    })),
    outbound: knownKinds(delta.outbound).map((w) => ({
      kind: w.kind,
      packets: w.packetsSent,
      bytes: w.bytesSent,
      ...feedbackOf(w),
      qualityLimitation: w.qualityLimitationReason,
    })),
    rttS: windowRoundTrip(rtts),
  };
}

/** A participant's window in the engines' shape: its streams, data packets and probe latencies. */
export function windowSampleOf(
  plan: Pick<ParticipantPlan, "room" | "identity" | "role">,
  worker: number,
  delta: Pick<WindowDelta, "endMs" | "durationMs">,
  streams: Pick<WindowSample, "inbound" | "outbound" | "rttS">,
  data: { readonly sent: number; readonly received: number },
  latencies: readonly number[],
): WindowSample {
  const latencyS = windowLatency([...latencies]);
  return {
    t: delta.endMs,
    durationMs: delta.durationMs,
    room: plan.room,
    participant: plan.identity,
    role: plan.role,
    worker,
    ...streams,
    dataSent: data.sent,
    dataReceived: data.received,
    ...(latencyS === undefined ? {} : { latencyS }),
  };
}
