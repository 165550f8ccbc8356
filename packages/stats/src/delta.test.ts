import { lossRatioOfSums, percentile } from "./statistics.js";
import { describe, expect, it } from "vitest";

import { computeWindowDelta } from "./delta.js";
import type { InboundWindow } from "./delta.js";
import { emptySnapshot } from "./snapshot.js";
import type { InboundStreamSample, OutboundStreamSample, RemoteInboundSample, Snapshot } from "./snapshot.js";

const VIDEO_KEY = "inbound:video:444:1:TR_V";

function video(fields: Partial<InboundStreamSample> = {}): InboundStreamSample {
  return {
    key: VIDEO_KEY,
    ssrc: 444,
    kind: "video",
    mid: "1",
    trackIdentifier: "TR_V",
    packetsReceived: 0,
    packetsLost: 0,
    bytesReceived: 0,
    ...fields,
  };
}

function audio(fields: Partial<InboundStreamSample> = {}): InboundStreamSample {
  return {
    key: "inbound:audio:333:0:TR_A",
    ssrc: 333,
    kind: "audio",
    packetsReceived: 0,
    packetsLost: 0,
    bytesReceived: 0,
    ...fields,
  };
}

function snap(timestampMs: number, parts: Partial<Omit<Snapshot, "timestampMs">> = {}): Snapshot {
  return { ...emptySnapshot(timestampMs), ...parts };
}

function onlyInbound(prev: Snapshot, cur: Snapshot): InboundWindow {
  const delta = computeWindowDelta(prev, cur);
  expect(delta.inbound, "expected exactly one inbound window").toHaveLength(1);
  const [window] = delta.inbound;
  if (window === undefined) throw new Error("unreachable");
  return window;
}

describe("computeWindowDelta: inbound basics", () => {
  it("derives counts, expected, loss ratio and bitrate from two snapshots", () => {
    const w = onlyInbound(
      snap(10_000, { inbound: [video({ packetsReceived: 100, packetsLost: 2, bytesReceived: 10_000 })] }),
      snap(15_000, { inbound: [video({ packetsReceived: 600, packetsLost: 7, bytesReceived: 72_500 })] }),
    );
    expect(w).toMatchObject({
      firstSeen: false,
      reset: false,
      durationMs: 5_000,
      packetsReceived: 500,
      packetsLost: 5,
      packetsLostRaw: 5,
      packetsExpected: 505,
      bytesReceived: 62_500,
      bitrate: 100_000, // 62 500 B * 8 / 5 s
    });
    expect(w.lossRatio).toBeCloseTo(5 / 505, 12);
  });

  it("reports NACK, PLI, FIR, frames, freezes, concealment and jitter-buffer deltas", () => {
    const w = onlyInbound(
      snap(0, {
        inbound: [
          video({
            nackCount: 4,
            pliCount: 1,
            firCount: 0,
            framesDecoded: 300,
            framesDropped: 1,
            freezeCount: 1,
            totalFreezesDuration: 0.5,
            jitterBufferDelay: 10,
            jitterBufferEmittedCount: 1_000,
          }),
        ],
      }),
      snap(5_000, {
        inbound: [
          video({
            nackCount: 10,
            pliCount: 3,
            firCount: 1,
            framesDecoded: 450,
            framesDropped: 4,
            freezeCount: 3,
            totalFreezesDuration: 1.75,
            jitterBufferDelay: 12.4,
            jitterBufferEmittedCount: 1_100,
          }),
        ],
      }),
    );
    expect(w).toMatchObject({ nackCount: 6, pliCount: 2, firCount: 1, framesDecoded: 150, framesDropped: 3 });
    expect(w.framesPerSecond).toBe(30);
    expect(w.freezeCount).toBe(2);
    expect(w.totalFreezesDuration).toBeCloseTo(1.25, 12);
    expect(w.freezeRatio).toBeCloseTo(0.25, 12); // 1.25 s frozen in a 5 s window
    expect(w.jitterBufferDelay).toBeCloseTo(0.024, 12); // 2.4 s over 100 frames
    expect(w.concealmentRatio).toBeUndefined();
  });

  it("computes the concealment ratio as Δconcealed / ΔtotalSamplesReceived", () => {
    const w = onlyInbound(
      snap(0, { inbound: [audio({ concealedSamples: 100, totalSamplesReceived: 48_000 })] }),
      snap(5_000, { inbound: [audio({ concealedSamples: 580, totalSamplesReceived: 288_000 })] }),
    );
    expect(w.concealedSamples).toBe(480);
    expect(w.totalSamplesReceived).toBe(240_000);
    expect(w.concealmentRatio).toBeCloseTo(0.002, 12);
  });

  it("leaves the concealment ratio undefined when no samples were received", () => {
    const w = onlyInbound(
      snap(0, { inbound: [audio({ concealedSamples: 100, totalSamplesReceived: 48_000 })] }),
      snap(5_000, { inbound: [audio({ concealedSamples: 100, totalSamplesReceived: 48_000 })] }),
    );
    expect(w.concealmentRatio).toBeUndefined();
  });

  it("leaves a delta undefined when either end lacks the field", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ nackCount: 3 })] }),
      snap(5_000, { inbound: [video({ freezeCount: 2 })] }),
    );
    expect(w.nackCount).toBeUndefined();
    expect(w.freezeCount).toBeUndefined();
  });
});

describe("computeWindowDelta: jitter", () => {
  it("takes jitter as the instantaneous end-of-window value in seconds, never a difference", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ jitter: 0.03 })] }),
      snap(5_000, { inbound: [video({ jitter: 0.012 })] }),
    );
    expect(w.jitter).toBe(0.012);
  });

  it("has no jitter when the stream reports none", () => {
    expect(
      onlyInbound(snap(0, { inbound: [video()] }), snap(5_000, { inbound: [video()] })).jitter,
    ).toBeUndefined();
  });
});

describe("computeWindowDelta: counter resets", () => {
  it("takes every counter from zero and flags reset when packetsReceived goes down", () => {
    const w = onlyInbound(
      snap(0, {
        inbound: [video({ packetsReceived: 1_000, packetsLost: 40, bytesReceived: 900_000, nackCount: 12 })],
      }),
      snap(5_000, {
        inbound: [video({ packetsReceived: 50, packetsLost: 1, bytesReceived: 40_000, nackCount: 2 })],
      }),
    );
    expect(w).toMatchObject({
      reset: true,
      firstSeen: false,
      packetsReceived: 50,
      packetsLost: 1,
      packetsLostRaw: 1,
      packetsExpected: 51,
      bytesReceived: 40_000,
      nackCount: 2,
      bitrate: 64_000, // a lower bound: the old incarnation's last bytes are unobservable
    });
  });

  it("resets the whole stream when any one counter goes down, never mixing bases", () => {
    // packetsReceived happened to climb past its old value, bytesReceived did not: per-counter
    // handling would report 200 packets carrying 100 000 bytes from two different incarnations.
    const w = onlyInbound(
      snap(0, { inbound: [video({ packetsReceived: 1_000, bytesReceived: 900_000 })] }),
      snap(5_000, { inbound: [video({ packetsReceived: 1_200, bytesReceived: 100_000 })] }),
    );
    expect(w).toMatchObject({ reset: true, packetsReceived: 1_200, bytesReceived: 100_000 });
  });

  it("detects a reset from a video-only counter such as framesDecoded", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ packetsReceived: 10, framesDecoded: 500 })] }),
      snap(5_000, { inbound: [video({ packetsReceived: 20, framesDecoded: 3 })] }),
    );
    expect(w).toMatchObject({ reset: true, packetsReceived: 20, framesDecoded: 3 });
  });

  it("does not treat a falling packetsLost as a reset", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ packetsReceived: 100, packetsLost: 10 })] }),
      snap(5_000, { inbound: [video({ packetsReceived: 200, packetsLost: 8 })] }),
    );
    expect(w.reset).toBe(false);
  });

  it("diffs normally again in the window after a reset", () => {
    const s0 = snap(0, { inbound: [video({ packetsReceived: 1_000, bytesReceived: 900_000 })] });
    const s1 = snap(5_000, { inbound: [video({ packetsReceived: 50, bytesReceived: 40_000 })] });
    const s2 = snap(10_000, { inbound: [video({ packetsReceived: 550, bytesReceived: 440_000 })] });
    expect(onlyInbound(s0, s1).reset).toBe(true);
    expect(onlyInbound(s1, s2)).toMatchObject({ reset: false, packetsReceived: 500, bytesReceived: 400_000 });
  });

  it("resets an outbound stream when packetsSent goes down", () => {
    const out = (packetsSent: number, bytesSent: number): OutboundStreamSample => ({
      key: "outbound:video:222:1:f",
      ssrc: 222,
      kind: "video",
      packetsSent,
      bytesSent,
    });
    const [w] = computeWindowDelta(
      snap(0, { outbound: [out(900, 750_000)] }),
      snap(5_000, { outbound: [out(30, 20_000)] }),
    ).outbound;
    expect(w).toMatchObject({ reset: true, packetsSent: 30, bytesSent: 20_000, bitrate: 32_000 });
  });
});

describe("computeWindowDelta: signed packetsLost", () => {
  it("clamps a negative window to zero loss without corrupting the next window", () => {
    // Cumulative loss 10 -> 7 (duplicates outnumber losses) -> 12.
    const s0 = snap(0, { inbound: [video({ packetsReceived: 1_000, packetsLost: 10 })] });
    const s1 = snap(5_000, { inbound: [video({ packetsReceived: 1_500, packetsLost: 7 })] });
    const s2 = snap(10_000, { inbound: [video({ packetsReceived: 2_000, packetsLost: 12 })] });

    const w1 = onlyInbound(s0, s1);
    expect(w1).toMatchObject({ packetsLost: 0, packetsLostRaw: -3, packetsExpected: 500, lossRatio: 0 });

    // The 5 packets lost in the second window are reported as 5, not offset by the earlier -3.
    const w2 = onlyInbound(s1, s2);
    expect(w2).toMatchObject({ packetsLost: 5, packetsLostRaw: 5, packetsExpected: 505 });
    expect(w2.lossRatio).toBeCloseTo(5 / 505, 12);
  });

  it("handles a cumulative loss that starts negative", () => {
    const s0 = snap(0);
    const s1 = snap(5_000, { inbound: [video({ packetsReceived: 100, packetsLost: -4 })] });
    const s2 = snap(10_000, { inbound: [video({ packetsReceived: 200, packetsLost: -1 })] });
    expect(onlyInbound(s0, s1)).toMatchObject({ packetsLost: 0, packetsLostRaw: -4, packetsExpected: 100 });
    expect(onlyInbound(s1, s2)).toMatchObject({ packetsLost: 3, packetsLostRaw: 3, packetsExpected: 103 });
  });

  it("keeps raw loss differences summing to the cumulative counter", () => {
    const lost = [0, 10, 7, 12, 12, 30];
    const snaps = lost.map((l, i) =>
      snap(i * 5_000, { inbound: [video({ packetsReceived: i * 500, packetsLost: l })] }),
    );
    const windows = snaps.slice(1).map((s, i) => onlyInbound(snaps[i] ?? snap(0), s));
    expect(windows.reduce((sum, w) => sum + w.packetsLostRaw, 0)).toBe(30);
    expect(windows.map((w) => w.packetsLost)).toEqual([10, 0, 5, 0, 18]);
  });
});

describe("computeWindowDelta: zero-expected windows", () => {
  it("gives no loss ratio (undefined, not 0, not NaN) when nothing was expected", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ packetsReceived: 100, packetsLost: 2 })] }),
      snap(5_000, { inbound: [video({ packetsReceived: 100, packetsLost: 2 })] }),
    );
    expect(w.packetsExpected).toBe(0);
    expect(w.lossRatio).toBeUndefined();
  });

  it("gives no loss ratio when the only change is duplicates pulling loss down", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ packetsReceived: 100, packetsLost: 5 })] }),
      snap(5_000, { inbound: [video({ packetsReceived: 100, packetsLost: 3 })] }),
    );
    expect(w.packetsExpected).toBe(0);
    expect(w.lossRatio).toBeUndefined();
  });

  it("gives a loss ratio of 1 when everything expected was lost", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ packetsReceived: 100, packetsLost: 0 })] }),
      snap(5_000, { inbound: [video({ packetsReceived: 100, packetsLost: 40 })] }),
    );
    expect(w.lossRatio).toBe(1);
  });
});

describe("computeWindowDelta: streams appearing and disappearing", () => {
  it("counts a stream that appears mid-run from zero, with rates over the window", () => {
    const delta = computeWindowDelta(
      snap(10_000, { inbound: [audio({ packetsReceived: 250, bytesReceived: 20_000 })] }),
      snap(15_000, {
        inbound: [
          audio({ packetsReceived: 500, bytesReceived: 40_000 }),
          video({ packetsReceived: 300, packetsLost: 3, bytesReceived: 250_000, timestampMs: 15_000 }),
        ],
      }),
    );
    const w = delta.inbound.find((x) => x.key === VIDEO_KEY);
    expect(w).toMatchObject({
      firstSeen: true,
      reset: false,
      durationMs: 5_000, // no previous stream timestamp: the snapshot clock is used
      packetsReceived: 300,
      packetsLost: 3,
      packetsExpected: 303,
      bitrate: 400_000,
    });
    expect(delta.ended.inbound).toEqual([]);
  });

  it("lists a stream that disappears in ended and emits no window for it", () => {
    const delta = computeWindowDelta(
      snap(0, { inbound: [audio({ packetsReceived: 250 }), video({ packetsReceived: 100 })] }),
      snap(5_000, { inbound: [audio({ packetsReceived: 500 })] }),
    );
    expect(delta.inbound.map((w) => w.key)).toEqual(["inbound:audio:333:0:TR_A"]);
    expect(delta.ended.inbound).toEqual([VIDEO_KEY]);
  });

  it("treats a reused transceiver (same mid, new ssrc and track) as one stream ending and another starting", () => {
    const next = video({
      key: "inbound:video:555:1:TR_W",
      ssrc: 555,
      trackIdentifier: "TR_W",
      packetsReceived: 80,
    });
    const delta = computeWindowDelta(
      snap(0, { inbound: [video({ packetsReceived: 1_000 })] }),
      snap(5_000, { inbound: [next] }),
    );
    expect(delta.ended.inbound).toEqual([VIDEO_KEY]);
    expect(delta.inbound).toEqual([
      expect.objectContaining({ key: next.key, firstSeen: true, packetsReceived: 80 }),
    ]);
  });

  it("counts from join when the first snapshot is diffed against emptySnapshot(joinedAt)", () => {
    const w = onlyInbound(
      emptySnapshot(1_000),
      snap(3_000, { inbound: [video({ packetsReceived: 120, bytesReceived: 50_000 })] }),
    );
    expect(w).toMatchObject({ firstSeen: true, durationMs: 2_000, packetsReceived: 120, bitrate: 200_000 });
  });

  it("reconciles: window counts of a run sum to the final cumulative counters", () => {
    const counters = [
      { packetsReceived: 120, packetsLost: 1, bytesReceived: 50_000 },
      { packetsReceived: 700, packetsLost: 4, bytesReceived: 300_000 },
      { packetsReceived: 1_300, packetsLost: 3, bytesReceived: 560_000 },
      { packetsReceived: 1_900, packetsLost: 9, bytesReceived: 810_000 },
    ];
    const snaps = [
      emptySnapshot(0),
      ...counters.map((c, i) => snap((i + 1) * 5_000, { inbound: [video(c)] })),
    ];
    const windows = snaps.slice(1).map((s, i) => onlyInbound(snaps[i] ?? snap(0), s));
    const sum = (f: (w: InboundWindow) => number) => windows.reduce((acc, w) => acc + f(w), 0);
    expect(sum((w) => w.packetsReceived)).toBe(1_900);
    expect(sum((w) => w.bytesReceived)).toBe(810_000);
    expect(sum((w) => w.packetsLostRaw)).toBe(9);
  });

  it("lists ended outbound and remote-inbound streams too", () => {
    const out: OutboundStreamSample = { key: "o", ssrc: 1, kind: "audio", packetsSent: 1, bytesSent: 1 };
    const remote: RemoteInboundSample = { key: "r", ssrc: 1, kind: "audio", packetsLost: 0 };
    const delta = computeWindowDelta(snap(0, { outbound: [out], remoteInbound: [remote] }), snap(5_000));
    expect(delta.ended).toEqual({ inbound: [], outbound: ["o"], remoteInbound: ["r"] });
  });
});

describe("computeWindowDelta: window lengths and bitrate", () => {
  it("computes bitrate over irregular window lengths", () => {
    // Sampling jitters under load: 4 s, 6.5 s, 1.25 s windows at a constant 250 kbit/s.
    const times = [0, 4_000, 10_500, 11_750];
    const snaps = times.map((t) => snap(t, { inbound: [video({ bytesReceived: (t / 1000) * 31_250 })] }));
    const windows = snaps.slice(1).map((s, i) => onlyInbound(snaps[i] ?? snap(0), s));
    expect(windows.map((w) => w.durationMs)).toEqual([4_000, 6_500, 1_250]);
    for (const w of windows) expect(w.bitrate).toBeCloseTo(250_000, 6);
  });

  it("prefers the stream's stats timestamps over the sampler's clock", () => {
    // The sampler read its clock 1 s late (event-loop lag); libwebrtc stamped the stats 4 s apart.
    const w = onlyInbound(
      snap(0, { inbound: [video({ bytesReceived: 0, timestampMs: 100 })] }),
      snap(5_000, { inbound: [video({ bytesReceived: 100_000, timestampMs: 4_100 })] }),
    );
    expect(w.durationMs).toBe(4_000);
    expect(w.bitrate).toBe(200_000);
  });

  it("gives no rates when libwebrtc served the same cached report twice", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ bytesReceived: 1_000, framesDecoded: 10, timestampMs: 100 })] }),
      snap(30, { inbound: [video({ bytesReceived: 1_000, framesDecoded: 10, timestampMs: 100 })] }),
    );
    expect(w.bytesReceived).toBe(0);
    expect(w.durationMs).toBeUndefined();
    expect(w.bitrate).toBeUndefined();
    expect(w.framesPerSecond).toBeUndefined();
  });

  it("gives no rates for a zero-length or backwards snapshot window", () => {
    const w0 = onlyInbound(
      snap(5_000, { inbound: [video({ bytesReceived: 0 })] }),
      snap(5_000, { inbound: [video({ bytesReceived: 10 })] }),
    );
    const wBack = onlyInbound(
      snap(5_000, { inbound: [video({ bytesReceived: 0 })] }),
      snap(4_000, { inbound: [video({ bytesReceived: 10 })] }),
    );
    for (const w of [w0, wBack]) {
      expect(w.bitrate).toBeUndefined();
      expect(w.freezeRatio).toBeUndefined();
      expect(w.bytesReceived).toBe(10);
    }
  });

  it("reports the snapshot window bounds", () => {
    const delta = computeWindowDelta(snap(1_000), snap(6_500));
    expect(delta).toMatchObject({ startMs: 1_000, endMs: 6_500, durationMs: 5_500 });
  });
});

describe("computeWindowDelta: outbound, remote-inbound and candidate pairs", () => {
  it("derives outbound counts, bitrate, frame rate and carries the quality limitation", () => {
    const out = (fields: Partial<OutboundStreamSample>): OutboundStreamSample => ({
      key: "outbound:video:222:1:f",
      ssrc: 222,
      kind: "video",
      rid: "f",
      packetsSent: 0,
      bytesSent: 0,
      ...fields,
    });
    const [w] = computeWindowDelta(
      snap(0, {
        outbound: [
          out({ packetsSent: 900, bytesSent: 750_000, nackCount: 3, pliCount: 1, framesEncoded: 150 }),
        ],
      }),
      snap(5_000, {
        outbound: [
          out({
            packetsSent: 1_800,
            bytesSent: 1_375_000,
            nackCount: 5,
            pliCount: 1,
            framesEncoded: 300,
            qualityLimitationReason: "cpu",
          }),
        ],
      }),
    ).outbound;
    expect(w).toMatchObject({
      firstSeen: false,
      reset: false,
      rid: "f",
      packetsSent: 900,
      bytesSent: 625_000,
      bitrate: 1_000_000,
      nackCount: 2,
      pliCount: 0,
      framesEncoded: 150,
      framesPerSecond: 30,
      qualityLimitationReason: "cpu",
    });
  });

  it("takes remote-inbound RTT and fractionLost as instantaneous, loss as a clamped difference", () => {
    const remote = (packetsLost: number, roundTripTime?: number): RemoteInboundSample => ({
      key: "remote-inbound:audio:111",
      ssrc: 111,
      kind: "audio",
      packetsLost,
      roundTripTime,
      fractionLost: 0.01,
    });
    const s0 = snap(0, { remoteInbound: [remote(5, 0.02)] });
    const s1 = snap(5_000, { remoteInbound: [remote(3, 0.015)] });
    const s2 = snap(10_000, { remoteInbound: [remote(9)] });
    expect(computeWindowDelta(s0, s1).remoteInbound[0]).toMatchObject({
      firstSeen: false,
      packetsLost: 0,
      packetsLostRaw: -2,
      roundTripTime: 0.015,
      fractionLost: 0.01,
    });
    expect(computeWindowDelta(s1, s2).remoteInbound[0]).toMatchObject({
      packetsLost: 6,
      roundTripTime: undefined,
    });
    expect(computeWindowDelta(emptySnapshot(0), s0).remoteInbound[0]).toMatchObject({
      firstSeen: true,
      packetsLost: 5,
    });
  });

  it("carries the end-of-window candidate pairs, each with the mean of the checks answered in the window", () => {
    const pair = (total: number, responses: number, current: number) => ({
      id: "CP1",
      currentRoundTripTime: current,
      totalRoundTripTime: total,
      responsesReceived: responses,
    });
    const at = (ms: number, p: ReturnType<typeof pair>) => snap(ms, { candidatePairs: [p] });
    // two checks in the window, 0 and 1 ms (whole milliseconds): their mean, not the last one
    expect(
      computeWindowDelta(at(0, pair(0.004, 2, 0.002)), at(5_000, pair(0.005, 4, 0.001))).candidatePairs,
    ).toEqual([{ ...pair(0.005, 4, 0.001), roundTripTime: 0.0005 }]);
    // no check answered in the window: no round trip, not the last window's again
    expect(
      computeWindowDelta(at(0, pair(0.005, 4, 0.001)), at(5_000, pair(0.005, 4, 0.001))).candidatePairs[0]
        ?.roundTripTime,
    ).toBeUndefined();
    // a pair new in the window (or restarted: its count went down) counts from zero
    expect(
      computeWindowDelta(snap(0), at(5_000, pair(0.006, 3, 0.002))).candidatePairs[0]?.roundTripTime,
    ).toBeCloseTo(0.002, 12);
    expect(
      computeWindowDelta(at(0, pair(0.05, 9, 0.01)), at(5_000, pair(0.003, 1, 0.003))).candidatePairs[0]
        ?.roundTripTime,
    ).toBe(0.003);
    // a recording without totals: the latest reading
    expect(
      computeWindowDelta(
        snap(0),
        snap(5_000, { candidatePairs: [{ id: "CP1", currentRoundTripTime: 0.004 }] }),
      ).candidatePairs[0]?.roundTripTime,
    ).toBe(0.004);
  });

  it("takes a remote-inbound window's round trip from the RTCP measurements in it", () => {
    const ri = (total: number, measurements: number, latest: number) => ({
      key: "ri:a",
      ssrc: 4,
      kind: "audio" as const,
      packetsLost: 0,
      roundTripTime: latest,
      totalRoundTripTime: total,
      roundTripTimeMeasurements: measurements,
    });
    const at = (ms: number, r: ReturnType<typeof ri>) => snap(ms, { remoteInbound: [r] });
    expect(
      computeWindowDelta(at(0, ri(0.01, 5, 0.002)), at(5_000, ri(0.016, 7, 0.004))).remoteInbound[0]
        ?.roundTripTime,
    ).toBeCloseTo(0.003, 12);
    expect(
      computeWindowDelta(at(0, ri(0.016, 7, 0.004)), at(5_000, ri(0.016, 7, 0.004))).remoteInbound[0]
        ?.roundTripTime,
    ).toBeUndefined();
  });

  it("keeps the first of two samples with the same key", () => {
    const delta = computeWindowDelta(
      snap(0),
      snap(5_000, { inbound: [video({ packetsReceived: 10 }), video({ packetsReceived: 99 })] }),
    );
    expect(delta.inbound.map((w) => w.packetsReceived)).toEqual([10]);
  });
});

describe("window deltas feed the gate's statistics", () => {
  it("accepts inbound windows directly", () => {
    const delta = computeWindowDelta(emptySnapshot(0), {
      ...emptySnapshot(5_000),
      inbound: [
        { key: "a", ssrc: 1, kind: "audio", packetsReceived: 495, packetsLost: 5, bytesReceived: 0 },
        { key: "v", ssrc: 2, kind: "video", packetsReceived: 1_485, packetsLost: 15, bytesReceived: 0 },
      ],
    });
    expect(lossRatioOfSums(delta.inbound).value).toBeCloseTo(20 / 2_000, 12);
    expect(
      percentile(
        delta.inbound.map((w) => w.lossRatio),
        50,
        "windows",
      ).value,
    ).toBeCloseTo(0.01, 12);
  });
});

describe("computeWindowDelta: loss over original packets (retransmissions out)", () => {
  // libwebrtc adds RTX packets to packetsReceived, while packetsLost counts on the media sequence
  // numbers and keeps a repaired packet lost: 1000 originals sent, 100 dropped, 60 of them repaired
  // by RTX gives received 900 + 60 = 960 and lost 100.
  it("takes retransmissions out of the expected count, so the ratio is the drop of originals", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ retransmittedPacketsReceived: 0 })] }),
      snap(1_000, {
        inbound: [video({ packetsReceived: 960, retransmittedPacketsReceived: 60, packetsLost: 100 })],
      }),
    );
    expect(w).toMatchObject({ packetsReceived: 960, packetsRetransmitted: 60, packetsExpected: 1000 });
    expect(w.lossRatio).toBe(0.1);
  });

  it("reads 0 in a window with retransmissions and no loss, and more retransmissions than losses stay exact", () => {
    // probes and spurious retransmissions: 500 originals all arrived, 30 RTX packets besides
    const clean = onlyInbound(
      snap(0, {
        inbound: [video({ packetsReceived: 1000, retransmittedPacketsReceived: 10, packetsLost: 5 })],
      }),
      snap(1_000, {
        inbound: [video({ packetsReceived: 1530, retransmittedPacketsReceived: 40, packetsLost: 5 })],
      }),
    );
    expect(clean).toMatchObject({ packetsRetransmitted: 30, packetsLost: 0, packetsExpected: 500 });
    expect(clean.lossRatio).toBe(0);

    // 200 originals, 8 dropped, 20 RTX packets (each drop asked for twice, plus padding)
    const more = onlyInbound(
      snap(0, { inbound: [video({ retransmittedPacketsReceived: 0 })] }),
      snap(1_000, {
        inbound: [video({ packetsReceived: 192 + 20, retransmittedPacketsReceived: 20, packetsLost: 8 })],
      }),
    );
    expect(more.packetsExpected).toBe(200);
    expect(more.lossRatio).toBe(0.04);
  });

  it("reads 1 when every original was lost, even if retransmissions arrived", () => {
    const w = onlyInbound(
      snap(0, {
        inbound: [video({ packetsReceived: 100, retransmittedPacketsReceived: 0, packetsLost: 0 })],
      }),
      snap(1_000, {
        inbound: [video({ packetsReceived: 112, retransmittedPacketsReceived: 12, packetsLost: 50 })],
      }),
    );
    expect(w).toMatchObject({ packetsRetransmitted: 12, packetsExpected: 50, packetsLost: 50 });
    expect(w.lossRatio).toBe(1);
  });

  it("never lets retransmissions push received originals below zero", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ retransmittedPacketsReceived: 0 })] }),
      snap(1_000, {
        inbound: [video({ packetsReceived: 5, retransmittedPacketsReceived: 9, packetsLost: 3 })],
      }),
    );
    expect(w.packetsExpected).toBe(3);
    expect(w.lossRatio).toBe(1);
  });

  it("treats a stream without the counter (audio) as having no retransmissions", () => {
    const w = onlyInbound(
      snap(0, { inbound: [audio()] }),
      snap(1_000, { inbound: [audio({ packetsReceived: 45, packetsLost: 5 })] }),
    );
    expect(w).toMatchObject({ packetsRetransmitted: 0, packetsExpected: 50 });
    expect(w.lossRatio).toBe(0.1);
  });

  it("sums original packets across windows and kinds as a ratio of sums", () => {
    const a = onlyInbound(
      snap(0, { inbound: [video({ retransmittedPacketsReceived: 0 })] }),
      snap(1_000, {
        inbound: [video({ packetsReceived: 960, retransmittedPacketsReceived: 60, packetsLost: 100 })],
      }),
    );
    const b = onlyInbound(
      snap(0, { inbound: [audio()] }),
      snap(1_000, { inbound: [audio({ packetsReceived: 250, packetsLost: 0 })] }),
    );
    expect(lossRatioOfSums([a, b])).toMatchObject({ packetsLost: 100, packetsExpected: 1250, value: 0.08 });
  });
});

describe("computeWindowDelta: wire bitrate and received resolution", () => {
  it("adds header bytes to payload bytes for the wire bitrate", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ bytesReceived: 1000, headerBytesReceived: 100 })] }),
      snap(2_000, { inbound: [video({ bytesReceived: 251_000, headerBytesReceived: 10_100 })] }),
    );
    expect(w).toMatchObject({
      bitrate: 1_000_000, // 250 000 B * 8 / 2 s
      headerBytesReceived: 10_000,
      wireBitrate: 1_040_000, // (250 000 + 10 000) B * 8 / 2 s
    });
  });

  it("has no wire bitrate when the header counter is missing", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ bytesReceived: 1000 })] }),
      snap(1_000, { inbound: [video({ bytesReceived: 2000 })] }),
    );
    expect(w.bitrate).toBe(8000);
    expect(w.wireBitrate).toBeUndefined();
  });

  it("carries the end-of-window frame size", () => {
    const w = onlyInbound(
      snap(0, { inbound: [video({ frameWidth: 320, frameHeight: 180 })] }),
      snap(1_000, { inbound: [video({ frameWidth: 640, frameHeight: 360 })] }),
    );
    expect(w).toMatchObject({ frameWidth: 640, frameHeight: 360 });
  });
});
