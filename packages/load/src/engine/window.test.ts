import { FreezeDetector, computeWindowDelta, emptySnapshot, type Snapshot } from "@livekit-swarm/stats";
import { describe, expect, it } from "vitest";
import { windowStreams } from "./window.js";

/** One second of stats from an empty baseline: a subscriber with one audio and one video stream. */
function oneSecond(parts: Partial<Omit<Snapshot, "timestampMs">>): Snapshot {
  return { ...emptySnapshot(1000), ...parts };
}

const audioIn = {
  key: "in:a",
  ssrc: 1,
  kind: "audio" as const,
  packetsReceived: 50,
  packetsLost: 0,
  bytesReceived: 4000,
  concealedSamples: 10,
  totalSamplesReceived: 48_000,
};
const videoIn = {
  key: "in:v",
  ssrc: 2,
  kind: "video" as const,
  trackIdentifier: "TR_v",
  packetsReceived: 100,
  packetsLost: 2,
  bytesReceived: 50_000,
  framesDecoded: 20,
  freezeCount: 1,
  nackCount: 3,
};

describe("windowStreams", () => {
  it("maps known-kind streams into the engines' shape, feedback 0 where the stats left it out", () => {
    const delta = computeWindowDelta(
      emptySnapshot(0),
      oneSecond({
        inbound: [audioIn, videoIn, { ...audioIn, key: "in:?", ssrc: 3, kind: "unknown" }],
        outbound: [{ key: "out:a", ssrc: 4, kind: "audio", packetsSent: 50, bytesSent: 3000, pliCount: 1 }],
      }),
    );
    const w = windowStreams(delta, new Map());
    expect(w.inbound.map((s) => s.key)).toEqual(["in:a", "in:v"]);
    expect(w.inbound[0]).toMatchObject({
      kind: "audio",
      received: 50,
      concealedSamples: 10,
      totalSamples: 48_000,
    });
    expect(w.inbound[1]).toMatchObject({
      kind: "video",
      received: 100,
      lost: 2,
      framesDecoded: 20,
      nack: 3,
      pli: 0,
    });
    expect(w.outbound).toEqual([
      { kind: "audio", packets: 50, bytes: 3000, nack: 0, pli: 1, fir: 0, qualityLimitation: undefined },
    ]);
  });

  it("keeps libwebrtc's freeze count with an unknown duration, unless a probe measured the track", () => {
    const delta = computeWindowDelta(emptySnapshot(0), oneSecond({ inbound: [videoIn] }));
    expect(windowStreams(delta, new Map()).inbound[0]).toMatchObject({ freezes: 1, freezeS: undefined });
    const measured = new FreezeDetector();
    for (let t = 0; t <= 2000; t += 50) measured.onFrame(t);
    const w = windowStreams(delta, new Map([["TR_other_id", measured]]));
    // one video stream and one detector: paired although libwebrtc's id is not the track sid
    expect(w.inbound[0]).toMatchObject({ freezes: 0, freezeS: 0 });
  });

  it("takes the median of the checks' round trips in the window, RTCP's only when no check was answered", () => {
    const ri = (ssrc: number, rtt: number) => ({
      key: `ri:${ssrc}`,
      ssrc,
      kind: "audio" as const,
      packetsLost: 0,
      roundTripTime: rtt,
      totalRoundTripTime: rtt,
      roundTripTimeMeasurements: 1,
    });
    const pair = (id: string, total: number, responses: number) => ({
      id,
      currentRoundTripTime: 0.001,
      totalRoundTripTime: total,
      responsesReceived: responses,
    });
    const rtt = (prev: Parameters<typeof oneSecond>[0], cur: Parameters<typeof oneSecond>[0]) =>
      windowStreams(
        computeWindowDelta({ ...oneSecond(prev), timestampMs: 0 }, { ...oneSecond(cur), timestampMs: 1_000 }),
        new Map(),
      ).rttS;
    // two transports' checks (publisher and subscriber): their median; RTCP's 1 ms floor is left out
    expect(
      rtt(
        {},
        {
          remoteInbound: [ri(4, 0.001), ri(5, 0.001)],
          candidatePairs: [pair("a", 0.0004, 1), pair("b", 0.0012, 2)],
        },
      ),
    ).toBeCloseTo(0.0005, 12);
    // a loopback check that read 0 ms is a measurement, not a missing one
    expect(rtt({}, { candidatePairs: [pair("a", 0, 2)] })).toBe(0);
    // no check answered in the window: RTCP's round trips measured in it
    expect(
      rtt(
        { candidatePairs: [pair("a", 0.002, 2)] },
        { remoteInbound: [ri(4, 0.02), ri(5, 0.09), ri(6, 0.05)], candidatePairs: [pair("a", 0.002, 2)] },
      ),
    ).toBe(0.05);
    expect(rtt({}, {})).toBeUndefined();
  });
});
