import { sampleSets, type Measurements } from "@livekit-swarm/gate";
import { cannotDecrypt, decryptsAgain } from "@livekit-swarm/schema";
import { QuantileSketch, Roster, percentiles, wireBytes } from "@livekit-swarm/stats";
import { delivery } from "./delivery.js";
import {
  censorUnfinished,
  emptyEndWindow,
  endWindow,
  isShortWindow,
  participantKey,
  type ParticipantState,
} from "./participant-state.js";
import type { Kind, ParticipantEvent, ParticipantPlan, Role, WindowSample } from "./messages.js";
import { GroupWindowValues, runGroups } from "./groups.js";
import { WORKER_DIED, generatorLoss } from "./standings.js";
import {
  addShare,
  bucketRate,
  emptyBucket,
  extendTimeline,
  spanPoints,
  type SpanPoint,
  type TimelineBucket,
} from "./timeline.js";
import type { RunMarker, RunSummary } from "./summary.js";
import {
  decryptionPairs,
  lossOf,
  reconnectBursts,
  runFigures,
  trackCounts,
  zeroKinds,
} from "./summary-sections.js";

export type { CensorableStat, Figure } from "./figures.js";
export type { GroupFigures, RunGroups } from "./groups.js";
export type { TimelinePoint } from "./timeline.js";
export type { DecryptionFailure, RunMarker, RunSummary } from "./summary.js";
export { reconnectBursts } from "./summary-sections.js";

/** The per-kind counters' names, made once: a window adds to nine of them a track. */
const COUNTER_NAMES = Object.fromEntries(
  (["audio", "video"] as const).map((kind) => [
    kind,
    {
      inNack: `in_nack_${kind}`,
      inPli: `in_pli_${kind}`,
      inFir: `in_fir_${kind}`,
      inBytes: `in_bytes_${kind}`,
      inHeaderBytes: `in_header_bytes_${kind}`,
      inRetransmitted: `in_retransmitted_${kind}`,
      outNack: `out_nack_${kind}`,
      outPli: `out_pli_${kind}`,
      outBytes: `out_bytes_${kind}`,
    },
  ]),
) as Record<
  Kind,
  Record<
    | "inNack"
    | "inPli"
    | "inFir"
    | "inBytes"
    | "inHeaderBytes"
    | "inRetransmitted"
    | "outNack"
    | "outPli"
    | "outBytes",
    string
  >
>;

/** Folds worker events and samples into what the run reports; raw samples go to samples.jsonl. */
export class RunAggregator {
  private readonly participants = new Map<string, ParticipantState>();
  private readonly roster = new Roster();
  /** Buckets still open to windows, by start time; older ones are sealed into points. */
  private readonly timeline = new Map<number, TimelineBucket>();
  /**
   * Sealed buckets' points, in time order, each `timelineStepMs` long (reconnects are counted in at
   * the summary): past MOST_TIMELINE_POINTS, neighbours merge into points twice as long.
   */
  private readonly sealedPoints: SpanPoint[] = [];
  private timelineStepMs: number;
  /** Buckets starting before this are sealed: a window landing in one is left out of the timeline. */
  private sealedBefore = -Infinity;
  /** Per participant, the bucket its last window went to (a short window joins it). */
  private readonly shareBucket = new Map<string, TimelineBucket>();
  private readonly counters: Record<string, number> = {};
  private readonly quality: Record<string, number> = {};
  /** Per video track-window, in sketches: exact up to SKETCH_EXACT_LIMIT windows, then within 1%. */
  private readonly videoFps = new QuantileSketch();
  private readonly videoHeight = new QuantileSketch();
  private readonly groupJitter = new GroupWindowValues();
  private readonly groupFrameRates = new GroupWindowValues();
  private readonly markers: RunMarker[] = [];
  private readonly reconnectStarts: number[] = [];

  constructor(
    plans: readonly ParticipantPlan[],
    private readonly bucketMs: number,
    /** The same raw observations the gate evaluates: figures here and verdicts there agree. */
    private readonly measurements: Measurements,
  ) {
    this.timelineStepMs = bucketMs;
    for (const plan of plans) {
      this.participants.set(participantKey(plan.room, plan.identity), {
        plan,
        lossByKind: { audio: { lost: 0, expected: 0 }, video: { lost: 0, expected: 0 } },
        bytesIn: 0,
        bytesOut: 0,
        tracksWithPackets: zeroKinds(),
        tracksWithFrames: 0,
        reconnects: 0,
        everReceived: { audio: new Set(), video: new Set() },
        lastWindow: emptyEndWindow(),
      });
    }
  }

  /** `t`: when the orchestrator received the event, epoch ms. */
  onEvent(room: string, identity: string, event: ParticipantEvent, t: number): void {
    const p = this.participants.get(participantKey(room, identity));
    if (p === undefined) return;
    switch (event.type) {
      case "joined":
        p.joinS = event.joinS;
        p.joinStartMs = t - event.joinS * 1000;
        p.leftMs = undefined;
        if (event.nodeId !== undefined) p.nodeId = event.nodeId;
        this.roster.move(room, identity, "connected");
        break;
      case "join-failed":
        this.failJoin(room, identity, p, event.reason, t);
        break;
      case "first-packet":
        p.tracksWithPackets[event.kind]++;
        break;
      case "first-frame":
        p.tracksWithFrames++;
        break;
      case "reconnecting":
        if (p.reconnectingSinceMs === undefined) {
          p.reconnects++;
          this.reconnectStarts.push(t);
        }
        p.reconnectingSinceMs ??= t;
        this.roster.move(room, identity, "reconnecting");
        break;
      case "reconnected":
        p.reconnectingSinceMs = undefined;
        if (event.nodeId !== undefined) p.nodeId = event.nodeId;
        this.roster.move(room, identity, "connected");
        break;
      case "disconnected":
        // before it joined, for the generator's reasons: what an events.jsonl of an older version
        // said of a join its worker cut off (Standings now records it as a join failure)
        if (p.joinS === undefined && generatorLoss(event.reason)) {
          this.failJoin(room, identity, p, event.reason, t);
          break;
        }
        p.disconnected = event.reason;
        p.reconnectingSinceMs = undefined;
        p.leftMs = t;
        this.roster.move(room, identity, "disconnected");
        if (event.reason === WORKER_DIED) this.markWorkerDeath(t);
        break;
      case "quality":
        this.quality[event.quality] = (this.quality[event.quality] ?? 0) + 1;
        break;
      case "transport":
        p.transport = event.transport;
        if (event.iceS !== undefined) p.iceS = event.iceS;
        break;
      case "e2ee":
        this.onCryptor(p, identity, event.from, event.state);
        break;
      case "track-subscribed":
        break;
    }
  }

  onSample(s: WindowSample): void {
    const key = participantKey(s.room, s.participant);
    const p = this.participants.get(key);
    if (p === undefined) return;
    p.firstSeenMs ??= s.t - s.durationMs;
    if (s.transport !== undefined) p.transport = s.transport;
    p.lastSeenMs = s.t;
    // a window of a few milliseconds (the drain's, just after a periodic one) is no rate of its own:
    // it joins the bucket of the participant's window before, as the end window does (endWindow)
    const previous = this.shareBucket.get(key);
    const bucket =
      isShortWindow(s.durationMs, this.bucketMs) && previous !== undefined ? previous : this.bucket(s.t);
    bucket.participants.add(key);
    const share = {
      bytesIn: 0,
      wireBytesIn: undefined as number | undefined,
      bytesOut: 0,
      durationMs: s.durationMs,
    };
    const window = {
      receiving: { audio: new Set<string>(), video: new Set<string>() },
      decodingVideo: new Set<string>(),
      durationMs: s.durationMs,
    };
    const videoBefore = p.everReceived.video.size > 0;
    const videoTracks = s.inbound.filter((t) => t.kind === "video");
    if (videoBefore && videoTracks.length > 0 && videoTracks.every((t) => t.received === 0 && t.lost === 0))
      p.videoStalledMs = (p.videoStalledMs ?? 0) + s.durationMs;
    for (const track of s.inbound) {
      if (track.received > 0) {
        p.everReceived[track.kind].add(track.key);
        window.receiving[track.kind].add(track.key);
      }
      if (track.kind === "video" && track.framesDecoded > 0) window.decodingVideo.add(track.key);
      p.lossByKind[track.kind].lost += track.lost;
      p.lossByKind[track.kind].expected += track.expected;
      p.bytesIn += track.bytes;
      const wire = wireBytes(track);
      if (wire !== undefined) {
        p.wireBytesIn = (p.wireBytesIn ?? 0) + wire;
        share.wireBytesIn = (share.wireBytesIn ?? 0) + wire;
      }
      bucket.lost[track.kind] += track.lost;
      bucket.expected[track.kind] += track.expected;
      share.bytesIn += track.bytes;
      if (track.jitterS !== undefined && track.received > 0) {
        bucket.jitter.push(track.jitterS);
        this.groupJitter.add(p, track.jitterS);
      }
      const names = COUNTER_NAMES[track.kind];
      this.add(names.inNack, track.nack);
      this.add(names.inPli, track.pli);
      this.add(names.inFir, track.fir);
      this.add(names.inBytes, track.bytes);
      this.add(names.inHeaderBytes, track.headerBytes ?? 0);
      this.add(names.inRetransmitted, track.retransmitted ?? 0);
      if (track.kind === "video") {
        this.add("frames_decoded", track.framesDecoded);
        // lean's frames are assembled from RTP, never decoded: the summary says which figures they are in
        if (p.plan.engine === "lean") {
          if (track.received > 0) this.add("lean_video_windows", 1);
          if (track.freezeS !== undefined) this.add("freeze_measured_windows_lean", 1);
        } else if (p.plan.engine === "browser" && track.freezeS !== undefined) {
          // Chromium times freezes on every subscriber, not only on probes
          this.add("freeze_measured_windows_browser", 1);
        }
        // a rate over a window much shorter than the interval is noise (1 frame in 17 ms reads 59/s)
        if (track.received > 0 && !isShortWindow(s.durationMs, this.bucketMs)) {
          const fps = track.framesDecoded / (s.durationMs / 1000);
          this.videoFps.add(fps);
          this.groupFrameRates.add(p, fps);
          if (track.height !== undefined) this.videoHeight.add(track.height);
        }
        this.add("frames_dropped", track.framesDropped);
        this.add("freezes", track.freezes);
        // counted only where measured, so a run that measured none reads "unknown", never 0 s
        if (track.freezeS !== undefined) {
          this.add("freeze_seconds", track.freezeS);
          this.add("freeze_measured_windows", 1);
        } else {
          this.add("freezes_time_unknown", track.freezes);
        }
      } else {
        this.add("concealed_samples", track.concealedSamples);
        this.add("total_samples", track.totalSamples);
      }
    }
    p.lastWindow = endWindow(p.lastWindow, window, this.bucketMs);
    for (const track of s.outbound) {
      p.bytesOut += track.bytes;
      share.bytesOut += track.bytes;
      const names = COUNTER_NAMES[track.kind];
      this.add(names.outNack, track.nack);
      this.add(names.outPli, track.pli);
      this.add(names.outBytes, track.bytes);
    }
    this.add("data_sent", s.dataSent);
    this.add("data_received", s.dataReceived);
    if (s.latencyS !== undefined) bucket.latency.push(s.latencyS.p50);
    addShare(bucket, key, share);
    this.shareBucket.set(key, bucket);
    this.seal(s.t);
  }

  /** Live figures for the progress display. */
  progress(): {
    joined: number;
    failed: number;
    connected: number;
    reconnecting: number;
    lossP95: number | undefined;
    jitterP95S: number | undefined;
    bitrateInBps: number;
  } {
    let joined = 0;
    let failed = 0;
    for (const p of this.participants.values()) {
      if (p.joinS !== undefined) joined++;
      if (p.joinFailure !== undefined) failed++;
    }
    const recent = [...this.timeline.values()].sort((a, b) => b.t - a.t)[1] ?? [...this.timeline.values()][0];
    const lossRatios = [...this.participants.values()].map((p) => ratioOf(sumKinds(p.lossByKind)));
    return {
      joined,
      failed,
      connected: this.roster.count((state) => state === "connected"),
      reconnecting: this.roster.count((state) => state === "reconnecting"),
      lossP95: percentiles(lossRatios, [95], "participants")[0]?.value,
      jitterP95S: recent !== undefined ? percentiles(recent.jitter, [95], "windows")[0]?.value : undefined,
      bitrateInBps: recent !== undefined ? (bucketRate(recent, "bytesIn") ?? 0) : 0,
    };
  }

  /**
   * `endMs`: when the run ended (epoch ms); what never happened by then is censored there.
   * `stoppedAtMs`: when it stopped joining (its hold's end, a Ctrl-C), before its drain: a
   * participant scheduled after it was not due (`notDue`), and is in no join figure.
   */
  summary(endMs: number, stoppedAtMs = endMs): RunSummary {
    const all = [...this.participants.values()];
    const joinFailures: Record<string, number> = {};
    const disconnects: Record<string, number> = {};
    for (const p of all) {
      if (p.joinFailure !== undefined) joinFailures[p.joinFailure] = (joinFailures[p.joinFailure] ?? 0) + 1;
      if (p.disconnected !== undefined) disconnects[p.disconnected] = (disconnects[p.disconnected] ?? 0) + 1;
    }
    const joined = all.filter((p) => p.joinS !== undefined);
    const notDue = notDueBy(all, this.measurements.runStartMs, stoppedAtMs);
    const lostJoining = all.filter(
      (p) => p.joinS === undefined && p.joinFailure !== undefined && generatorLoss(p.joinFailure),
    ).length;
    const { decryptionFailures, decryptionRecovered } = decryptionPairs(all);
    const loss = lossOf(all);
    censorUnfinished(this.measurements, this.participants.values(), endMs, stoppedAtMs);
    const figures = runFigures(this.measurements, all, this.videoFps, this.videoHeight);
    const { expected, receiving, everReceived, decodingVideo, assembledVideo } = trackCounts(joined);
    // the open buckets after the sealed points, on a copy: sealing goes on after a live summary
    const points = [...this.sealedPoints];
    const timeline = {
      points,
      stepMs: extendTimeline(points, spanPoints(this.timeline.values()), this.timelineStepMs),
    };
    return {
      participants: {
        planned: all.length,
        joined: joined.length,
        connectedAtEnd: this.roster.count((state) => state === "connected"),
        reconnectingAtEndS: all
          .filter((p) => p.reconnectingSinceMs !== undefined && p.leftMs === undefined)
          .map((p) => Math.max(0, (endMs - (p.reconnectingSinceMs ?? endMs)) / 1000))
          .sort((a, b) => b - a),
        joinFailures,
        disconnects,
        reconnects: [...this.roster.entries()].reduce((a, p) => a + p.reconnects, 0),
        ...(notDue > 0 ? { notDue } : {}),
        ...(lostJoining > 0 ? { lostJoining } : {}),
      },
      tracks: {
        expected,
        receiving,
        everReceived,
        decodingVideo,
        ...(assembledVideo > 0 ? { assembledVideo } : {}),
        ...delivery(all, endMs),
      },
      loss,
      counters: {
        ...this.counters,
        ...Object.fromEntries(Object.entries(this.quality).map(([q, n]) => [`quality_${q}`, n])),
      },
      figures,
      timeline: timeline.points.map(({ point }) => ({
        ...point,
        reconnecting: this.reconnectStarts.filter((t) => t >= point.t && t < point.t + timeline.stepMs)
          .length,
      })),
      timelineStepMs: timeline.stepMs,
      joinSeconds: joined.map((p) => p.joinS ?? 0),
      firstFrameSeconds: [
        // each first frame is its own track-level member: the tracks population is every one of them
        ...(this.measurements.distribution("lkswarm_time_to_first_frame_seconds", "tracks", {
          where: { kind: "video" },
        }).values ?? []),
      ],
      samples: sampleSets(this.measurements),
      groups: runGroups(all, this.groupJitter, this.groupFrameRates),
      markers: [
        ...this.markers,
        ...reconnectBursts(this.reconnectStarts, this.bucketMs, all.length, timeline.stepMs),
      ].sort((a, b) => a.t - b.t),
      ...(decryptionFailures.length > 0 ? { decryptionFailures } : {}),
      ...(decryptionRecovered.length > 0 ? { decryptionRecovered } : {}),
    };
  }

  /**
   * A frame cryptor's state for `from`'s frames (engines report changes as CryptorReport lets them
   * through): a failure lists the pair until the cryptor says it decrypts again, and counts once per
   * pair; a recovery counts each time. `key_ratcheted` from the participant itself is its own
   * ratchet (e2ee.ratchet-every); from a publisher, its cryptor following one, once per publisher.
   */
  private onCryptor(p: ParticipantState, identity: string, from: string, state: string): void {
    if (cannotDecrypt(state, from, identity)) {
      (p.cannotDecrypt ??= new Set()).add(from);
      p.failedToDecrypt ??= new Set();
      if (!p.failedToDecrypt.has(from)) this.add("e2ee_decryption_failures", 1);
      p.failedToDecrypt.add(from);
      return;
    }
    if (state === "unobservable") {
      this.add("e2ee_unobservable", 1);
      return;
    }
    if (from !== identity && decryptsAgain(state) && p.cannotDecrypt?.delete(from) === true)
      this.add("e2ee_decryption_recoveries", 1);
    if (state !== "key_ratcheted") return;
    if (from === identity) {
      this.add("e2ee_key_ratchets", 1);
      return;
    }
    p.ratchetsFollowed ??= new Set();
    if (!p.ratchetsFollowed.has(from)) this.add("e2ee_ratchets_followed", 1);
    p.ratchetsFollowed.add(from);
  }

  /**
   * A join that failed: the first reason stands. One the generator cut off (its worker died mid-join)
   * was not refused, so all its join time says is "longer than until now": it is censored then
   * (`leftMs`), not at the run's end.
   */
  private failJoin(room: string, identity: string, p: ParticipantState, reason: string, t: number): void {
    if (p.joinFailure === undefined && generatorLoss(reason)) p.leftMs = t;
    p.joinFailure ??= reason;
    this.roster.move(room, identity, "failed");
    if (reason === WORKER_DIED) this.markWorkerDeath(t);
  }

  /** One marker per death: a dying worker's participants all arrive with the same time. */
  private markWorkerDeath(t: number): void {
    const last = this.markers.at(-1);
    if (last?.t === t) return;
    this.markers.push({ t, kind: "worker-died", detail: "a worker process died; its participants are lost" });
  }
  /** Seals the buckets that ended a seal lag before `t` (a window's end) into their points. */
  private seal(t: number): void {
    const before = Math.floor((t - sealLagMs(this.bucketMs)) / this.bucketMs) * this.bucketMs;
    if (before <= this.sealedBefore) return;
    this.sealedBefore = before;
    const due = [...this.timeline.values()].filter((b) => b.t < before);
    if (due.length === 0) return;
    for (const b of due) this.timeline.delete(b.t);
    for (const [key, b] of this.shareBucket) if (b.t < before) this.shareBucket.delete(key);
    this.timelineStepMs = extendTimeline(this.sealedPoints, spanPoints(due), this.timelineStepMs);
  }

  private add(name: string, value: number): void {
    this.counters[name] = (this.counters[name] ?? 0) + value;
  }

  private bucket(t: number): TimelineBucket {
    const start = Math.floor(t / this.bucketMs) * this.bucketMs;
    if (start < this.sealedBefore) {
      // a window far later than its bucket (a worker that stalled past the seal): its counts are in
      // the run's totals, not in the sealed point; a bucket of its own that nothing keeps
      this.add("timeline_late_windows", 1);
      return emptyBucket(start);
    }
    let b = this.timeline.get(start);
    if (b === undefined) {
      b = emptyBucket(start);
      this.timeline.set(start, b);
    }
    return b;
  }
}

/**
 * How far behind the newest window a bucket is sealed: its raw values (each participant's share,
 * jitter and latency) become its point and are dropped, so the timeline holds a point per bucket,
 * not every window of the run. Ten buckets, and at least a minute: workers' windows arrive within
 * one interval of each other, and a stalled worker's later than that are counted as late.
 */
export function sealLagMs(bucketMs: number): number {
  return Math.max(10 * bucketMs, 60_000);
}

function ratioOf(c: { lost: number; expected: number }): number | undefined {
  return c.expected > 0 ? c.lost / c.expected : undefined;
}

function sumKinds(byKind: Record<Kind, { lost: number; expected: number }>): {
  lost: number;
  expected: number;
} {
  return {
    lost: byKind.audio.lost + byKind.video.lost,
    expected: byKind.audio.expected + byKind.video.expected,
  };
}

export type { Role };

/**
 * Participants the run stopped before their turn to join came (scheduled at or after `stoppedAtMs`),
 * that neither joined nor failed: a run stopped during its ramp; 0 before the run's start is known.
 */
function notDueBy(
  all: readonly ParticipantState[],
  startMs: number | undefined,
  stoppedAtMs: number,
): number {
  if (startMs === undefined) return 0;
  return all.filter(
    (p) => p.joinS === undefined && p.joinFailure === undefined && startMs + p.plan.joinAtMs >= stoppedAtMs,
  ).length;
}
