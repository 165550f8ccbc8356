import { describe, expect, it } from "vitest";
import { packageOf, pinProblems } from "./pins.js";

describe("packageOf", () => {
  it("names the package of bare, scoped and subpath imports, and none for Node built-ins", () => {
    expect(packageOf("yaml")).toBe("yaml");
    expect(packageOf("zod/v4")).toBe("zod");
    expect(packageOf("@livekit/rtc-node")).toBe("@livekit/rtc-node");
    expect(packageOf("@livekit/protocol/dist/x.js")).toBe("@livekit/protocol");
    expect(packageOf("node:fs")).toBeUndefined();
    expect(packageOf("fs/promises")).toBeUndefined();
    expect(packageOf("child_process")).toBeUndefined();
  });
});

describe("pinProblems", () => {
  it("accepts exact agreement only", () => {
    expect(pinProblems({ yaml: "2.8.1" }, { yaml: "2.8.1" })).toEqual([]);
    expect(pinProblems({ yaml: "^2.8.1" }, { yaml: "2.8.1" })).toEqual([
      "yaml: declared ^2.8.1, tested with 2.8.1 (pin it exactly)",
    ]);
  });

  it("names a missing dependency and one the bundle does not use", () => {
    expect(pinProblems({ commander: "14.0.3" }, { yaml: "2.8.1" })).toEqual([
      "commander: declared, but the bundle never imports it",
      "yaml: missing, the bundle imports it (tested with 2.8.1)",
    ]);
  });
});
