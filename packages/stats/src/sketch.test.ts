import { describe, expect, it } from "vitest";
import { QuantileSketch, SketchError, type SketchJson } from "./sketch.js";
import { percentiles } from "./statistics.js";

const PS = [0, 1, 5, 25, 50, 75, 90, 95, 99, 99.9, 100];

/** A seeded generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Figures of our kinds: round trips (log-normal around 40 ms), loss ratios with many zeros, bitrates. */
function population(kind: "seconds" | "loss" | "bps", n: number, seed: number): number[] {
  const r = random(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, () => {
    if (kind === "seconds") return 0.04 * Math.exp(0.8 * normal());
    if (kind === "loss") return r() < 0.7 ? 0 : r() ** 3 * 0.2;
    return 300_000 + 2_000_000 * r();
  });
}

const exact = (values: readonly number[]) => percentiles(values, PS, "windows").map((p) => p.value);

describe("QuantileSketch", () => {
  it("is exact while it holds few values: the same nearest-rank figures as percentiles()", () => {
    const values = population("seconds", 1000, 1);
    const sketch = new QuantileSketch();
    for (const v of values) sketch.add(v);
    expect(sketch.exact).toBe(true);
    expect(sketch.percentiles(PS, "windows").map((p) => p.value)).toEqual(exact(values));
    expect(sketch.count).toBe(1000);
    expect(sketch.min).toBe(Math.min(...values));
    expect(sketch.max).toBe(Math.max(...values));
  });

  it.each(["seconds", "loss", "bps"] as const)(
    "past its exact size every %s percentile is within its relative error of the exact one",
    (kind) => {
      const values = population(kind, 50_000, 2);
      const sketch = new QuantileSketch(0.01);
      for (const v of values) sketch.add(v);
      expect(sketch.exact).toBe(false);
      const truth = exact(values);
      sketch.percentiles(PS, "windows").forEach((p, k) => {
        const t = truth[k] ?? NaN;
        expect(Math.abs((p.value ?? NaN) - t), `p${p.p}: ${p.value} where exact is ${t}`).toBeLessThanOrEqual(
          0.01 * Math.abs(t) + 1e-9,
        );
      });
      // count, sum, min and max stay exact; its size is the buckets', not the values'
      expect(sketch.count).toBe(values.length);
      expect(sketch.sum).toBeCloseTo(
        values.reduce((a, b) => a + b, 0),
        6,
      );
      expect(sketch.min).toBe(Math.min(...values));
      expect(sketch.max).toBe(Math.max(...values));
      expect(JSON.stringify(sketch).length).toBeLessThan(20_000);
    },
  );

  it("merged shards give what one sketch over every value gives, at any split", () => {
    const values = population("seconds", 20_000, 3);
    const whole = new QuantileSketch();
    for (const v of values) whole.add(v);
    // uneven shards: one exact, one bucketed, one empty
    const cuts = [0, 700, 15_000, 15_000, 20_000];
    const merged = new QuantileSketch();
    for (let k = 0; k + 1 < cuts.length; k++) {
      const shard = new QuantileSketch();
      for (const v of values.slice(cuts[k], cuts[k + 1])) shard.add(v);
      merged.merge(QuantileSketch.fromJSON(JSON.parse(JSON.stringify(shard))));
    }
    expect(merged.percentiles(PS, "windows")).toEqual(whole.percentiles(PS, "windows"));
    expect(merged.count).toBe(whole.count);
    // two exact sketches stay exact while their sum of values does
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    a.add(1);
    b.add(2);
    a.merge(b);
    expect(a.exact).toBe(true);
    expect(a.percentiles([50, 100], "participants").map((p) => p.value)).toEqual([1, 2]);
  });

  it("bucketed, a rank is the exact path's: p7 of 100 is the 7th value, not the 8th (p*n/100 lands a hair over 7)", () => {
    const s = new QuantileSketch(0.01, 10);
    for (let v = 1; v <= 100; v++) s.add(v);
    expect(s.exact).toBe(false);
    const [p7] = s.percentiles([7], "windows");
    expect(Math.abs((p7?.value ?? NaN) - 7)).toBeLessThanOrEqual(0.07);
    expect(() => s.percentiles([101], "windows")).toThrow(RangeError);
  });

  it("at zero and the extremes: nothing, one value, zeros, negatives, non-finite values", () => {
    const empty = new QuantileSketch();
    expect(empty.percentiles([50], "tracks")).toEqual([
      { method: "nearest-rank", p: 50, population: "tracks", n: 0, value: undefined },
    ]);
    expect(empty.min).toBeUndefined();
    const s = new QuantileSketch(0.01, 4);
    for (const v of [0, 0, 0, -0.5, 2, NaN, Infinity, undefined]) s.add(v);
    expect(s.exact).toBe(false); // five values past a limit of four
    expect(s.count).toBe(5);
    const [p0, p20, p60, p100] = s.percentiles([0, 20, 60, 100], "windows").map((p) => p.value);
    expect(p0).toBe(-0.5); // the first and last ranks are the min and max themselves
    expect(p20).toBe(-0.5);
    expect(p60).toBe(0);
    expect(p100).toBe(2);
    expect(() => {
      s.add(1e16);
    }).toThrow(SketchError);
    expect(() => new QuantileSketch(0)).toThrow(/relative error 0/);
    expect(() => {
      new QuantileSketch(0.01).merge(new QuantileSketch(0.02));
    }).toThrow(/cannot merge/);
  });

  it("reads back what it wrote, and refuses a hand-edited sketch naming the field", () => {
    const s = new QuantileSketch(0.01, 2);
    for (const v of [0.1, 0.2, 0.3, 0]) s.add(v);
    const json = JSON.parse(JSON.stringify(s)) as SketchJson;
    expect(QuantileSketch.fromJSON(json).percentiles([50], "windows")).toEqual(
      s.percentiles([50], "windows"),
    );
    const bad: [unknown, RegExp][] = [
      [null, /not an object/],
      [[1], /not an object/],
      [{ ...json, relativeError: 2 }, /relativeError/],
      [{ ...json, count: -1 }, /count/],
      [{ ...json, count: 1.5 }, /count/],
      [{ ...json, count: 5 }, /buckets hold 4 values where its count says 5/],
      [{ ...json, sum: "1" }, /sum: expected a finite number/],
      [{ ...json, sum: 99 }, /sum 99: not 4 values between its min and max/],
      [{ ...json, min: 1, max: 0 }, /min is over its max/],
      [{ ...json, max: 1e300 }, /max: expected a number of magnitude/],
      [{ ...json, positive: [1, 2, 3] }, /positive: expected index and count pairs/],
      [{ ...json, positive: [1e9, 3] }, /bucket index 1000000000 out of range/],
      [{ ...json, positive: [-100, -3] }, /count must be a whole number over 0/],
      [{ ...json, positive: [-100, 1, -100, 2] }, /once/],
      [{ ...json, zeros: -1 }, /zeros/],
      [{ relativeError: 0.01, count: 2, sum: 3, min: 1, max: 2, values: [1, 7] }, /between its min and max/],
      [{ relativeError: 0.01, count: 2, sum: 3, min: 1, max: 2, values: [1] }, /values: expected 2 numbers/],
      [{ relativeError: 0.01, count: 2, sum: 3, min: 0, max: 2, values: [1, 2] }, /least and greatest/],
      [{ relativeError: 0.01, count: 0, sum: 0, min: 0, max: null, values: [] }, /min: expected null/],
    ];
    for (const [input, message] of bad)
      expect(() => QuantileSketch.fromJSON(input), JSON.stringify(input)).toThrow(message);
    // an exact sketch bigger than the reader's exact size is refused, not taken whole
    const big = new QuantileSketch(0.01, 10);
    for (let k = 0; k < 10; k++) big.add(k);
    expect(() => QuantileSketch.fromJSON(JSON.parse(JSON.stringify(big)), 5)).toThrow(/at most 5/);
  });
});
