import { describe, expect, it } from "vitest";
import { dryRunPlan } from "./bench.js";
import { WORKLOADS } from "./workloads.js";

describe("dryRunPlan", () => {
  it("lists every point with its hold and the point process's spec, and says when rooms grow", () => {
    const plan = dryRunPlan({
      quick: false,
      holdS: 60,
      workloads: WORKLOADS.filter((w) => w.name === "video"),
      rooms: undefined,
      retries: 1,
      outDir: "/repo/bench",
      engine: { statsIntervalMs: 30_000 },
      dryRun: true,
    }).split("\n");
    expect(plan[0]).toMatch(/^testbed: 1 livekit-server node/);
    expect(plan[1]).toMatch(/^video 1 room\(s\), 5 participants: hold 78 s, 60 s measured; point process \{/);
    expect(plan[1]).toContain('"simulcast":false');
    expect(plan[1]).toContain('"statsIntervalMs":30000');
    expect(plan).toContain("  ... then doubling video rooms up to 64 until saturation");
  });
});
