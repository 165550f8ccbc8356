import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Testbed } from "@livekit-swarm/testbed";
import { freePort, startSwarm, testbedEnv } from "@livekit-swarm/test-kit";

/** The value of one series on a /metrics page, 0 when absent. */
function value(text: string, name: string, labels: Record<string, string>): number {
  return text
    .split("\n")
    .filter(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    )
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // only the latest attempt's error is worth reporting: an early refusal means nothing later
    let error = "";
    const ok = await check().catch((err: unknown) => {
      error = ` (last attempt: ${err instanceof Error ? err.message : String(err)})`;
      return false;
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${error}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
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
      await waitFor(
        "two joins",
        30_000,
        async () => value(await metrics(), "lkswarm_join_duration_seconds_count", {}) >= 2,
      );
      const rooms = tb.roomService();
      const [room] = await rooms.listRooms();
      expect(room?.name).toBe("canary-1");
      await rooms.removeParticipant("canary-1", "lkswarm-sub-1");

      // the gap: a disconnect by the server's hand, then a third join (the rejoin), with the participant connected again
      await waitFor(
        "the removal to be counted",
        15_000,
        async () =>
          value(await metrics(), "lkswarm_disconnects_total", { reason: "participant_removed" }) === 1,
      );
      await waitFor(
        "the rejoin",
        20_000,
        async () => value(await metrics(), "lkswarm_join_duration_seconds_count", {}) >= 3,
      );
      await waitFor("both connected again", 10_000, async () => {
        const text = await metrics();
        return value(text, "lkswarm_participants", { role: "subscriber", state: "connected" }) === 1;
      });
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
