import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Testbed } from "@livekit-swarm/testbed";
import { freePort, startSwarm, testbedEnv, waitFor } from "@livekit-swarm/test-kit";

/** The value of one series on a /metrics page, 0 when absent. */
function value(text: string, name: string, labels: Record<string, string>): number {
  return text
    .split("\n")
    .filter(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    )
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

describe("swarm canary", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it("rejoins after its subscriber is removed through RoomService, and its metrics show the gap", async () => {
    tb = await Testbed.start({ name: `e2e-canary-${process.pid}` });
    const port = await freePort();
    const out = mkdtempSync(join(tmpdir(), "swarm-canary-"));
    const run = startSwarm(
      ["canary", "--metrics-port", String(port), "--room", "canary-", "-o", out],
      testbedEnv(tb),
    );
    const { child, exited } = run;
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    try {
      // both participants in: publisher and subscriber joined (the join histogram counts joins)
      await waitFor(async () => value(await metrics(), "lkswarm_join_duration_seconds_count", {}) >= 2, {
        timeoutMs: 30_000,
        debugName: "two joins",
        intervalMs: 250,
      });
      const rooms = tb.roomService();
      const [room] = await rooms.listRooms();
      expect(room?.name).toBe("canary-1");
      await rooms.removeParticipant("canary-1", "lkswarm-sub-1");

      // the gap: a disconnect by the server's hand, then a third join (the rejoin), with the participant connected again
      await waitFor(
        async () =>
          value(await metrics(), "lkswarm_disconnects_total", { reason: "participant_removed" }) === 1,
        { timeoutMs: 15_000, debugName: "the removal to be counted", intervalMs: 250 },
      );
      await waitFor(async () => value(await metrics(), "lkswarm_join_duration_seconds_count", {}) >= 3, {
        timeoutMs: 20_000,
        debugName: "the rejoin",
        intervalMs: 250,
      });
      await waitFor(
        async () =>
          value(await metrics(), "lkswarm_participants", { role: "subscriber", state: "connected" }) === 1,
        { timeoutMs: 10_000, debugName: "both connected again", intervalMs: 250 },
      );
      expect((await rooms.listParticipants("canary-1")).map((p) => p.identity).sort()).toEqual([
        "lkswarm-pub-1",
        "lkswarm-sub-1",
      ]);
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\ncanary stderr:\n${run.stderr}`);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited, run.stderr).toBe(130);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      participants: { disconnects: Record<string, number> };
    };
    expect(summary.participants.disconnects).toEqual({ participant_removed: 1 });
  }, 120_000);
});
