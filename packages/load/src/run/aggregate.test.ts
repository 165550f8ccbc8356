import { describe, expect, it } from "vitest";
import { Measurements, evaluate, parseThreshold } from "@livekit-swarm/gate";
import type { ParticipantEvent } from "@livekit-swarm/schema";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { RunAggregator } from "./aggregate.js";
import { reconnectBursts } from "./summary-sections.js";
import { coarsen, MOST_TIMELINE_POINTS } from "./timeline.js";
import { transportText } from "../report/transports.js";
import type { InboundTrackSample, ParticipantPlan, WindowSample } from "./messages.js";

const plan = (identity: string, role: "publisher" | "subscriber" = "subscriber"): ParticipantPlan => ({
  room: "r1",
  identity,
  role,
  publishAudio: role === "publisher",
  publishVideo: false,
  publisherIndex: 0,
  subscribe: role === "subscriber",
  probe: false,
  expectedTracks: { audio: role === "subscriber" ? 1 : 0, video: 0 },
  joinAtMs: 0,
  engine: "native",
});

const audio = (expected: number, lost: number, jitterS = 0.002): InboundTrackSample =>
  inboundTrack({ key: "a1", kind: "audio", expected, lost, bytes: 1000, jitterS, totalSamples: 48_000 });

const sample = (participant: string, t: number, inbound: InboundTrackSample[]): WindowSample =>
  windowSample({ t, room: "r1", participant, inbound, rttS: 0.01 });

/** Feeds the aggregator and the shared measurements together, as the orchestrator does. */
function aggregator(plans: ParticipantPlan[]): {
  agg: RunAggregator;
  measurements: Measurements;
  onEvent: (room: string, identity: string, event: ParticipantEvent, t?: number) => void;
  onSample: (s: WindowSample) => void;
} {
  const measurements = new Measurements();
  measurements.setRunWindow(0);
  const agg = new RunAggregator(plans, 5000, measurements);
  return {
    agg,
    measurements,
    onEvent: (room, identity, event, t = 0) => {
      agg.onEvent(room, identity, event, t);
      measurements.onEvent({ t, room, participant: identity, role: "subscriber", worker: 0 }, event);
    },
    onSample: (s) => {
      agg.onSample(s);
      measurements.onSample(s);
    },
  };
}

describe("RunAggregator", () => {
  it("E2EE: a participant whose cryptor cannot decrypt is listed once per publisher, and its whole packets are not loss", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.1 });
    onEvent("r1", "b", { type: "joined", joinS: 0.1 });
    onEvent("r1", "b", { type: "e2ee", from: "pub-1", state: "ok" });
    onEvent("r1", "a", { type: "e2ee", from: "pub-2", state: "missing_key" });
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "decryption_failed" });
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "decryption_failed" });
    onSample(sample("a", 5000, [audio(500, 0)]));
    const s = agg.summary(10_000);
    expect(s.decryptionFailures).toEqual([{ room: "r1", participant: "a", from: ["pub-1", "pub-2"] }]);
    expect(s.counters.e2ee_decryption_failures).toBe(2);
    expect(s.loss.audio).toEqual({ lost: 0, expected: 500, ratio: 0 });
  });

  it("E2EE: a cryptor that decrypts again is listed as recovered, not as failing; the last state holds", () => {
    const { agg, onEvent } = aggregator([plan("a"), plan("b"), plan("c")]);
    // a: fails on pub-1's frames around a ratchet, then follows it (key_ratcheted) and decrypts
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "ok" });
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "decryption_failed" });
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "key_ratcheted" });
    // b: fails, recovers, fails again and stays so at the end
    onEvent("r1", "b", { type: "e2ee", from: "pub-1", state: "decryption_failed" });
    onEvent("r1", "b", { type: "e2ee", from: "pub-1", state: "ok" });
    onEvent("r1", "b", { type: "e2ee", from: "pub-1", state: "decryption_failed" });
    // c: a publisher ratcheting its own key three times, and c's cryptor following pub-1 twice
    for (let i = 0; i < 3; i++) onEvent("r1", "c", { type: "e2ee", from: "c", state: "key_ratcheted" });
    onEvent("r1", "c", { type: "e2ee", from: "pub-1", state: "key_ratcheted" });
    onEvent("r1", "c", { type: "e2ee", from: "pub-1", state: "key_ratcheted" });
    const s = agg.summary(1000);
    expect(s.decryptionFailures).toEqual([{ room: "r1", participant: "b", from: ["pub-1"] }]);
    expect(s.decryptionRecovered).toEqual([{ room: "r1", participant: "a", from: ["pub-1"] }]);
    expect(s.counters).toMatchObject({
      // pairs that ever failed, once each; recoveries each time
      e2ee_decryption_failures: 2,
      e2ee_decryption_recoveries: 2,
      e2ee_key_ratchets: 3,
      // a's and c's cryptors following pub-1's ratchets, once per pair
      e2ee_ratchets_followed: 2,
    });
  });

  it("E2EE: an internal error on a remote publisher's frames is a decryption failure; one on its own cryptor is not", () => {
    const { agg, onEvent } = aggregator([plan("a"), plan("b")]);
    // a's worker drops pub-1's frames (livekit-client: encryption state unknown for the track)
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "internal_error" });
    // b's own key ratchet threw
    onEvent("r1", "b", { type: "e2ee", from: "b", state: "internal_error" });
    const s = agg.summary(1000);
    expect(s.decryptionFailures).toEqual([{ room: "r1", participant: "a", from: ["pub-1"] }]);
    expect(s.counters.e2ee_decryption_failures).toBe(1);
  });

  it("E2EE: a run where every cryptor is fine has no decryptionFailures at all", () => {
    const { agg, onEvent } = aggregator([plan("a")]);
    onEvent("r1", "a", { type: "e2ee", from: "pub-1", state: "ok" });
    expect(agg.summary(1000)).not.toHaveProperty("decryptionFailures");
    expect(agg.summary(1000)).not.toHaveProperty("decryptionRecovered");
  });

  it("loss over the run is a ratio of sums; per-participant loss is each one's own ratio of sums", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.1 });
    onEvent("r1", "b", { type: "joined", joinS: 0.3 });
    // a: 10 of 1000 lost; b: 50 of 100 lost. A mean of ratios would say 25.5%.
    onSample(sample("a", 5000, [audio(500, 5)]));
    onSample(sample("a", 10_000, [audio(500, 5)]));
    onSample(sample("b", 5000, [audio(100, 50)]));
    const s = agg.summary(20_000);
    expect(s.loss.audio).toEqual({ lost: 60, expected: 1100, ratio: 60 / 1100 });
    const perParticipant = s.figures.find(
      (f) => f.metric === "lkswarm_inbound_loss_ratio" && f.kind === "audio",
    );
    expect(perParticipant).toMatchObject({ population: "participants", n: 2, p50: 0.01, max: 0.5 });
  });

  it("jitter percentiles are over track-windows and leave out windows with no packets", () => {
    const { agg, onSample } = aggregator([plan("a")]);
    onSample(sample("a", 5000, [audio(100, 0, 0.004)]));
    onSample(sample("a", 10_000, [audio(100, 0, 0.008)]));
    onSample(sample("a", 15_000, [{ ...audio(0, 0, 0.5), received: 0 }]));
    const jitter = agg
      .summary(20_000)
      .figures.find((f) => f.metric === "lkswarm_inbound_jitter_seconds" && f.kind === "audio");
    expect(jitter).toMatchObject({ population: "windows", n: 2, max: 0.008 });
  });

  it("counts join failures and disconnects by reason, and tracks that never received", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b"), plan("c")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.1 });
    onEvent("r1", "a", { type: "first-packet", kind: "audio", afterJoinStartS: 0.4 });
    onSample(sample("a", 5000, [audio(100, 0)]));
    onEvent("r1", "b", { type: "join-failed", reason: "unauthorized", message: "401" });
    onEvent("r1", "c", { type: "joined", joinS: 0.2 });
    onEvent("r1", "c", { type: "disconnected", reason: "server_shutdown" });
    const s = agg.summary(20_000);
    expect(s.participants).toMatchObject({
      planned: 3,
      joined: 2,
      connectedAtEnd: 1,
      joinFailures: { unauthorized: 1 },
      disconnects: { server_shutdown: 1 },
    });
    expect(s.tracks.expected.audio).toBe(2);
    expect(s.tracks.receiving.audio).toBe(1);
  });

  it("says a track receives from its windows, not from its first-packet event", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b"), plan("c")]);
    for (const id of ["a", "b", "c"]) onEvent("r1", id, { type: "joined", joinS: 0.1 }, 1000);
    // a: packets throughout, first packet timed; b: packets but its first packet came after the
    // fast poll (no event); c: received early, silent in its last window
    onEvent("r1", "a", { type: "first-packet", kind: "audio", afterJoinStartS: 0.5 }, 1500);
    for (const t of [5000, 10_000]) {
      onSample(sample("a", t, [audio(100, 0)]));
      onSample(sample("b", t, [audio(100, 0)]));
    }
    onSample(sample("c", 5000, [audio(100, 0)]));
    onSample(sample("c", 10_000, [{ ...audio(0, 0), received: 0 }]));
    const s = agg.summary(20_000);
    expect(s.tracks.expected.audio).toBe(3);
    expect(s.tracks.receiving.audio).toBe(2);
    expect(s.tracks.everReceived.audio).toBe(3);
  });

  it("counts nobody gone before the end as receiving at the end: a browser that exited at 5 s", () => {
    const { agg, onEvent, onSample } = aggregator([plan("pub", "publisher"), plan("a"), plan("b")]);
    for (const id of ["pub", "a", "b"]) onEvent("r1", id, { type: "joined", joinS: 0.1 }, 1000);
    onSample(sample("a", 5000, [audio(100, 0)]));
    onSample(sample("b", 5000, [audio(100, 0)]));
    onEvent("r1", "b", { type: "disconnected", reason: "browser_exited" }, 5500);
    onSample(sample("a", 20_000, [audio(100, 0)]));
    const s = agg.summary(30_000);
    expect(s.tracks.receiving.audio).toBe(1);
    expect(s.tracks.everReceived.audio).toBe(2);
    expect(s.participants).toMatchObject({
      joined: 3,
      connectedAtEnd: 2,
      disconnects: { browser_exited: 1 },
    });
    // b was with the publisher 4.5 s only: its track was never owed, and a's arrived
    expect(s.tracks.owed).toEqual({ audio: 1, video: 0 });
    expect(s.tracks.neverReceived).toEqual({ audio: 0, video: 0 });
  });

  it("reads the end from the last half interval: a drain sample 17 ms after the periodic one does not stop a track", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b")]);
    for (const id of ["a", "b"]) onEvent("r1", id, { type: "joined", joinS: 0.1 }, 1000);
    for (const t of [5000, 10_000]) {
      onSample(sample("a", t, [audio(250, 0)]));
      onSample(sample("b", t, [audio(250, 0)]));
    }
    const silent = { ...audio(0, 0), received: 0 };
    // a: the drain's last sample came 17 ms after the periodic one, too short to hold a packet
    onSample({ ...sample("a", 10_017, [silent]), durationMs: 17 });
    // b: a last window of 3 s without packets: the track stopped
    onSample({ ...sample("b", 13_000, [silent]), durationMs: 3000 });
    const s = agg.summary(20_000);
    expect(s.tracks.receiving.audio).toBe(1);
    expect(s.tracks.everReceived.audio).toBe(2);
  });

  it("leaves windows under half an interval out of the frame rate: 1 frame in 17 ms is not 59 frames/s", () => {
    const video = { ...plan("v"), expectedTracks: { audio: 0, video: 1 } };
    const { agg, onEvent, onSample } = aggregator([video]);
    onEvent("r1", "v", { type: "joined", joinS: 0.1 }, 0);
    const frames = (n: number): InboundTrackSample =>
      inboundTrack({ key: "v1", kind: "video", expected: n * 3, lost: 0, bytes: 1000, framesDecoded: n });
    onSample(sample("v", 5000, [frames(100)]));
    onSample({ ...sample("v", 5017, [frames(1)]), durationMs: 17 });
    const s = agg.summary(10_000);
    expect(s.tracks.receiving.video).toBe(1);
    const fps = s.figures.find((f) => f.label === "frame rate");
    expect(fps?.max).toBe(20);
  });

  it("counts a track without a first packet by the end as censored, never drops it", () => {
    const { agg, onEvent } = aggregator([plan("a"), plan("b"), plan("c"), plan("d")]);
    for (const id of ["a", "b", "c"]) onEvent("r1", id, { type: "joined", joinS: 0.5 }, 2000);
    onEvent("r1", "a", { type: "first-packet", kind: "audio", afterJoinStartS: 1 }, 2500);
    // b's first packet came late, seen by the regular sampler at a window's end
    onEvent("r1", "b", { type: "first-packet", kind: "audio", afterJoinStartS: 12, late: true }, 13_500);
    // c never received: in the run from its join start (1.5 s) to the end (20 s), so > 18.5 s
    const s = agg.summary(20_000);
    const first = s.figures.find(
      (f) => f.metric === "lkswarm_time_to_first_packet_seconds" && f.kind === "audio",
    );
    expect(first).toMatchObject({ population: "tracks", n: 3, p50: 12, max: 18.5, avg: undefined });
    expect(first?.censored).toEqual({ n: 1, above: ["p95", "p99", "max"] });
    // d (scheduled at 0) never joined: its join time is > 20 s, and the population is 4
    const join = s.figures.find((f) => f.metric === "lkswarm_join_duration_seconds");
    expect(join).toMatchObject({ population: "participants", n: 4, p50: 0.5, max: 20 });
    // n = 4: p95 is rank 4, the censored one
    expect(join?.censored).toEqual({ n: 1, above: ["p95", "p99", "max"] });
  });

  it("the gate reads the summary's population: a p95 on a censored track fails, with the summary's bound", () => {
    const { agg, measurements, onEvent } = aggregator([plan("a"), plan("b"), plan("c")]);
    for (const id of ["a", "b", "c"]) onEvent("r1", id, { type: "joined", joinS: 0.5 }, 2000);
    onEvent("r1", "a", { type: "first-packet", kind: "audio", afterJoinStartS: 1 }, 2500);
    onEvent("r1", "b", { type: "first-packet", kind: "audio", afterJoinStartS: 1.2 }, 2700);
    const first = agg
      .summary(20_000)
      .figures.find((f) => f.metric === "lkswarm_time_to_first_packet_seconds" && f.kind === "audio");
    const [result] = evaluate(
      [parseThreshold("lkswarm_time_to_first_packet_seconds{kind=audio} p95 over tracks < 30s")],
      measurements,
    ).results;
    // c never received: > 18.5 s, under the 30 s limit, and yet it cannot be shown to pass
    expect(first).toMatchObject({ n: 3, p95: 18.5, censored: { n: 1, above: ["p95", "p99", "max"] } });
    expect(result).toMatchObject({ status: "fail", observed: first?.p95, n: 3, censored: true });
    // over the observed two only, as the gate read it before, p95 was 1.2 s: a pass
    expect(result?.message).toContain("censored: at least 18.5 s, the run ended before it was observed");
  });

  it("a participant still reconnecting at the end has a censored reconnect time", () => {
    const { agg, measurements, onEvent } = aggregator([plan("a"), plan("b")]);
    for (const id of ["a", "b"]) onEvent("r1", id, { type: "joined", joinS: 0.5 }, 1000);
    onEvent("r1", "a", { type: "reconnecting" }, 5000);
    onEvent("r1", "a", { type: "reconnected", durationS: 1.5 }, 6500);
    onEvent("r1", "b", { type: "reconnecting" }, 12_000);
    onEvent("r1", "b", { type: "reconnecting" }, 13_000);
    const summary = agg.summary(20_000);
    // a is back; b is not connected at the end, and has been trying for 8 s
    expect(summary.participants).toMatchObject({ connectedAtEnd: 1, reconnectingAtEndS: [8], reconnects: 2 });
    const reconnect = summary.figures.find((f) => f.metric === "lkswarm_reconnect_duration_seconds");
    // b began reconnecting at 12 s and had not reconnected at 20 s: > 8 s
    expect(reconnect).toMatchObject({
      n: 2,
      p50: 1.5,
      max: 8,
      censored: { n: 1, above: ["p95", "p99", "max"] },
    });
    const [r] = evaluate(
      [parseThreshold("lkswarm_reconnect_duration_seconds max over participants < 10s")],
      measurements,
    ).results;
    expect(r).toMatchObject({ status: "fail", observed: 8, censored: true });
  });

  it("reports no censoring when every track and participant has its time", () => {
    const { agg, onEvent } = aggregator([plan("a")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.5 }, 2000);
    onEvent("r1", "a", { type: "first-packet", kind: "audio", afterJoinStartS: 1 }, 2500);
    const first = agg
      .summary(20_000)
      .figures.find((f) => f.metric === "lkswarm_time_to_first_packet_seconds" && f.kind === "audio");
    expect(first).toMatchObject({ n: 1, p95: 1, avg: 1 });
    expect(first?.censored).toBeUndefined();
  });

  it("an empty run reports n = 0 and no values, never NaN", () => {
    const s = aggregator([plan("a")]).agg.summary(20_000);
    for (const f of s.figures) {
      if (f.metric === "lkswarm_join_duration_seconds") {
        // the participant never joined: counted, its join time only known to be > 20 s
        expect(f).toMatchObject({ n: 1, p50: 20, censored: { n: 1, above: ["p50", "p95", "p99", "max"] } });
        continue;
      }
      expect(f.n).toBe(0);
      expect(f.p50).toBeUndefined();
    }
    expect(s.loss.audio.ratio).toBeUndefined();
  });
});

describe("RunAggregator: wire bitrate, frame rate, received height and freeze time", () => {
  const video = (fields: Partial<InboundTrackSample>): InboundTrackSample =>
    inboundTrack({ key: "v1", kind: "video", expected: 100, received: 100, bytes: 10_000, ...fields });

  it("reports the wire bitrate beside the payload one, and frame rate and height over video track-windows", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.1 });
    const w = (t: number, height: number): WindowSample => ({
      ...sample("a", t, [video({ headerBytes: 1_000, framesDecoded: 75, height })]),
      durationMs: 5000,
    });
    onSample(w(5000, 360));
    onSample(w(10_000, 720));
    const s = agg.summary(20_000);
    const figure = (label: string) => s.figures.find((f) => f.label === label);
    // 20 000 payload bytes over the 10 s the participant was seen: 16 kbit/s; on the wire 2 000 RTP
    // header bytes more and 38 bytes (IPv4, UDP, SRTP tag) for each of the 200 packets: 29 600
    expect(figure("bitrate in")?.p50).toBe(16_000);
    expect(figure("wire bitrate in")?.p50).toBe(23_680);
    expect(s.timeline.map((p) => p.wireBitrateInBps)).toEqual([(14_800 * 8) / 5, (14_800 * 8) / 5]);
    expect(figure("frame rate")).toMatchObject({ kind: "video", population: "windows", n: 2, p50: 15 });
    expect(figure("received height")).toMatchObject({ n: 2, min: 360, max: 720 });
    expect(s.counters.in_retransmitted_video).toBe(0);
  });

  it("a subscriber's video with no packet at all after it had come is a stall: loss there unknown, not 0; audio silences are not", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.1 });
    onEvent("r1", "b", { type: "joined", joinS: 0.1 });
    const w = (participant: string, t: number, inbound: InboundTrackSample[]): WindowSample => ({
      ...sample(participant, t, inbound),
      durationMs: 5000,
    });
    const none = video({ expected: 0, received: 0, lost: 0, bytes: 0 });
    // a: video, then two windows with the track still there and nothing on it, then video again
    onSample(w("a", 5000, [video({})]));
    onSample(w("a", 10_000, [none, audio(50, 0)]));
    onSample(w("a", 15_000, [none]));
    onSample(w("a", 20_000, [video({})]));
    // b: nothing before its first packets is no stall; its audio going silent is none either;
    // its video track gone (unsubscribed) is none
    onSample(w("b", 5000, [none]));
    onSample(w("b", 10_000, [video({}), audio(50, 0)]));
    onSample(w("b", 15_000, [video({}), audio(0, 0)]));
    onSample(w("b", 20_000, [audio(50, 0)]));
    const s = agg.summary(20_000);
    expect(s.loss.video).toMatchObject({ lost: 0, ratio: 0, stalled: { participants: 1, seconds: 10 } });
    expect(s.loss.audio.stalled).toBeUndefined();
  });

  it("has no stall when every video window had packets", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a")]);
    onEvent("r1", "a", { type: "joined", joinS: 0.1 });
    for (const t of [5000, 10_000]) onSample({ ...sample("a", t, [video({})]), durationMs: 5000 });
    expect(agg.summary(10_000).loss.video.stalled).toBeUndefined();
  });

  it("reads a bucket's rate over each participant's own windows: slipped rounds and a drain window change no rate", () => {
    const { agg, onSample } = aggregator([plan("a"), plan("b")]);
    // both receive 1 000 bytes/s (8 kbit/s) throughout, on the wire too (no header bytes counted)
    const w = (participant: string, t: number, durationMs: number): WindowSample => ({
      ...sample(participant, t, [
        inboundTrack({
          key: "a1",
          kind: "audio",
          expected: 50,
          bytes: durationMs,
          headerBytes: 0,
          received: 0,
        }),
      ]),
      durationMs,
    });
    // a: on time; b: its round slipped, so its windows are 3 s and then 7 s long; bucket 5 000 holds
    // 5 s of a and 3 s of b, bucket 10 000 5 s of a and 7 s of b; the old bytes-over-bucket figure read
    // 12.8 and 19.2 kbit/s
    onSample(w("a", 9_000, 5_000));
    onSample(w("b", 8_000, 3_000));
    onSample(w("a", 14_000, 5_000));
    onSample(w("b", 14_500, 6_500));
    // the drain: 17 ms windows in a bucket of their own; they join each participant's window before
    onSample(w("a", 15_017, 17));
    onSample(w("b", 15_010, 10));
    const t = agg.summary(16_000).timeline;
    expect(t.map((p) => p.t)).toEqual([5_000, 10_000]);
    expect(t.map((p) => p.participants)).toEqual([2, 2]);
    for (const p of t) {
      expect(p.bitrateInBps).toBeCloseTo(16_000, 6);
      expect(p.wireBitrateInBps).toBeCloseTo(16_000, 6);
    }
  });

  it("keeps a long run's timeline to MOST_TIMELINE_POINTS: points of doubled steps, loss from summed packets, a one-bucket jitter spike kept as the worst", () => {
    const { agg, onSample } = aggregator([plan("a"), plan("b")]);
    const buckets = 12_000; // 16 h 40 min of 5 s windows: 5 s, 10 s and 20 s steps would hold too many
    const spike = 7777;
    for (let i = 1; i <= buckets; i++) {
      onSample(sample("a", i * 5000, [audio(50, i % 5, i === spike ? 0.9 : 0.001 * (i % 7))]));
      onSample(sample("b", i * 5000 + 1, [audio(50, 0, 0.002)]));
    }
    const s = agg.summary(buckets * 5000 + 5000);
    expect(s.timelineStepMs).toBe(40_000);
    expect(s.timeline.length).toBeLessThanOrEqual(MOST_TIMELINE_POINTS);
    expect(s.timeline).toHaveLength(1501); // steps 0 .. 1500: bucket i is in step floor(i / 8)
    for (const point of s.timeline) {
      expect(point.t % 40_000).toBe(0);
      const inStep = [...Array(8).keys()]
        .map((k) => point.t / 5000 + k)
        .filter((i) => i >= 1 && i <= buckets);
      const lost = inStep.reduce((a, i) => a + (i % 5), 0);
      expect(point.lossAudio).toBeCloseTo(lost / (100 * inStep.length), 12);
      expect(point.participants).toBe(2);
      const worstJitter = Math.max(0.002, ...inStep.map((i) => (i === spike ? 0.9 : 0.001 * (i % 7))));
      expect(point.jitterP95S).toBeCloseTo(worstJitter, 12);
    }
    expect(s.timeline.filter((p) => (p.jitterP95S ?? 0) > 0.5).map((p) => p.t)).toEqual([
      Math.floor(spike / 8) * 40_000,
    ]);
  });

  it("merges timeline points weighting each rate by the buckets it spans", () => {
    const point = (t: number, bitrateInBps: number) => ({
      t,
      participants: 1,
      lossAudio: undefined,
      lossVideo: undefined,
      jitterP95S: undefined,
      bitrateInBps,
      wireBitrateInBps: undefined,
      bitrateOutBps: 0,
      latencyP50S: undefined,
    });
    const none = { audio: 0, video: 0 };
    const merged = coarsen(
      [
        { point: point(0, 100), lost: none, expected: none, buckets: 3 },
        { point: point(15_000, 200), lost: none, expected: none, buckets: 1 },
        { point: point(20_000, 50), lost: none, expected: none, buckets: 1 },
      ],
      20_000,
    );
    expect(merged.map((m) => [m.point.t, m.point.bitrateInBps, m.buckets])).toEqual([
      [0, 125, 4],
      [20_000, 50, 1],
    ]);
  });

  it("seals the timeline's buckets a minute behind the newest window: a point each, the same figures, a late window counted in the totals only", () => {
    const { agg, onSample } = aggregator([plan("a"), plan("b")]);
    const buckets = 120; // ten minutes of 5 s windows
    for (let i = 1; i <= buckets; i++) {
      onSample(sample("a", i * 5000, [audio(50, i % 5, 0.001 * (i % 7))]));
      onSample(sample("b", i * 5000 + 1, [audio(50, 0, 0.002)]));
    }
    const open = (agg as unknown as { timeline: Map<number, unknown> }).timeline;
    // a minute and the bucket being filled: the rest are points, their windows' values dropped
    expect(open.size).toBeLessThanOrEqual(14);
    const before = agg.summary(buckets * 5000 + 5000);
    expect(before.timeline).toHaveLength(buckets);
    before.timeline.forEach((point, index) => {
      const i = index + 1;
      expect(point.t).toBe(i * 5000);
      expect(point.participants).toBe(2);
      expect(point.lossAudio).toBeCloseTo((i % 5) / 100, 12);
      // nearest-rank p95 of two windows: the larger
      expect(point.jitterP95S).toBeCloseTo(Math.max(0.001 * (i % 7), 0.002), 12);
    });
    // a window that arrives 10 minutes late: in the run's loss, not in its sealed bucket
    onSample(sample("b", 7_000, [audio(50, 25, 0.5)]));
    const after = agg.summary(buckets * 5000 + 5000);
    expect(after.timeline).toEqual(before.timeline);
    expect(after.counters.timeline_late_windows).toBe(1);
    expect(after.loss.audio.lost).toBe(before.loss.audio.lost + 25);
    expect(after.loss.audio.expected).toBe(before.loss.audio.expected + 50);
  });

  it("leaves freeze time unknown (absent) when no window measured it, and sums it when some did", () => {
    const none = aggregator([plan("a")]);
    none.onSample(sample("a", 5000, [video({ freezes: 3, freezeS: undefined })]));
    expect(none.agg.summary(20_000).counters).toMatchObject({ freezes: 3, freezes_time_unknown: 3 });
    expect(none.agg.summary(20_000).counters.freeze_seconds).toBeUndefined();

    const some = aggregator([plan("a")]);
    some.onSample(sample("a", 5000, [video({ freezes: 1, freezeS: 0.4 })]));
    some.onSample(sample("a", 10_000, [video({ freezes: 2, freezeS: undefined })]));
    expect(some.agg.summary(20_000).counters).toMatchObject({
      freezes: 3,
      freeze_seconds: 0.4,
      freeze_measured_windows: 1,
      freezes_time_unknown: 2,
    });
  });
});

describe("RunAggregator: lean's frames are assembled, not decoded", () => {
  it("counts a lean subscriber's video with frames as assembled, never decoding, and marks the windows and freeze time it gave", () => {
    const lean = (identity: string): ParticipantPlan => ({
      ...plan(identity),
      engine: "lean",
      expectedTracks: { audio: 0, video: 1 },
    });
    const native = { ...plan("n"), expectedTracks: { audio: 0, video: 1 }, probe: true };
    const { agg, onEvent, onSample } = aggregator([lean("a"), lean("b"), native]);
    for (const who of ["a", "b", "n"]) onEvent("r1", who, { type: "joined", joinS: 0.1 });
    const video = (fields: Partial<InboundTrackSample>): InboundTrackSample =>
      inboundTrack({ key: "v1", kind: "video", expected: 100, received: 100, bytes: 10_000, ...fields });
    onSample(sample("a", 5000, [video({ framesDecoded: 100, freezes: 1, freezeS: 0.3 })]));
    onSample(sample("b", 5000, [video({ framesDecoded: 0, received: 0, expected: 0 })]));
    onSample(sample("n", 5000, [video({ framesDecoded: 60, freezes: 2, freezeS: 1.1 })]));
    const s = agg.summary(10_000);
    expect(s.tracks).toMatchObject({ decodingVideo: 1, assembledVideo: 1 });
    // each engine's frame rate apart (5 s windows): lean's 100 frames, native's 60; b had no packets
    expect(s.groups?.engines?.map((g) => [g.name, g.frameRateP50])).toEqual(
      expect.arrayContaining([
        ["lean", 20],
        ["native", 12],
      ]),
    );
    // b received nothing in its window: no frame rate of lean's, but its (empty) freeze window is lean's
    expect(s.counters).toMatchObject({
      lean_video_windows: 1,
      freeze_measured_windows: 3,
      freeze_measured_windows_lean: 2,
    });
    // Chromium times freezes on every browser subscriber: those windows are said to be theirs
    const browser = aggregator([{ ...native, identity: "b", probe: false, engine: "browser" }]);
    browser.onEvent("r1", "b", { type: "joined", joinS: 0.1 });
    browser.onSample(sample("b", 5000, [video({ framesDecoded: 60, freezeS: 0.2, freezes: 1 })]));
    expect(browser.agg.summary(10_000).counters).toMatchObject({
      freeze_measured_windows: 1,
      freeze_measured_windows_browser: 1,
    });
    // a run with no lean participant says nothing of lean
    const only = aggregator([native]);
    only.onEvent("r1", "n", { type: "joined", joinS: 0.1 });
    only.onSample(sample("n", 5000, [video({ framesDecoded: 60, freezeS: 0 })]));
    const o = only.agg.summary(10_000);
    expect(o.tracks.assembledVideo).toBeUndefined();
    expect(o.counters.lean_video_windows).toBeUndefined();
  });
});

describe("RunAggregator groups and markers", () => {
  const inRoom = (room: string, identity: string): ParticipantPlan => ({ ...plan(identity), room });

  it("puts the room with loss first, with its node, reconnects and jitter p95 over its own windows", () => {
    const { agg, onEvent, onSample } = aggregator([
      inRoom("calm", "a"),
      inRoom("lossy", "b"),
      inRoom("lossy", "c"),
    ]);
    onEvent("calm", "a", { type: "joined", joinS: 0.2, nodeId: "ND_one" });
    onEvent("lossy", "b", { type: "joined", joinS: 0.4, nodeId: "ND_two" });
    onEvent("lossy", "c", { type: "joined", joinS: 0.6, nodeId: "ND_two" });
    onSample({ ...sample("a", 5000, [audio(1000, 0, 0.002)]), room: "calm" });
    onSample({ ...sample("b", 5000, [audio(1000, 100, 0.02)]), room: "lossy" });
    onSample({ ...sample("c", 5000, [audio(1000, 0, 0.01)]), room: "lossy" });
    onEvent("lossy", "b", { type: "reconnecting" }, 6000);
    onEvent("lossy", "b", { type: "reconnecting" }, 6100);
    const groups = agg.summary(10_000).groups;
    expect(groups?.rooms.map((r) => r.name)).toEqual(["lossy", "calm"]);
    expect(groups?.rooms[0]).toMatchObject({
      participants: 2,
      joined: 2,
      lossRatio: 100 / 2000,
      reconnects: 1,
    });
    expect(groups?.rooms[0]?.jitterP95S).toBeGreaterThan(0.01);
    expect(groups?.rooms[1]).toMatchObject({ lossRatio: 0, jitterP95S: 0.002 });
    expect(groups?.nodes.map((n) => [n.name, n.participants])).toEqual([
      ["ND_two", 2],
      ["ND_one", 1],
    ]);
    expect(groups?.roles.map((r) => r.name)).toEqual(["subscriber"]);
  });

  it("groups participants by the transport class of their last selected pair, samples included", () => {
    const { agg, onEvent, onSample } = aggregator([plan("a"), plan("b"), plan("c"), plan("d")]);
    const tcp = { local: "host", remote: "host", protocol: "tcp" } as const;
    onEvent("r1", "a", { type: "joined", joinS: 0.2 });
    onEvent("r1", "a", {
      type: "transport",
      transport: "udp",
      local: "host",
      remote: "host",
      protocol: "udp",
      iceS: 0.05,
    });
    onEvent("r1", "b", { type: "joined", joinS: 0.9 });
    onEvent("r1", "b", { type: "transport", transport: "tcp", ...tcp });
    onEvent("r1", "c", { type: "joined", joinS: 0.7 });
    onEvent("r1", "d", { type: "join-failed", reason: "timeout", message: "no answer" });
    onSample(sample("a", 5000, [audio(1000, 0, 0.002)]));
    onSample(sample("b", 5000, [audio(1000, 10, 0.03)]));
    // c told no event; its sample names the class (the pair was first read by the sampler)
    onSample({ ...sample("c", 5000, [audio(1000, 30, 0.01)]), transport: "tcp" });
    const transports = agg.summary(10_000).groups?.transports;
    expect(transports?.map((g) => [g.name, g.participants, g.joined])).toEqual([
      ["tcp", 2, 2],
      ["udp", 1, 1],
    ]);
    expect(transports?.[0]).toMatchObject({ lossRatio: 40 / 2000, joinP95S: 0.9, jitterP95S: 0.03 });
    expect(transports?.[1]).toMatchObject({ lossRatio: 0, joinP95S: 0.2, jitterP95S: 0.002, iceP95S: 0.05 });
    // no engine timed the tcp participants' ICE: unknown, not 0
    expect(transports?.[0]?.iceP95S).toBeUndefined();
  });

  it("with client network profiles, a row per profile and path, and the profile's participants with no path as none", () => {
    const behind = (identity: string, profile: "open" | "udp-blocked" | "tcp-only"): ParticipantPlan => ({
      ...plan(identity),
      profile,
    });
    const { agg, onEvent } = aggregator([
      behind("a", "open"),
      behind("b", "udp-blocked"),
      behind("c", "udp-blocked"),
      behind("d", "tcp-only"),
    ]);
    const pair = (protocol: "udp" | "tcp") => ({ local: "host", remote: "host", protocol }) as const;
    onEvent("r1", "a", { type: "joined", joinS: 0.2 });
    onEvent("r1", "a", { type: "transport", transport: "udp", ...pair("udp") });
    for (const id of ["b", "c"]) {
      onEvent("r1", id, { type: "joined", joinS: 0.3 });
      onEvent("r1", id, { type: "transport", transport: "tcp", ...pair("tcp") });
    }
    onEvent("r1", "d", {
      type: "join-failed",
      reason: "no_transport",
      message: "wait_pc_connection timed out",
    });
    const transports = agg.summary(10_000).groups?.transports;
    expect(transports?.map((g) => [g.name, g.participants, g.joined])).toEqual([
      ["tcp-only none", 1, 0],
      ["udp-blocked tcp", 2, 2],
      ["open udp", 1, 1],
    ]);
    expect(transportText(transports ?? [])).toMatch(/^tcp-only none\s+0 of 1\s/m);
  });

  it("puts a room whose participants never joined before any room with loss", () => {
    const { agg, onEvent, onSample } = aggregator([inRoom("lossy", "a"), inRoom("empty", "b")]);
    onEvent("lossy", "a", { type: "joined", joinS: 0.2 });
    onSample({ ...sample("a", 5000, [audio(1000, 500)]), room: "lossy" });
    onEvent("empty", "b", { type: "join-failed", reason: "timeout", message: "no answer" });
    expect(agg.summary(10_000).groups?.rooms.map((r) => r.name)).toEqual(["empty", "lossy"]);
  });

  it("counts a participant its worker took while it joined as a failed join, not a lost link", () => {
    // d's turn to join came after its worker died: it never began
    const { agg, onEvent } = aggregator([plan("a"), plan("b"), plan("c"), { ...plan("d"), joinAtMs: 3500 }]);
    onEvent("r1", "a", { type: "joined", joinS: 0.4 }, 1000);
    onEvent("r1", "c", { type: "join-failed", reason: "timeout", message: "no answer" }, 1500);
    onEvent("r1", "a", { type: "disconnected", reason: "worker_died" }, 3000);
    // what the orchestrator says of those not in (Standings), and what an older events.jsonl said
    const cutOff = { type: "join-failed", reason: "worker_died", message: "its worker died" } as const;
    onEvent("r1", "b", cutOff, 3000);
    onEvent("r1", "c", { type: "disconnected", reason: "worker_died" }, 3000);
    onEvent("r1", "d", cutOff, 3000);
    const s = agg.summary(10_000);
    expect(s.participants).toMatchObject({
      planned: 4,
      joined: 1,
      connectedAtEnd: 0,
      disconnects: { worker_died: 1 },
      // c had failed already: its own reason stays, and it is counted once
      joinFailures: { worker_died: 2, timeout: 1 },
      lostJoining: 2,
    });
    expect(s.markers?.map((m) => m.kind)).toEqual(["worker-died"]);
    // b's join was cut off at 3 s, not at the run's end: > 3 s; c's failed join, > 10 s; d is in none
    const join = s.figures.find((f) => f.metric === "lkswarm_join_duration_seconds");
    expect(join).toMatchObject({ n: 3, p50: 3, max: 10, censored: { n: 2 } });
  });

  it("counts participants whose turn to join had not come when the run ended as not due, in no join figure", () => {
    // stopped 5 s in: a joined, b joining since 2 s, c and d due at 5 and 9 s
    const late = (id: string, joinAtMs: number): ParticipantPlan => ({ ...plan(id), joinAtMs });
    const { agg, onEvent } = aggregator([plan("a"), late("b", 2000), late("c", 5000), late("d", 9000)]);
    onEvent("r1", "a", { type: "joined", joinS: 0.4 }, 1000);
    const s = agg.summary(5000);
    expect(s.participants).toMatchObject({ planned: 4, joined: 1, notDue: 2, joinFailures: {} });
    const join = s.figures.find((f) => f.metric === "lkswarm_join_duration_seconds");
    expect(join).toMatchObject({ n: 2, max: 3, censored: { n: 1 } });
    // a run that reached its end has none
    expect(aggregator([plan("a")]).agg.summary(5000).participants.notDue).toBeUndefined();
    // stopped at 5 s and drained until 8 s: d (due at 9 s) and c (5 s) were still not due at the stop
    const drained = aggregator([plan("a"), late("c", 5000), late("d", 9000), late("e", 6000)]);
    drained.onEvent("r1", "a", { type: "joined", joinS: 0.4 }, 1000);
    expect(drained.agg.summary(8000, 5000).participants).toMatchObject({ joined: 1, notDue: 3 });
  });

  it("marks a dead worker once and a reconnect burst where several participants began reconnecting", () => {
    const { agg, onEvent } = aggregator([plan("a"), plan("b"), plan("c")]);
    for (const id of ["a", "b"]) onEvent("r1", id, { type: "disconnected", reason: "worker_died" }, 7000);
    for (const id of ["a", "b"]) onEvent("r1", id, { type: "reconnecting" }, 2000);
    onEvent("r1", "c", { type: "reconnecting" }, 12_000);
    const s = agg.summary(20_000);
    expect(s.markers?.map((m) => [m.kind, m.t])).toEqual([
      ["reconnect-burst", 0],
      ["worker-died", 7000],
    ]);
    expect(s.markers?.[0]?.detail).toBe("2 participants began reconnecting");
  });

  it("finds reconnect bursts per stats bucket, then places them on the timeline's longer points, summed", () => {
    // 300 planned: a burst is 3 starts in one 5 s bucket. Two bursts and a trickle of 2 a bucket
    const starts = [
      1000, 1100, 1200, 6000, 6100, 6200, 6300, 11_000, 11_100, 16_000, 16_100, 41_000, 41_100, 41_200,
    ];
    expect(reconnectBursts(starts, 5000, 300).map((m) => [m.t, m.detail])).toEqual([
      [0, "3 participants began reconnecting"],
      [5000, "4 participants began reconnecting"],
      [40_000, "3 participants began reconnecting"],
    ]);
    // points of 40 s: the trickle is still no burst however long the point; the two bursts of the first point summed
    expect(reconnectBursts(starts, 5000, 300, 40_000).map((m) => [m.t, m.detail])).toEqual([
      [0, "7 participants began reconnecting"],
      [40_000, "3 participants began reconnecting"],
    ]);
  });
});
