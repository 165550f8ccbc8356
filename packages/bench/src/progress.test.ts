import { describe, expect, it } from "vitest";
import { parsePointEvent, pointEventLine, progressEvent } from "./progress.js";

describe("point events", () => {
  it("round-trips an event through its JSON line", () => {
    const event = { type: "started", participants: 5, workers: 1, rampMs: 400 } as const;
    expect(parsePointEvent(pointEventLine(event).trimEnd())).toEqual(event);
  });

  it("ignores lines that are not events: text, broken JSON, unknown types", () => {
    expect(parsePointEvent("[   3 s] ramp: 1/5 joined")).toBeUndefined();
    expect(parsePointEvent('{"type":')).toBeUndefined();
    expect(parsePointEvent('{"type":"hello"}')).toBeUndefined();
    expect(parsePointEvent("{}")).toBeUndefined();
  });

  it("turns orchestrator progress into an event once the run's clock started", () => {
    const view = {
      elapsedMs: 0,
      rampMs: 1000,
      totalMs: 5000,
      planned: 4,
      joined: 0,
      failed: 0,
      connected: 0,
      reconnecting: 0,
      lossP95: undefined,
      jitterP95S: undefined,
      bitrateInBps: 0,
      phase: "ramp",
    } as const;
    expect(progressEvent(view, 10_000)).toBeUndefined();
    expect(progressEvent({ ...view, elapsedMs: 1500, joined: 3 }, 10_000)).toEqual({
      type: "progress",
      startedAtMs: 8_500,
      phase: "ramp",
      planned: 4,
      joined: 3,
      connected: 0,
      failed: 0,
    });
  });
});
