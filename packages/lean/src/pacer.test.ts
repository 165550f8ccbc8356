import { describe, expect, it } from "vitest";
import { ticksDue } from "./pacer.js";

describe("ticksDue", () => {
  it("runs the first tick at once and one per period after", () => {
    expect(ticksDue(0, 0)).toEqual({ run: 1, skip: 0 });
    expect(ticksDue(5, 1)).toEqual({ run: 0, skip: 0 });
    expect(ticksDue(20, 1)).toEqual({ run: 1, skip: 0 });
    expect(ticksDue(39.9, 2)).toEqual({ run: 0, skip: 0 });
  });

  it("catches up on a late timer with a small burst", () => {
    expect(ticksDue(61, 1)).toEqual({ run: 3, skip: 0 });
  });

  it("skips what a long stall made late instead of bursting it", () => {
    // woke 1 s late: 51 ticks due, 5 run, 46 skipped
    expect(ticksDue(1000, 0)).toEqual({ run: 5, skip: 46 });
  });

  it("never asks for negative work when the timer fires early", () => {
    expect(ticksDue(10, 3)).toEqual({ run: 0, skip: 0 });
  });
});
