import { describe, expect, it } from "vitest";

import { FreezeDetector } from "./freeze.js";

/** Feeds frames every `stepMs` from `fromMs`, `count` of them; returns the last frame's time. */
function steady(d: FreezeDetector, fromMs: number, stepMs: number, count: number): number {
  let t = fromMs;
  for (let i = 0; i < count; i++) {
    t = fromMs + i * stepMs;
    d.onFrame(t);
  }
  return t;
}

describe("FreezeDetector", () => {
  it("sees no freeze in a steady stream", () => {
    const d = new FreezeDetector();
    steady(d, 0, 33, 100);
    expect(d.take()).toEqual({ freezes: 0, frozen: 0, frames: 100 });
  });

  it("counts a gap of at least average + 150 ms at 30 fps, and the whole gap as frozen", () => {
    const d = new FreezeDetector();
    const last = steady(d, 0, 33, 31); // 30 durations of 33 ms: threshold max(99, 183) = 183 ms
    d.onFrame(last + 182); // just under: no freeze
    d.onFrame(last + 182 + 250);
    const totals = d.take();
    expect(totals.freezes).toBe(1);
    expect(totals.frozen).toBeCloseTo(0.25, 9);
  });

  it("uses 3 x average when that is larger (slow frame rates)", () => {
    const d = new FreezeDetector();
    const last = steady(d, 0, 100, 31); // 10 fps: threshold max(300, 250) = 300 ms
    d.onFrame(last + 299);
    expect(d.take().freezes).toBe(0);
    const d2 = new FreezeDetector();
    const last2 = steady(d2, 0, 100, 31);
    d2.onFrame(last2 + 300);
    expect(d2.take()).toMatchObject({ freezes: 1, frozen: 0.3 });
  });

  it("averages over the last 30 frames only", () => {
    const d = new FreezeDetector();
    // a slow start (500 ms frames) is forgotten after 30 fast ones
    const slow = steady(d, 0, 500, 5);
    const fast = steady(d, slow + 33, 33, 31);
    d.onFrame(fast + 200); // average 33 ms: 200 >= 183 is a freeze
    expect(d.take().freezes).toBe(1);
  });

  it("needs one duration before it can judge, and reports windows separately", () => {
    const d = new FreezeDetector();
    d.onFrame(0);
    d.onFrame(5_000); // no average yet: not judged
    expect(d.take()).toEqual({ freezes: 0, frozen: 0, frames: 2 });
    steady(d, 5_033, 33, 40);
    d.onFrame(5_033 + 39 * 33 + 1_000);
    expect(d.take()).toEqual({ freezes: 1, frozen: 1, frames: 41 });
    expect(d.take()).toEqual({ freezes: 0, frozen: 0, frames: 0 });
  });

  it("continues a previous stream's history: the outage between the two streams is one freeze, the old one's frames stay its own", () => {
    const before = new FreezeDetector();
    const last = steady(before, 0, 50, 40);
    expect(before.take()).toEqual({ freezes: 0, frozen: 0, frames: 40 });
    const after = new FreezeDetector();
    after.continueFrom(before);
    steady(after, last + 12_000, 50, 20);
    const totals = after.take();
    expect(totals).toMatchObject({ freezes: 1, frames: 20 });
    expect(totals.frozen).toBeCloseTo(12, 9);
    // without the history the first frame has nothing to measure against
    const fresh = new FreezeDetector();
    steady(fresh, last + 12_000, 50, 20);
    expect(fresh.take()).toEqual({ freezes: 0, frozen: 0, frames: 20 });
  });

  it("keeps its own history once it has a frame, and a continued detector judges by the old average", () => {
    const before = new FreezeDetector();
    steady(before, 0, 50, 40);
    const started = new FreezeDetector();
    started.onFrame(100_000);
    started.continueFrom(before);
    started.onFrame(100_050);
    expect(started.take()).toEqual({ freezes: 0, frozen: 0, frames: 2 });
    // the old average (50 ms) holds at once: 200 ms is max(150, 200) = a freeze
    const continued = new FreezeDetector();
    continued.continueFrom(before);
    continued.onFrame(1950 + 200);
    expect(continued.take()).toMatchObject({ freezes: 1, frames: 1 });
  });
});
