import { describe, expect, it } from "vitest";
import {
  answeredChecks,
  jitterAt,
  jitterSeries,
  parseReleased,
  type ReleasedPacket,
  type ReleasedStun,
} from "./delay-truth.js";

const OPUS = 111;
const RATES = { [OPUS]: 48_000, 96: 90_000 };

/** An Opus packet every 20 ms (960 ticks), released at `t0 + 20 ms * i + extraUs`. */
function opus(i: number, extraUs: number, ssrc = 7, ts0 = 1000): ReleasedPacket {
  return {
    kind: "rtp",
    releaseUs: 1_700_000_000_000_000 + i * 20_000 + extraUs,
    holdUs: 50_000 + extraUs,
    dport: 40_000,
    ssrc,
    seq: i,
    rtpTimestamp: (ts0 + i * 960) % 2 ** 32,
    payloadType: OPUS,
    marker: false,
  };
}

describe("parseReleased", () => {
  it("reads the delayer's RTP and STUN lines and skips what is not one", () => {
    const text =
      "r 1700000000000000 50000 40000 7 1 1000 111 0\nready\ns 1700000000010000 49000 40000 257 00112233445566778899aabb out\n" +
      // a STUN line without its way, or with a short transaction, is not the delayer's
      "s 1 2 3 257 00112233445566778899aabb\ns 1 2 3 257 0011 in\nr 1700000000020000 51000 40000 7 2 1960 96 1\nr 1 2 3\nx 1 2 3 4\n\n";
    expect(parseReleased(text)).toEqual({
      rtp: [
        {
          kind: "rtp",
          releaseUs: 1700000000000000,
          holdUs: 50000,
          dport: 40000,
          ssrc: 7,
          seq: 1,
          rtpTimestamp: 1000,
          payloadType: 111,
          marker: false,
        },
        {
          kind: "rtp",
          releaseUs: 1700000000020000,
          holdUs: 51000,
          dport: 40000,
          ssrc: 7,
          seq: 2,
          rtpTimestamp: 1960,
          payloadType: 96,
          marker: true,
        },
      ],
      stun: [
        {
          kind: "stun",
          releaseUs: 1700000000010000,
          holdUs: 49000,
          dport: 40000,
          type: 257,
          transaction: "00112233445566778899aabb",
          incoming: false,
        },
      ],
    });
  });
});

describe("answeredChecks", () => {
  const m = (
    releaseUs: number,
    holdUs: number,
    type: number,
    transaction: string,
    incoming: boolean,
  ): ReleasedStun => ({
    kind: "stun",
    releaseUs,
    holdUs,
    dport: 7882,
    type,
    transaction,
    incoming,
  });
  it("times each request that came in to its answer going out, holds included; nothing else", () => {
    const tx = (n: number) => n.toString(16).padStart(24, "0");
    expect(
      answeredChecks([
        m(1_000_100, 100, 0x0001, tx(1), true), // reached the queue at 1_000_000
        m(1_000_350, 20, 0x0101, tx(1), false), // its answer: 350 us
        m(2_000_000, 0, 0x0001, tx(2), true), // never answered
        m(3_000_000, 0, 0x0001, tx(3), false), // the node's own check, going out
        m(3_000_400, 0, 0x0101, tx(3), true), // and its answer coming in: not the node's time
        m(4_000_000, 0, 0x0101, tx(4), false), // an answer to a request the queue never saw
      ]),
    ).toEqual([0.00035]);
    expect(answeredChecks([])).toEqual([]);
  });
});

describe("jitterSeries: RFC 3550 A.8 over the release times", () => {
  it("a constant hold adds no jitter", () => {
    const [s] = jitterSeries(
      [0, 1, 2, 3].map((i) => opus(i, 0)),
      RATES,
    );
    expect(s?.points.map((p) => p.jitterS)).toEqual([0, 0, 0]);
  });

  it("one packet 10 ms late moves the estimate by |D|/16, then back towards 0", () => {
    const [s] = jitterSeries([opus(0, 0), opus(1, 10_000), opus(2, 0)], RATES);
    const j1 = 0.01 / 16;
    // the third packet's transit differs from the second's by 10 ms again
    const j2 = j1 + (0.01 - j1) / 16;
    expect(s?.points[0]?.jitterS).toBeCloseTo(j1, 9);
    expect(s?.points[1]?.jitterS).toBeCloseTo(j2, 9);
  });

  it("reads each stream on its own clock, leaves out payload types without one, and survives a timestamp wrap", () => {
    const wrapStart = 2 ** 32 - 960;
    const packets = [
      opus(0, 0, 1, wrapStart),
      { ...opus(0, 0, 2), payloadType: 97 },
      opus(1, 4_000, 1, wrapStart),
      { ...opus(1, 9_000, 2), payloadType: 97 },
    ];
    const series = jitterSeries(packets, RATES);
    expect(series.map((s) => s.ssrc)).toEqual([1]);
    // the second packet's timestamp wrapped to 0: D is the 4 ms it came late, not 2^32 ticks
    expect(series[0]?.points[0]?.jitterS).toBeCloseTo(0.004 / 16, 9);
  });

  it("moves once a frame, at a new RTP timestamp, against the packet before it (libwebrtc's rule)", () => {
    // a 90 kHz frame every 3000 ticks in 3 packets 1 ms apart: D = 2 ms at each new frame
    const packets = Array.from({ length: 600 }, (_, n) => ({
      ...opus(0, 0),
      payloadType: 96,
      seq: n,
      rtpTimestamp: Math.floor(n / 3) * 3000,
      releaseUs: 1_700_000_000_000_000 + Math.floor(n / 3) * 33_333 + (n % 3) * 1000,
    }));
    const [s] = jitterSeries(packets, RATES);
    expect(s?.points.length).toBe(199);
    expect(s?.points.at(-1)?.jitterS).toBeCloseTo(0.002, 5);
  });

  it("a steady alternation of +-J converges to 2J, RFC 3550's estimate of |D|", () => {
    const packets = Array.from({ length: 400 }, (_, i) => opus(i, i % 2 === 0 ? 0 : 6_000));
    const [s] = jitterSeries(packets, RATES);
    expect(s?.points.at(-1)?.jitterS).toBeCloseTo(0.006, 5);
  });
});

describe("jitterAt", () => {
  it("takes the estimate in force at a time: the last point at or before it", () => {
    const s = {
      ssrc: 1,
      payloadType: OPUS,
      points: [10, 20, 30].map((t) => ({ releaseUs: t, jitterS: t / 1000 })),
    };
    expect(jitterAt(s, 5)).toBeUndefined();
    expect(jitterAt(s, 10)).toBe(0.01);
    expect(jitterAt(s, 29)).toBe(0.02);
    expect(jitterAt(s, 99)).toBe(0.03);
    expect(jitterAt({ ...s, points: [] }, 99)).toBeUndefined();
    // a stream that stopped has no figure once its last point is older than the age given
    expect(jitterAt(s, 99, 69)).toBe(0.03);
    expect(jitterAt(s, 99, 68)).toBeUndefined();
  });
});
