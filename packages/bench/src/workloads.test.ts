import { describe, expect, it } from "vitest";
import { WORKLOADS, joinGraceMs, rampMs, roomSeries, runDurationS } from "./workloads.js";

const audio = WORKLOADS[0];
if (audio === undefined) throw new Error("no audio workload");

describe("workload timing", () => {
  it("spaces joins 100 ms apart, the first at 0", () => {
    expect(rampMs(1)).toBe(0);
    expect(rampMs(50)).toBe(4_900);
  });

  it("lets joins lag at least 8 s, and up to the ramp's own length on big points", () => {
    expect(joinGraceMs(5)).toBe(8_000);
    expect(joinGraceMs(200)).toBe(19_900);
  });

  it("lets browser joins, each a Chromium launch, lag a minute", () => {
    expect(joinGraceMs(10, "browser")).toBe(60_000);
    expect(joinGraceMs(10, "lean")).toBe(8_000);
    // 30 + ceil(3 + 60 + 1.5) + 5
    expect(runDurationS(30, 10, "browser")).toBe(100);
  });

  it("holds long enough for settle, join grace, the window and the tail", () => {
    // 20 + ceil((3 + 8 + 1.5)) + 5
    expect(runDurationS(20, 5)).toBe(38);
  });

  it("runs the quick series without growth, the full one growing, explicit counts as given", () => {
    expect(roomSeries(audio, { rooms: undefined, quick: true })).toEqual({
      counts: [1, 10, 20],
      grow: false,
    });
    expect(roomSeries(audio, { rooms: undefined, quick: false })).toEqual({
      counts: [1, 10, 20, 40, 80],
      grow: true,
    });
    expect(roomSeries(audio, { rooms: [3], quick: false })).toEqual({ counts: [3], grow: false });
  });
});
