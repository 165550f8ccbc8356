import { describe, expect, it } from "vitest";
import { k6ThresholdResult } from "./report.js";

describe("k6ThresholdResult", () => {
  const summary = {
    metrics: { storm_join_duration: { "p(95)": 117, count: 26 }, storm_join_failures: { count: 3 } },
    thresholds: [],
  };

  it("states k6's figure, its limit and whether k6 saw it crossed", () => {
    const r = k6ThresholdResult(
      { metric: "storm_join_duration", expression: "p(95)<100", passed: false },
      summary,
    );
    expect(r).toMatchObject({
      threshold: "k6: storm_join_duration p(95)<100",
      status: "fail",
      observed: 117,
      limit: 100,
      op: "<",
      n: 26,
    });
  });

  it("reads count thresholds", () => {
    const r = k6ThresholdResult(
      { metric: "storm_join_failures", expression: "count<=0", passed: false },
      summary,
    );
    expect(r).toMatchObject({ status: "fail", observed: 3, limit: 0, op: "<=" });
  });
});
