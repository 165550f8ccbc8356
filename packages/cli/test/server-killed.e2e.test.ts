import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Testbed, signal } from "@livekit-swarm/testbed";
import { alive, startSwarm, testbedEnv } from "@livekit-swarm/test-kit";

interface Summary {
  run: { endReason: string; workerPids: number[] };
  participants: { joined: number; connectedAtEnd: number; disconnects: Record<string, number> };
}

describe("a server that dies mid-run", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it("ends the run with exit 1, writes the report, and leaves no worker behind", async () => {
    tb = await Testbed.start({ name: `e2e-killed-${process.pid}` });
    const out = mkdtempSync(join(tmpdir(), "swarm-killed-"));
    const run = startSwarm(
      ["--rooms", "2", "--subscribers", "2", "--duration", "120s", "-o", out],
      testbedEnv(tb),
    );
    const { exited } = run;
    // kill the node once everyone is in: the progress line says so (non-TTY: every 5 s)
    const deadline = Date.now() + 60_000;
    while (!/6\/6 joined, 6 connected/.test(run.stderr)) {
      if (Date.now() > deadline) throw new Error(`the swarm never got all 6 participants in:\n${run.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const node = tb.nodes[0];
    expect(node?.alive).toBe(true);
    signal(node?.pid ?? -1, "SIGKILL");

    // the run gives the server 20 s to come back, then drains for at most 15 s
    const code = await exited;
    expect(code, run.stderr).toBe(1);
    expect(run.stderr).toContain("the server became unreachable during the run");
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
    expect(summary.run.endReason).toBe("server-unreachable");
    expect(summary.participants.joined).toBe(6);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("server-unreachable");
    expect(summary.run.workerPids.length).toBeGreaterThan(0);
    expect(summary.run.workerPids.filter(alive), "worker processes still alive").toEqual([]);
  }, 120_000);
});
