import { describe, expect, it } from "vitest";
import { endOnTime } from "./orchestrator.js";

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
