import { describe, expect, it } from "vitest";
import { endOnTime, holdEnd } from "./orchestrator.js";

describe("endOnTime: a run that reached its planned end", () => {
  it("completed when anybody joined, even one participant who later left", () => {
    expect(endOnTime(1, undefined)).toBe("completed");
    expect(endOnTime(250, false)).toBe("completed");
  });

  it("ended with nobody joined is not completed: it exits as an error, not 0 over an empty summary", () => {
    // measured: workers that took 12 s to load rtc-node on a loaded host, an 8 s hold, 0 joined, exit 0
    expect(endOnTime(0, undefined)).toBe("no-participant-joined");
    expect(endOnTime(0, false)).toBe("no-participant-joined");
  });

  it("a persistent swarm (the canary) keeps its own rules", () => {
    expect(endOnTime(0, true)).toBe("completed");
  });
});

describe("holdEnd: what a progress tick does about the run's planned end", () => {
  it("ends the run once the end has passed, at the tick or after it", () => {
    expect(holdEnd(10_000, 10_000, 1000)).toBe("now");
    expect(holdEnd(10_000, 10_400, 1000)).toBe("now");
  });

  it("sets a timer for the end when it falls before the next tick, not a tick late", () => {
    // a 3 s hold after a 0.2 s ramp, ticks at 1, 2, 3 s: the end at 3.2 s came at the 4 s tick
    expect(holdEnd(3200, 3000, 1000)).toBe(200);
    expect(holdEnd(3200, 2201, 1000)).toBe(999);
  });

  it("waits for a later tick when the end is a tick or more away", () => {
    expect(holdEnd(3200, 2200, 1000)).toBeUndefined();
    expect(holdEnd(60_000, 1000, 1000)).toBeUndefined();
  });
});
