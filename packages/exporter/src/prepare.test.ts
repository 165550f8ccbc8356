import { describe, expect, it } from "vitest";
import { SwarmExporter } from "./exporter.js";

describe("SwarmExporter.prepare", () => {
  it("creates each announced participant's series at 0 before any event, so rate() sees the first join", async () => {
    const exporter = new SwarmExporter({ scenario: "s", runId: "r" });
    exporter.prepare([
      { worker: 0, role: "publisher", room: "r1", participant: "p" },
      { worker: 1, role: "subscriber", room: "r2", participant: "q" },
    ]);
    const text = await exporter.metrics();
    for (const [worker, role] of [
      ["0", "publisher"],
      ["1", "subscriber"],
    ] as const) {
      expect(text).toContain(
        `lkswarm_join_duration_seconds_count{scenario="s",run_id="r",shard="0",worker="${worker}",role="${role}"} 0`,
      );
    }
    expect(text).toContain(
      'lkswarm_inbound_packets_expected_total{scenario="s",run_id="r",shard="0",worker="1",kind="audio"} 0',
    );
  });
});
