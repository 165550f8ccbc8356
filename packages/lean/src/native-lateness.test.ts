import { describe, expect, it } from "vitest";
import { MIN_WINDOW_TICKS, NativeTickLateness, latenessBetween } from "./native-lateness.js";

/** lean-media.c's 101 buckets, with `counts` at their indices. */
const buckets = (counts: Readonly<Record<number, number>>): number[] =>
  Array.from({ length: 101 }, (_, i) => counts[i] ?? 0);

describe("latenessBetween: one window of the native thread's ticks", () => {
  it("counts the window's ticks and reads their p99 and latest, whole milliseconds", () => {
    const before = buckets({ 0: 500, 3: 20 });
    // 100 ticks in the window: 97 on time, 2 at 3 ms, 1 at 40 ms
    const after = buckets({ 0: 597, 3: 22, 40: 1 });
    expect(latenessBetween(before, after)).toEqual({ ticks: 100, lateP99Ms: 3, lateMaxMs: 40 });
  });

  it("puts the p99 at the nearest rank: 2 late ticks of 100 make it late, 1 does not", () => {
    expect(latenessBetween(buckets({}), buckets({ 0: 98, 12: 2 }))?.lateP99Ms).toBe(12);
    expect(latenessBetween(buckets({}), buckets({ 0: 99, 12: 1 }))).toEqual({
      ticks: 100,
      lateP99Ms: 0,
      lateMaxMs: 12,
    });
  });

  it("reads the last bucket as 100 ms or more, a stall's skipped ticks with it", () => {
    expect(latenessBetween(buckets({}), buckets({ 100: 5, 0: 5 }))).toEqual({
      ticks: 10,
      lateP99Ms: 100,
      lateMaxMs: 100,
    });
  });

  it("has no figure for a window without ticks, or counts that went back", () => {
    expect(latenessBetween(buckets({ 0: 7 }), buckets({ 0: 7 }))).toBeUndefined();
    expect(latenessBetween(buckets({ 0: 7 }), buckets({ 0: 6, 1: 3 }))).toBeUndefined();
  });
});

/** No send jitter yet (the addon a unit file shares its process with must not answer for the tests). */
const noJitter = (): undefined => undefined;

describe("NativeTickLateness: the thread's windows", () => {
  it("has no figures without a thread, and gives each window the ticks since the last one it gave", () => {
    let counts: number[] | undefined;
    const windows = new NativeTickLateness(() => counts, noJitter);
    expect(windows.window()).toBeUndefined();
    counts = buckets({ 0: 240, 4: 10 });
    expect(windows.window()).toEqual({ ticks: 250, lateP99Ms: 4, lateMaxMs: 4 });
    counts = buckets({ 0: 480, 4: 10, 30: 10 });
    expect(windows.window()).toEqual({ ticks: 250, lateP99Ms: 30, lateMaxMs: 30 });
  });

  it(`waits for ${MIN_WINDOW_TICKS} ticks (a short --stats-interval): one late tick of 50 is no late window`, () => {
    let counts = buckets({});
    const windows = new NativeTickLateness(() => counts, noJitter);
    // 1 s windows: 50 ticks each
    counts = buckets({ 0: 49, 40: 1 });
    expect(windows.window()).toBeUndefined();
    counts = buckets({ 0: 99, 40: 1 });
    // the two windows' 100 ticks together: the late one is the max, not the p99
    expect(windows.window()).toEqual({ ticks: 100, lateP99Ms: 0, lateMaxMs: 40 });
    counts = buckets({ 0: 149, 40: 1 });
    expect(windows.window()).toBeUndefined();
  });

  it("carries the thread's send jitter at the window's end, and none before it has one or a value no jitter can be", () => {
    let counts = buckets({});
    let jitter: number | undefined;
    const windows = new NativeTickLateness(
      () => counts,
      () => jitter,
    );
    counts = buckets({ 0: 250 });
    expect(windows.window()).toEqual({ ticks: 250, lateP99Ms: 0, lateMaxMs: 0 });
    jitter = 0.25;
    counts = buckets({ 0: 500 });
    expect(windows.window()).toEqual({ ticks: 250, lateP99Ms: 0, lateMaxMs: 0, sendJitterMs: 0.25 });
    for (const bad of [-1, Number.NaN, Infinity]) {
      jitter = bad;
      counts = buckets({ 0: (counts[0] ?? 0) + 250 });
      expect(windows.window(), String(bad)).toEqual({ ticks: 250, lateP99Ms: 0, lateMaxMs: 0 });
    }
  });
});
