import { describe, expect, it } from "vitest";
import { defaultThresholds, parseThreshold, ThresholdError } from "./threshold.js";

describe("parseThreshold: valid expressions", () => {
  it("reads metric, label filter, percentile, population, comparison and units", () => {
    expect(parseThreshold("lkswarm_inbound_loss_ratio{kind=video} p95 over participants < 2%")).toMatchObject(
      {
        metric: "lkswarm_inbound_loss_ratio",
        where: { kind: "video" },
        aggregation: "p95",
        population: "participants",
        op: "<",
        value: 0.02,
        severity: "fail",
        minSamples: 1,
      },
    );
  });

  it.each([
    ["lkswarm_join_duration_seconds p99 < 2s", 2],
    ["lkswarm_inbound_jitter_seconds p95 over windows < 30ms", 0.03],
    ["lkswarm_end_to_end_latency_seconds max <= 500000us", 0.5],
    ["lkswarm_join_duration_seconds p50 < 0.8", 0.8],
  ])("%s -> %s in base units", (text, value) => {
    expect(parseThreshold(text).value).toBeCloseTo(value, 12);
  });

  it.each([
    ["lkswarm_join_duration_seconds p99 < 2 s", 2],
    ["lkswarm_inbound_jitter_seconds p95 over windows <= 30 ms", 0.03],
    ["lkswarm_inbound_loss_ratio p95 < 2 %", 0.02],
    ["lkswarm_join_duration_seconds p99 < 2 s severity=warn", 2],
  ])("a unit may follow its number after a space: %s", (text, value) => {
    expect(parseThreshold(text).value).toBeCloseTo(value, 12);
  });

  it("keeps options after a spaced unit", () => {
    expect(
      parseThreshold("lkswarm_join_duration_seconds p99 < 2 s severity=warn min_samples=3"),
    ).toMatchObject({
      value: 2,
      severity: "warn",
      minSamples: 3,
    });
  });

  it("defaults the population from the catalog's own threshold for the metric", () => {
    expect(parseThreshold("lkswarm_inbound_loss_ratio p95 < 2%").population).toBe("participants");
    expect(parseThreshold("lkswarm_inbound_jitter_seconds p95 < 30ms").population).toBe("windows");
    expect(parseThreshold("lkswarm_time_to_first_frame_seconds p95 < 2s").population).toBe("tracks");
  });

  it("counts and rates of counters, with options", () => {
    expect(parseThreshold("lkswarm_join_failures_total count == 0")).toMatchObject({
      aggregation: "count",
      population: undefined,
      op: "==",
      value: 0,
    });
    expect(parseThreshold("lkswarm_reconnects_total rate < 0.1 severity=warn")).toMatchObject({
      aggregation: "rate",
      severity: "warn",
    });
    expect(parseThreshold("lkswarm_inbound_bytes_total{kind=video} rate > 100kbps").value).toBeCloseTo(
      12_500,
      9,
    );
    expect(
      parseThreshold("lkswarm_inbound_loss_ratio p95 < 2% min_samples=10 warmup=30s abort=20s"),
    ).toMatchObject({
      minSamples: 10,
      warmupMs: 30_000,
      abortAfterMs: 20_000,
    });
  });

  it("the catalog's defaults all parse (--gate default)", () => {
    const defaults = defaultThresholds();
    expect(defaults.length).toBeGreaterThanOrEqual(8);
    expect(defaults.map((t) => t.text)).toContain("lkswarm_inbound_loss_ratio p95 over participants < 0.02");
  });
});

describe("parseThreshold: malformed expressions point at the text and the fix", () => {
  it.each([
    [
      "lkswarm_inbound_los_ratio p95 < 2%",
      "unknown metric lkswarm_inbound_los_ratio (did you mean lkswarm_inbound_loss_ratio",
    ],
    ["lkswarm_inbound_loss_ratio p95", 'expected a comparison (<= >= == != < >) and a value after "p95"'],
    ["lkswarm_inbound_loss_ratio p96.5.1 < 2%", 'unknown aggregation "p96.5.1"'],
    ["lkswarm_inbound_loss_ratio median < 2%", 'unknown aggregation "median"'],
    [
      "lkswarm_inbound_loss_ratio p95 < 30ms",
      "ms applies to time metrics; lkswarm_inbound_loss_ratio is in ratio",
    ],
    ["lkswarm_join_duration_seconds p99 < 2%", "% applies to ratio metrics"],
    ["lkswarm_join_duration_seconds p99 < 2 parsecs", 'option "parsecs": expected key=value'],
    ["lkswarm_join_duration_seconds p99 < 2x", 'unknown unit "x"'],
    ["lkswarm_inbound_loss_ratio{colour=red} p95 < 2%", 'has no label "colour"; its labels are'],
    ["lkswarm_inbound_loss_ratio{kind} p95 < 2%", 'label filter "kind": expected label=value'],
    ["lkswarm_join_failures_total p95 < 1", "is a counter: use count (total) or rate (per second), not p95"],
    ["lkswarm_join_duration_seconds rate < 1", "rate needs a counter"],
    [
      "lkswarm_join_failures_total count over participants == 0",
      'count sums every event: drop "over participants"',
    ],
    [
      "lkswarm_inbound_loss_ratio p95 over rooms < 2%",
      'expected "over participants", "over tracks" or "over windows", got "over rooms"',
    ],
    ["lkswarm_inbound_loss_ratio p95 < 2% severity=fatal", 'severity: expected warn or fail, got "fatal"'],
    [
      "lkswarm_inbound_loss_ratio p95 < 2% min_samples=0",
      "min_samples: expected a whole number of at least 1",
    ],
    ["lkswarm_inbound_loss_ratio p95 < 2% warmup=soon", "warmup: "],
    ["lkswarm_inbound_loss_ratio p95 < 2% severity=warn abort=10s", "abort applies to fail thresholds only"],
    [
      "livekit_packet_loss_total count == 0",
      "is a LiveKit server metric: gate it with `swarm gate --prometheus URL`",
    ],
    ["lkswarm_participants max < 10", "is a gauge of the live swarm"],
    ["p95 loss < 2%", "unknown metric p95"],
    ["", "expected a metric name first"],
  ])("%j", (text, expected) => {
    let caught: unknown;
    try {
      parseThreshold(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ThresholdError);
    const message = (caught as ThresholdError).message;
    expect(message.startsWith(`threshold "${text.trim()}": `)).toBe(true);
    expect(message).toContain(expected);
  });
});

describe("parseThreshold: negative limits", () => {
  it.each([
    "lkswarm_join_duration_seconds p95 < -2s",
    "lkswarm_join_duration_seconds p95 < -2 s",
    "lkswarm_inbound_loss_ratio p95 < -1%",
    "lkswarm_join_failures_total count > -1",
  ])("%s is refused, naming the metric and the fix", (text) => {
    expect(() => parseThreshold(text)).toThrow(ThresholdError);
    expect(() => parseThreshold(text)).toThrow(/is never negative; write a limit of 0 or more/);
  });
});
