import { describe, expect, it } from "vitest";
import { parsePointEvent, pointEventLine } from "./progress.js";

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
});
