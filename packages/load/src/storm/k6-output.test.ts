import { describe, expect, it } from "vitest";
import { parseK6Summary, stormObservations } from "./k6-output.js";

const point = (metric: string, value: number, tags: Record<string, string> = {}): string =>
  JSON.stringify({ type: "Point", metric, data: { time: "2026-11-23T06:00:00.250Z", value, tags } });

describe("stormObservations", () => {
  it("turns the storm metrics' points into joins, failures by reason and RoomService calls", () => {
    const lines = [
      JSON.stringify({ type: "Metric", metric: "storm_join_duration", data: { type: "trend" } }),
      point("storm_join_duration", 12, { phase: "join" }),
      point("storm_joins", 1),
      point("storm_join_failures", 1, { reason: "timeout" }),
      point("storm_join_failures", 2, { reason: "rejected" }),
      point("storm_sessions_ended", 1, { phase: "join" }),
      point("storm_reconnect_duration", 30, { answer: "resumed" }),
      point("storm_reconnect_failures", 1, { reason: "closed" }),
      point("storm_api_duration", 4.5, { method: "ListRooms" }),
      point("storm_api_failures", 1, { method: "CreateRoom", reason: "http_503" }),
      point("ws_connecting", 11),
      "",
    ].join("\n");
    const { observations, unreadable } = stormObservations(lines);
    const t = Date.parse("2026-11-23T06:00:00.250Z");
    expect(unreadable).toBe(0);
    expect(observations).toEqual([
      { type: "join", t, durationS: 0.012 },
      { type: "join-failed", t, reason: "timeout" },
      { type: "join-failed", t, reason: "rejected" },
      { type: "join-failed", t, reason: "rejected" },
      { type: "session-ended", t },
      { type: "reconnect", t, state: "resumed", durationS: 0.03 },
      { type: "reconnect-failed", t, reason: "closed" },
      { type: "api", t, method: "ListRooms", durationS: 0.0045 },
      { type: "api-failed", t, method: "CreateRoom", reason: "http_503" },
    ]);
  });

  it("skips a line k6 did not finish writing, and counts it", () => {
    const { observations, unreadable } = stormObservations(
      `${point("storm_join_duration", 3)}\n{"type":"Point","metric":"storm_jo`,
    );
    expect(observations).toHaveLength(1);
    expect(unreadable).toBe(1);
  });

  it("names a failure without a reason tag unknown", () => {
    expect(stormObservations(point("storm_join_failures", 1)).observations).toEqual([
      { type: "join-failed", t: Date.parse("2026-11-23T06:00:00.250Z"), reason: "unknown" },
    ]);
  });
});

describe("parseK6Summary", () => {
  it("keeps each metric's figures and reads a crossed threshold (true) as failed", () => {
    const s = parseK6Summary({
      metrics: {
        storm_join_duration: {
          "p(95)": 117,
          "p(99)": 300,
          count: 26,
          thresholds: { "p(95)<1000": false, "p(99)<100": true },
        },
        storm_join_failures: { count: 0, rate: 0, thresholds: { "count<=0": false } },
      },
    });
    expect(s.metrics.storm_join_duration).toEqual({ "p(95)": 117, "p(99)": 300, count: 26 });
    expect(s.thresholds).toEqual([
      { metric: "storm_join_duration", expression: "p(95)<1000", passed: true },
      { metric: "storm_join_duration", expression: "p(99)<100", passed: false },
      { metric: "storm_join_failures", expression: "count<=0", passed: true },
    ]);
  });

  it("leaves out a figure that is no finite number (JSON's 1e999 parses to Infinity)", () => {
    const s = parseK6Summary(
      JSON.parse('{"metrics":{"storm_join_duration":{"p(95)":1e999,"count":"7","max":12}}}'),
    );
    expect(s.metrics.storm_join_duration).toEqual({ max: 12 });
  });

  it("reads a document without metrics as empty", () => {
    expect(parseK6Summary(null)).toEqual({ metrics: {}, thresholds: [] });
  });
});
