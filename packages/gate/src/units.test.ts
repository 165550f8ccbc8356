import { describe, expect, it } from "vitest";
import { formatIn } from "./units.js";

describe("formatIn", () => {
  it("prints seconds as ms below a second and s above, at zero and at the extremes", () => {
    expect(formatIn("lkswarm_join_duration_seconds", 0)).toBe("0 ms");
    expect(formatIn("lkswarm_join_duration_seconds", 0.094)).toBe("94 ms");
    expect(formatIn("lkswarm_join_duration_seconds", 0.0005)).toBe("0.5 ms");
    expect(formatIn("lkswarm_join_duration_seconds", 1)).toBe("1 s");
    expect(formatIn("lkswarm_join_duration_seconds", 18.5)).toBe("18.5 s");
    expect(formatIn("lkswarm_join_duration_seconds", 0.3, true)).toBe("+300 ms");
    expect(formatIn("lkswarm_join_duration_seconds", -0.3, true)).toBe("-300 ms");
  });

  it("prints ratios as percentages, and counts and unknown metrics as numbers", () => {
    expect(formatIn("lkswarm_inbound_loss_ratio", 0)).toBe("0.00%");
    expect(formatIn("lkswarm_inbound_loss_ratio", 0.094)).toBe("9.40%");
    expect(formatIn("lkswarm_inbound_loss_ratio", 1)).toBe("100.00%");
    expect(formatIn("lkswarm_join_failures_total", 3)).toBe("3");
    expect(formatIn("no_such_metric", 0.123456)).toBe("0.1235");
  });
});
