import { describe, expect, it } from "vitest";
import type { InboundTrackSample, WindowSample } from "@livekit-swarm/schema";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { Measurements } from "./measurements.js";
import { githubAnnotations, junitXml, markdownSummary } from "./outputs.js";
import { parseThreshold } from "./threshold.js";
import { evaluate } from "./verdict.js";

const track = (
  key: string,
  kind: "audio" | "video",
  expected: number,
  lost: number,
  jitterS = 0.005,
): InboundTrackSample => inboundTrack({ key, kind, expected, lost, bytes: 1000, jitterS });

const sample = (participant: string, t: number, inbound: InboundTrackSample[]): WindowSample =>
  windowSample({ t, room: "r", participant, inbound, rttS: 0.01 });

function run(): Measurements {
  const m = new Measurements();
  m.setRunWindow(0, 20_000);
  const ctx = (participant: string, t: number) => ({
    t,
    room: "r",
    participant,
    role: "subscriber" as const,
    worker: 0,
  });
  m.onEvent(ctx("a", 100), { type: "joined", joinS: 0.2 });
  m.onEvent(ctx("b", 200), { type: "joined", joinS: 1.5 });
  m.onEvent(ctx("c", 300), { type: "join-failed", reason: "timeout", message: "timed out" });
  // warm-up window at t=5 s: heavy loss that a 6 s warm-up must leave out
  m.onSample(sample("a", 5000, [track("a1", "video", 100, 50)]));
  m.onSample(sample("a", 10_000, [track("a1", "video", 1000, 10), track("a2", "audio", 500, 0)]));
  m.onSample(sample("b", 10_000, [track("b1", "video", 1000, 40)]));
  return m;
}

describe("evaluate", () => {
  it("loss over participants is each participant's ratio of sums, and warm-up is left out", () => {
    const m = run();
    const all = evaluate(
      [parseThreshold("lkswarm_inbound_loss_ratio{kind=video} max over participants < 5%")],
      m,
    ).results[0];
    // a: (50+10)/(100+1000) = 5.45%, b: 4%
    expect(all?.observed).toBeCloseTo(60 / 1100, 12);
    expect(all?.status).toBe("fail");
    const warm = evaluate(
      [parseThreshold("lkswarm_inbound_loss_ratio{kind=video} max over participants < 5% warmup=6s")],
      m,
    ).results[0];
    expect(warm?.observed).toBeCloseTo(0.04, 12);
    expect(warm?.status).toBe("pass");
  });

  it("label filters select one kind; windows are raw per-track-window values", () => {
    const m = run();
    const r = evaluate([parseThreshold("lkswarm_inbound_loss_ratio{kind=audio} max over windows == 0")], m)
      .results[0];
    expect(r).toMatchObject({ observed: 0, n: 1, status: "pass" });
  });

  it("nearest-rank percentiles over participants", () => {
    const r = evaluate([parseThreshold("lkswarm_join_duration_seconds p50 over participants < 1s")], run())
      .results[0];
    expect(r).toMatchObject({ observed: 0.2, n: 2, status: "pass" });
  });

  it("counts of events: one join failure breaches count == 0; none is a real 0", () => {
    const v = evaluate([parseThreshold("lkswarm_join_failures_total count == 0")], run());
    expect(v.passed).toBe(false);
    expect(v.results[0]).toMatchObject({ observed: 1, status: "fail" });
    const empty = new Measurements();
    expect(
      evaluate([parseThreshold("lkswarm_join_failures_total count == 0")], empty).results[0]?.status,
    ).toBe("pass");
  });

  it("no data never passes: min_samples unmet is a failure (or a warning at warn severity)", () => {
    const m = run();
    const v = evaluate(
      [
        parseThreshold("lkswarm_end_to_end_latency_seconds p95 < 400ms"),
        parseThreshold("lkswarm_join_duration_seconds p95 < 5s min_samples=3 severity=warn"),
      ],
      m,
    );
    expect(v.results.map((r) => r.status)).toEqual(["no-data", "warn"]);
    expect(v.passed).toBe(false);
  });

  it("warn breaches report but pass", () => {
    const v = evaluate([parseThreshold("lkswarm_join_duration_seconds max < 1s severity=warn")], run());
    expect(v.results[0]?.status).toBe("warn");
    expect(v.passed).toBe(true);
  });

  it("rate is per second over the evaluated run", () => {
    const r = evaluate([parseThreshold("lkswarm_join_failures_total rate < 1")], run()).results[0];
    expect(r?.observed).toBeCloseTo(1 / 20, 12);
  });
});

describe("outputs", () => {
  const verdict = evaluate(
    [
      parseThreshold("lkswarm_join_failures_total count == 0"),
      parseThreshold("lkswarm_join_duration_seconds p50 < 1s"),
    ],
    run(),
  );

  it("JUnit has one test case per threshold and fails the breached one with the numbers", () => {
    const xml = junitXml(verdict, "livekit-swarm", 12.3);
    expect(xml).toContain('tests="2" failures="1"');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(2);
    expect(xml).toContain(
      '<failure message="lkswarm_join_failures_total count == 0: observed 1 from 1 events, breaching == 0"',
    );
  });

  it("markdown summary and GitHub annotations name the failure", () => {
    expect(markdownSummary(verdict, "swarm")).toContain("### swarm: FAILED");
    expect(githubAnnotations(verdict)).toEqual([
      "::error title=threshold lkswarm_join_failures_total::lkswarm_join_failures_total count == 0: observed 1 from 1 events, breaching == 0",
    ]);
  });
});
