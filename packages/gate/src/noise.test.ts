import { describe, expect, it } from "vitest";
import { mannWhitney, normalCdf } from "./noise.js";

/** A fixed pseudo-random sequence (LCG): reproducible samples without a seed library. */
function sample(n: number, seed: number, shift = 0): number[] {
  let s = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) % 4294967296;
    out.push(1 + s / 4294967296 + shift);
  }
  return out;
}

describe("mannWhitney", () => {
  it("calls identical samples within noise (p = 1)", () => {
    const a = sample(40, 1);
    const r = mannWhitney(a, [...a]);
    expect(r?.withinNoise).toBe(true);
    expect(r?.p).toBeCloseTo(1, 6);
  });

  it("calls two draws of the same distribution within noise", () => {
    const r = mannWhitney(sample(40, 1), sample(40, 2));
    expect(r?.withinNoise, `p=${r?.p}`).toBe(true);
  });

  it("calls a shifted sample a real difference", () => {
    const r = mannWhitney(sample(40, 1), sample(40, 2, 0.5));
    expect(r?.withinNoise, `p=${r?.p}`).toBe(false);
    expect(r?.p).toBeLessThan(0.001);
  });

  it("cannot call a difference real from two participants a side", () => {
    expect(mannWhitney([1, 1.1], [5, 6])?.withinNoise).toBe(true);
  });

  it("handles all-tied samples (zero variance) and empty ones", () => {
    expect(mannWhitney([0, 0, 0], [0, 0])?.p).toBe(1);
    expect(mannWhitney([], [1])).toBeUndefined();
  });

  it("is symmetric", () => {
    const a = sample(25, 3);
    const b = sample(30, 4, 0.2);
    expect(mannWhitney(a, b)?.p).toBeCloseTo(mannWhitney(b, a)?.p ?? NaN, 10);
  });
});

describe("normalCdf", () => {
  it("matches known values", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 5);
  });
});
