import { describe, expect, it } from "vitest";

import {
  censoredPercentiles,
  lossRatioByGroup,
  lossRatioOfSums,
  lossRatioPercentile,
  percentile,
  percentiles,
  summarize,
  windowLatency,
  windowRoundTrip,
} from "./statistics.js";
import type { LossCounts } from "./statistics.js";

describe("percentile (nearest rank)", () => {
  // Hand-computed: rank = ceil(p/100 * n), value = sorted[rank - 1], rank at least 1.
  const values = [35, 15, 50, 40, 20]; // sorted: 15 20 35 40 50

  it.each([
    [0, 15], // rank 1 (clamped)
    [5, 15], // ceil(0.25) = 1
    [20, 15], // ceil(1) = 1
    [21, 20], // ceil(1.05) = 2
    [30, 20], // ceil(1.5) = 2
    [40, 20], // ceil(2) = 2
    [50, 35], // ceil(2.5) = 3
    [80, 40], // ceil(4) = 4
    [95, 50], // ceil(4.75) = 5
    [100, 50], // 5
  ])("p%d of [15 20 35 40 50] is %d", (p, expected) => {
    expect(percentile(values, p, "windows")).toEqual({
      method: "nearest-rank",
      p,
      population: "windows",
      n: 5,
      value: expected,
    });
  });

  it("returns the single value for n = 1 at every p", () => {
    for (const p of [0, 1, 50, 95, 99.9, 100]) expect(percentile([0.02], p, "participants").value).toBe(0.02);
  });

  it("splits n = 2 at exactly p50", () => {
    expect(percentile([20, 10], 0, "tracks").value).toBe(10);
    expect(percentile([20, 10], 50, "tracks").value).toBe(10); // ceil(1) = 1
    expect(percentile([20, 10], 50.1, "tracks").value).toBe(20); // ceil(1.002) = 2
    expect(percentile([20, 10], 95, "tracks").value).toBe(20);
  });

  it("handles ties", () => {
    expect(percentile([3, 1, 3, 3], 25, "windows").value).toBe(1); // ceil(1) = 1
    expect(percentile([3, 1, 3, 3], 26, "windows").value).toBe(3);
    expect(percentile([3, 1, 3, 3], 100, "windows").value).toBe(3);
    expect(percentile([2, 2, 2], 50, "windows").value).toBe(2);
  });

  it("returns n = 0 and an undefined value for empty input, never NaN", () => {
    const empty = percentile([], 95, "participants");
    expect(empty).toEqual({
      method: "nearest-rank",
      p: 95,
      population: "participants",
      n: 0,
      value: undefined,
    });
  });

  it("drops undefined and non-finite values from the population", () => {
    const p = percentile([undefined, 4, Number.NaN, 1, Infinity, -Infinity, 2], 100, "windows");
    expect(p.n).toBe(3);
    expect(p.value).toBe(4);
    expect(percentile([undefined, Number.NaN], 50, "windows")).toMatchObject({ n: 0, value: undefined });
  });

  it("is not pushed up a rank by floating-point noise in p", () => {
    const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(0.07 * 100).not.toBe(7); // the noise this test is about
    expect(percentile(oneToHundred, 0.07 * 100, "windows").value).toBe(7);
    expect(percentile(oneToHundred, 95, "windows").value).toBe(95);
    const oneToThousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(oneToThousand, 99.9, "windows").value).toBe(999);
    expect(percentile(oneToThousand, 99.95, "windows").value).toBe(1000);
  });

  it("rejects p outside [0, 100]", () => {
    for (const p of [-1, 100.5, Number.NaN]) expect(() => percentile([1], p, "windows")).toThrow(RangeError);
  });

  it("computes several percentiles of one population", () => {
    expect(percentiles([35, 15, 50, 40, 20], [50, 95], "tracks").map((p) => [p.p, p.value, p.n])).toEqual([
      [50, 35, 5],
      [95, 50, 5],
    ]);
    expect(percentiles([], [50, 99], "tracks").map((p) => p.value)).toEqual([undefined, undefined]);
  });
});

describe("summarize", () => {
  it("gives min, max, avg, sum and n with the population", () => {
    expect(summarize([4, undefined, 1, 7], "windows")).toEqual({
      population: "windows",
      n: 3,
      min: 1,
      max: 7,
      avg: 4,
      sum: 12,
    });
  });

  it("gives n = 0 and undefined statistics for empty input", () => {
    expect(summarize([], "participants")).toEqual({
      population: "participants",
      n: 0,
      min: undefined,
      max: undefined,
      avg: undefined,
      sum: undefined,
    });
    expect(summarize([Number.NaN, undefined], "tracks").n).toBe(0);
  });
});

describe("loss aggregation", () => {
  // A heavy participant with light loss and a light one with heavy loss.
  const heavy: LossCounts[] = [
    { packetsLost: 4, packetsExpected: 500 },
    { packetsLost: 6, packetsExpected: 500 },
  ];
  const light: LossCounts[] = [{ packetsLost: 5, packetsExpected: 10 }];

  it("takes the overall ratio as Σlost / Σexpected, which differs from the mean of ratios", () => {
    const overall = lossRatioOfSums([...heavy, ...light]);
    expect(overall).toEqual({
      method: "ratio-of-sums",
      packetsLost: 15,
      packetsExpected: 1_010,
      value: 15 / 1_010,
    });

    const meanOfRatios = (0.01 + 0.5) / 2; // what this module refuses to compute
    expect(overall.value).toBeCloseTo(0.01485, 5);
    expect(meanOfRatios).toBeCloseTo(0.255, 12);
    expect(Math.abs((overall.value ?? 0) - meanOfRatios)).toBeGreaterThan(0.2);
  });

  it("gives no overall ratio when nothing was expected", () => {
    expect(lossRatioOfSums([]).value).toBeUndefined();
    expect(lossRatioOfSums([{ packetsLost: 0, packetsExpected: 0 }]).value).toBeUndefined();
  });

  it("computes each participant's own ratio of sums", () => {
    const byParticipant = lossRatioByGroup(
      new Map([
        ["alice", heavy],
        ["bob", light],
      ]),
    );
    expect(byParticipant.get("alice")?.value).toBeCloseTo(0.01, 12); // 10/1000, not mean(0.008, 0.012)
    expect(byParticipant.get("bob")?.value).toBe(0.5);
  });

  it("takes per-participant ratios, then a percentile over participants", () => {
    const groups = new Map<string, LossCounts[]>([
      ["alice", heavy], // 0.01
      ["bob", light], // 0.5
      ["carol", [{ packetsLost: 1, packetsExpected: 50 }]], // 0.02
      ["dave", [{ packetsLost: 0, packetsExpected: 0 }]], // no traffic: not in the population
    ]);
    expect(lossRatioPercentile(groups, 50, "participants")).toEqual({
      method: "nearest-rank",
      p: 50,
      population: "participants",
      n: 3,
      value: 0.02, // sorted 0.01 0.02 0.5, rank ceil(1.5) = 2
    });
    expect(lossRatioPercentile(groups, 95, "participants").value).toBe(0.5);
    expect(lossRatioPercentile(new Map<string, LossCounts[]>(), 95, "participants")).toMatchObject({
      n: 0,
      value: undefined,
    });
  });
});

describe("censoredPercentiles (nearest rank with right-censored observations)", () => {
  // observed 1 2 3 4 5 6 7 8 (s), two tracks still silent at the end, known only to be > 20 and > 9
  const observed = [3, 1, 2, 8, 4, 6, 5, 7];

  it("counts censored observations in the population", () => {
    const [p50] = censoredPercentiles(observed, [20, 9], [50], "tracks");
    // n = 10, rank ceil(5) = 5: the fifth observed value
    expect(p50).toEqual({
      method: "nearest-rank",
      p: 50,
      population: "tracks",
      n: 10,
      value: 5,
      censored: false,
    });
  });

  it("gives a lower bound when the rank lands on a censored observation", () => {
    const [p80, p90, p95, p100] = censoredPercentiles(observed, [20, 9], [80, 90, 95, 100], "tracks");
    // rank 8 is the last observed value; ranks 9 and 10 are censored
    expect(p80).toMatchObject({ n: 10, value: 8, censored: false });
    // rank 9 of the lower bounds 1..8, 9, 20 is 9: the true p90 is > 9
    expect(p90).toMatchObject({ n: 10, value: 9, censored: true });
    expect(p95).toMatchObject({ n: 10, value: 20, censored: true });
    expect(p100).toMatchObject({ n: 10, value: 20, censored: true });
  });

  it("ranks a censored observation above observed values larger than its bound", () => {
    // one track joined late and was censored at 2 s; the others took 5 and 6 s
    const [p50, p100] = censoredPercentiles([5, 6], [2], [50, 100], "tracks");
    // rank ceil(1.5) = 2: the second observed value
    expect(p50).toMatchObject({ n: 3, value: 6, censored: false });
    // the true maximum is > 6 (an observed value) and the censored track is > 2: at least 6
    expect(p100).toMatchObject({ n: 3, value: 6, censored: true });
  });

  it("equals percentile() when nothing is censored", () => {
    for (const p of [0, 50, 95, 99, 100]) {
      const [c] = censoredPercentiles(observed, [], [p], "tracks");
      expect(c).toEqual({ ...percentile(observed, p, "tracks"), censored: false });
    }
  });

  it("is empty, not zero, over an empty population", () => {
    expect(censoredPercentiles([], [], [95], "participants")[0]).toMatchObject({
      n: 0,
      value: undefined,
      censored: false,
    });
  });

  it("is censored at every rank when nothing was observed", () => {
    expect(censoredPercentiles([], [30, 30], [50], "tracks")[0]).toMatchObject({
      n: 2,
      value: 30,
      censored: true,
    });
  });
});

describe("windowLatency", () => {
  it("is undefined for a window without latencies", () => {
    expect(windowLatency([])).toBeUndefined();
  });

  it("takes the nearest-rank median and the maximum, whatever the order", () => {
    expect(windowLatency([0.3, 0.1, 0.2])).toEqual({ p50: 0.2, max: 0.3, n: 3 });
    // an even count takes the lower middle, as the engines always reported it
    expect(windowLatency([0.4, 0.1, 0.3, 0.2])).toEqual({ p50: 0.2, max: 0.4, n: 4 });
  });

  it("leaves the caller's array as it was", () => {
    const values = [3, 1, 2];
    windowLatency(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe("windowRoundTrip", () => {
  it("is the median of a participant's latest round trips: the middle one, or the mean of the middle two", () => {
    expect(windowRoundTrip([0.05])).toBe(0.05);
    expect(windowRoundTrip([0.09, 0.02, 0.05])).toBe(0.05);
    expect(windowRoundTrip([0.002, 0.009])).toBeCloseTo(0.0055, 12);
    expect(windowRoundTrip([0, 0.004])).toBe(0.002);
  });

  it("is undefined for no measurement, and skips what is not a number", () => {
    expect(windowRoundTrip([])).toBeUndefined();
    expect(windowRoundTrip([Number.NaN])).toBeUndefined();
    expect(windowRoundTrip([Number.NaN, 0.01])).toBe(0.01);
  });
});
