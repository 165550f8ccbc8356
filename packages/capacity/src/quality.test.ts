import { describe, expect, it } from "vitest";
import { ThresholdError } from "@livekit-swarm/gate";
import { DEFAULT_QUALITY, qualityTexts, qualityThresholds } from "./quality.js";

describe("quality thresholds", () => {
  it("splits on `;`, across repeated flags, and expands the short names", () => {
    expect(qualityTexts(["loss p95 < 1%; join p99 < 2s", "jitter{kind=audio} p95 < 30ms", " "])).toEqual([
      "lkswarm_inbound_loss_ratio p95 < 1%",
      "lkswarm_join_duration_seconds p99 < 2s",
      "lkswarm_inbound_jitter_seconds{kind=audio} p95 < 30ms",
    ]);
  });

  it("leaves catalog names and unknown words alone (the gate then names what is wrong)", () => {
    expect(qualityTexts(["lkswarm_reconnects_total count <= 0"])).toEqual([
      "lkswarm_reconnects_total count <= 0",
    ]);
    expect(() => qualityThresholds(["lossy p95 < 1%"], 0)).toThrow(ThresholdError);
  });

  it("refuses a quality that holds no threshold: it would judge every step good", () => {
    for (const empty of [[""], [";;;"], [" ; "], []])
      expect(() => qualityThresholds(empty, 0)).toThrow(/holds no threshold; give at least one, e\.g\. "loss p95 < 1%"/);
  });

  it("applies the step's warm-up to windowed metrics but not to joins, which happen during it", () => {
    const byMetric = new Map(qualityThresholds([DEFAULT_QUALITY], 25_000).map((t) => [t.metric, t.warmupMs]));
    expect(byMetric.get("lkswarm_inbound_loss_ratio")).toBe(25_000);
    expect(byMetric.get("lkswarm_inbound_jitter_seconds")).toBe(25_000);
    expect(byMetric.get("lkswarm_reconnects_total")).toBe(25_000);
    expect(byMetric.get("lkswarm_join_duration_seconds")).toBeUndefined();
  });

  it("keeps a threshold's own warm-up", () => {
    expect(qualityThresholds(["loss p95 < 1% warmup=5s"], 25_000)[0]?.warmupMs).toBe(5_000);
  });
});
