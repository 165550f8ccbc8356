/**
 * The run summary's sections, each computed from the participants' states at the end of the run:
 * loss, figures, track counts, E2EE pairs and reconnect bursts.
 */
import type { Measurements } from "@livekit-swarm/gate";
import { lossRatioOfSums, type QuantileSketch } from "@livekit-swarm/stats";
import { bitrateFigure, measuredFigure, valueFigure, type Figure } from "./figures.js";
import type { Kind } from "./messages.js";
import { KINDS, type ParticipantState } from "./participant-state.js";
import type { DecryptionFailure, RunMarker, RunSummary } from "./summary.js";

export const zeroKinds = (): Record<Kind, number> => ({ audio: 0, video: 0 });

/**
 * E2EE: the pairs whose cryptors could not decrypt a publisher by the end, and those that could not
 * for a while and decrypted it again.
 */
export function decryptionPairs(all: readonly ParticipantState[]): {
  decryptionFailures: DecryptionFailure[];
  decryptionRecovered: DecryptionFailure[];
} {
  const pairs = (p: ParticipantState, from: Iterable<string>): DecryptionFailure[] => {
    const sorted = [...from].sort();
    return sorted.length === 0 ? [] : [{ room: p.plan.room, participant: p.plan.identity, from: sorted }];
  };
  const decryptionFailures = all.flatMap((p) => pairs(p, p.cannotDecrypt ?? []));
  const decryptionRecovered = all.flatMap((p) =>
    pairs(
      p,
      [...(p.failedToDecrypt ?? [])].filter((from) => p.cannotDecrypt?.has(from) !== true),
    ),
  );
  return { decryptionFailures, decryptionRecovered };
}

/** Packets lost and expected per kind over every participant, and the video stalls no ratio counts. */
export function lossOf(all: readonly ParticipantState[]): RunSummary["loss"] {
  return Object.fromEntries(
    KINDS.map((k) => {
      const r = lossRatioOfSums(
        all.map((p) => ({ packetsLost: p.lossByKind[k].lost, packetsExpected: p.lossByKind[k].expected })),
      );
      const stalledMs = k === "video" ? all.map((p) => p.videoStalledMs ?? 0).filter((ms) => ms > 0) : [];
      return [
        k,
        {
          lost: r.packetsLost,
          expected: r.packetsExpected,
          ratio: r.value,
          ...(stalledMs.length > 0
            ? {
                stalled: {
                  participants: stalledMs.length,
                  seconds: stalledMs.reduce((a, b) => a + b, 0) / 1000,
                },
              }
            : {}),
        },
      ];
    }),
  ) as RunSummary["loss"];
}

/** The summary's figures, in the report's order: the gate's measurements, bitrates and video sketches. */
export function runFigures(
  measurements: Measurements,
  all: readonly ParticipantState[],
  videoFps: QuantileSketch,
  videoHeight: QuantileSketch,
): Figure[] {
  return [
    measuredFigure(measurements, "lkswarm_join_duration_seconds", "join time", "s", "participants"),
    ...KINDS.map((k) =>
      measuredFigure(measurements, "lkswarm_time_to_first_packet_seconds", "first packet", "s", "tracks", k),
    ),
    measuredFigure(
      measurements,
      "lkswarm_time_to_first_frame_seconds",
      "first frame",
      "s",
      "tracks",
      "video",
    ),
    ...KINDS.map((k) =>
      measuredFigure(measurements, "lkswarm_inbound_loss_ratio", "loss", "ratio", "participants", k),
    ),
    ...KINDS.map((k) =>
      measuredFigure(measurements, "lkswarm_inbound_jitter_seconds", "jitter", "s", "windows", k),
    ),
    measuredFigure(measurements, "lkswarm_round_trip_time_seconds", "round-trip time", "s", "windows"),
    measuredFigure(
      measurements,
      "lkswarm_end_to_end_latency_seconds",
      "end-to-end latency",
      "s",
      "windows",
      "video",
    ),
    measuredFigure(measurements, "lkswarm_reconnect_duration_seconds", "reconnect time", "s", "participants"),
    bitrateFigure(
      "lkswarm_inbound_bytes_total",
      "bitrate in",
      all.filter((p) => p.plan.subscribe && p.lastSeenMs !== undefined).map((p) => bitrate(p.bytesIn, p)),
    ),
    bitrateFigure(
      "lkswarm_inbound_wire_bytes_total",
      "wire bitrate in",
      all
        .filter((p) => p.plan.subscribe && p.lastSeenMs !== undefined && p.wireBytesIn !== undefined)
        .map((p) => bitrate(p.wireBytesIn ?? 0, p)),
    ),
    valueFigure("lkswarm_inbound_frames_decoded_total", "frame rate", "count", "windows", videoFps, "video"),
    valueFigure(
      "lkswarm_inbound_frame_height_pixels",
      "received height",
      "count",
      "windows",
      videoHeight,
      "video",
    ),
    bitrateFigure(
      "lkswarm_outbound_bytes_total",
      "bitrate out",
      all
        .filter((p) => p.plan.role === "publisher" && p.lastSeenMs !== undefined)
        .map((p) => bitrate(p.bytesOut, p)),
    ),
  ];
}

/** Per kind, the tracks the joined participants expected, received at the end and ever; video framed at the end. */
export function trackCounts(joined: readonly ParticipantState[]): {
  expected: Record<Kind, number>;
  receiving: Record<Kind, number>;
  everReceived: Record<Kind, number>;
  decodingVideo: number;
  assembledVideo: number;
} {
  const expected = zeroKinds();
  const receiving = zeroKinds();
  const everReceived = zeroKinds();
  let decodingVideo = 0;
  let assembledVideo = 0;
  for (const p of joined) {
    // a participant gone before the end (its browser or worker died, LiveKit dropped it) receives
    // nothing at the end, whatever its last window said before it went
    const present = p.leftMs === undefined;
    for (const k of KINDS) {
      expected[k] += p.plan.expectedTracks[k];
      if (present) receiving[k] += Math.min(p.lastWindow.receiving[k].size, p.plan.expectedTracks[k]);
      everReceived[k] += Math.min(p.everReceived[k].size, p.plan.expectedTracks[k]);
    }
    const framing = present ? Math.min(p.lastWindow.decodingVideo.size, p.plan.expectedTracks.video) : 0;
    if (p.plan.engine === "lean") assembledVideo += framing;
    else decodingVideo += framing;
  }
  return { expected, receiving, everReceived, decodingVideo, assembledVideo };
}

function bitrate(bytes: number, p: ParticipantState): number | undefined {
  const span = (p.lastSeenMs ?? 0) - (p.firstSeenMs ?? 0);
  return span > 0 ? (bytes * 8 * 1000) / span : undefined;
}

/**
 * Buckets where at least 2 participants, and at least 1% of the run, began a reconnect; with
 * `stepMs` (the timeline's, when its points merge buckets) the bursts are found per bucket as
 * always and each is placed on its point, those of one point summed: no more markers than points.
 */
export function reconnectBursts(
  starts: readonly number[],
  bucketMs: number,
  planned: number,
  stepMs = bucketMs,
): RunMarker[] {
  const perBucket = new Map<number, number>();
  for (const t of starts) {
    const b = Math.floor(t / bucketMs) * bucketMs;
    perBucket.set(b, (perBucket.get(b) ?? 0) + 1);
  }
  const least = Math.max(2, Math.ceil(planned / 100));
  const perPoint = new Map<number, number>();
  for (const [t, n] of perBucket) {
    if (n < least) continue;
    const point = Math.floor(t / stepMs) * stepMs;
    perPoint.set(point, (perPoint.get(point) ?? 0) + n);
  }
  return [...perPoint].map(([t, n]) => ({
    t,
    kind: "reconnect-burst",
    detail: `${n} participants began reconnecting`,
  }));
}
