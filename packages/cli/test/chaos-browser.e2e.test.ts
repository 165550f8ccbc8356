/**
 * The shipped kill-room-node drill's fault with browser participants, on a real 3-node LiveKit
 * (Redis, HAProxy, a network namespace per node), run through the CLI as a user runs it: one room
 * of 1 audio publisher + 2 subscribers, each a livekit-client page in its own headless Chromium
 * (three browsers: what this 2-core machine carries beside the testbed). Every browser participant
 * must come back, its reconnect reported like the other engines' (a `reconnecting` first, a timed
 * `reconnected` with its path), its media flow per track (stall and resume named `<publisher>/audio`),
 * and the journal and reports must carry the native drill's figures.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";
import { drillWorkload, swarm, writeDrill } from "@livekit-swarm/test-kit";
import { drillFigures, expectKillDrillRecovered, killBusiestRoomNode, story } from "./kill-drill.js";

const dir = mkdtempSync(join(tmpdir(), "chaos-browser-e2e-"));

describe("a chaos drill with the browser engine", () => {
  it("kill the room's node: every browser participant reconnects, media stalls and resumes per track, the report reads like native's", async () => {
    // one room: all three participants are on the killed node, whoever they signal through, so
    // the signal-via bound (which could have nobody) is left out
    const file = writeDrill(
      dir,
      "kill-browser",
      `${drillWorkload("  engine: browser\n", "{ nodes: 3 }", 1)}${killBusiestRoomNode(false)}`,
    );
    const out = join(dir, "kill-browser-out");
    // testbed start, three Chromiums launched and joined, 6 s baseline, 35 s observation, 6 s after
    // window and the rollback: about 80 s on an idle 2-core machine, 300 s for a loaded one
    const r = await swarm(["chaos", "run", file, "-o", out], {}, 300_000);
    const j = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
    expect(j.status, r.stderr).toBe("completed");
    expect(r.stderr).not.toMatch(/does not report per-track media flow/);
    const hit = expectKillDrillRecovered(j, out, 3);
    const why = story(j);
    expect(j.participants, why).toHaveLength(3);
    // the reconnect was announced and timed: a resume used to reach us as a 0 s `reconnected`
    // with no `reconnecting` before it (livekit-client says SignalReconnecting for those)
    for (const p of hit) {
      expect(p.detectMs, `${p.identity}\n${why}`).not.toBeNull();
      expect(p.reconnectMs ?? 0, `${p.identity}\n${why}`).toBeGreaterThan(0);
    }
    console.log(drillFigures("browser kill-room-node", j));
  }, 360_000);
});
