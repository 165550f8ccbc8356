import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDrill } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { drillPlanText } from "./dry-run.js";

const DRILL = join(dirname(fileURLToPath(import.meta.url)), "../../../chaos/kill-room-node.yaml");

describe("drillPlanText", () => {
  it("says the target, workload, timeline, expectations and abort of a shipped drill, in that order", async () => {
    const text = drillPlanText(await loadDrill(DRILL));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^drill kill-room-node \(.*kill-room-node\.yaml\)$/);
    expect(text).toContain("target: local testbed of 3 node(s) + redis + haproxy");
    expect(text).toContain("workload: 4 room(s), 12 participants");
    expect(text).toMatch(/\+0s\s+kill: node\.kill on the node hosting the busiest room; .*revert after 30s/);
    expect(text).toContain("detect (signal-via-failed-node) p95 <= 2s");
    expect(text).toContain("participants lost <= 0");
    expect(text).toContain("abort: after");
    const order = [
      "target:",
      "workload:",
      "steady state:",
      "timeline:",
      "expectations:",
      "abort:",
      "dry run:",
    ];
    const at = order.map((word) => lines.findIndex((l) => l.startsWith(word)));
    expect(
      at.every((i) => i > 0),
      `${order.join(" ")} at ${at.join(" ")}`,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(lines.at(-2)).toBe("dry run: nothing was started, no fault was injected");
  });
});
