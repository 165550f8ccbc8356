/**
 * The shipped kill-room-node drill's fault with browser participants, on a real 3-node LiveKit
 * (Redis, HAProxy, a network namespace per node), run through the CLI as a user runs it: one room
 * of 1 audio publisher + 2 subscribers, each a livekit-client page in its own headless Chromium
 * (three browsers: what this 2-core machine carries beside the testbed). Every browser participant
 * must come back, its reconnect reported like the other engines' (a `reconnecting` first, a timed
 * `reconnected` with its path), its media flow per track (stall and resume named `<publisher>/audio`),
 * and the journal and reports must carry the native drill's figures. And a client.simulate drill,
 * acted out by livekit-client's own simulateScenario in the pages.
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
    // one room: all three participants are on the killed node, but how many signal through it is
    // the balancer's round robin (and the drill's own calls through it), so detect is bounded over
    // everyone rather than per population, either of which can be empty
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

  // force-tcp: the server restarts ICE preferring TCP and livekit-client reconnects in full over
  // it; the one scenario lean refuses, and the one whose outcome the journal can hold to ground
  // truth (the selected pair's transport before and after). 1 publisher + 1 subscriber on one
  // node: two Chromiums
  it("client.simulate force-tcp on browser participants: each comes back in full over TCP", async () => {
    const file = writeDrill(
      dir,
      "simulate-browser",
      `target: { nodes: 1 }
workload:
  rooms: 1
  audio-publishers: 1
  video-publishers: 0
  subscribers: 1
  duration: 5m
  engine: browser
baseline: 6s
after: 6s
observe: 12s
faults:
  - type: client.simulate
    target: { participants: 100% }
    scenario: force-tcp
expect:
  participants-lost: 0
`,
    );
    const out = join(dir, "simulate-browser-out");
    const r = await swarm(["chaos", "run", file, "-o", out], {}, 240_000);
    const j = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
    expect(j.status, `${j.reason}\n${r.stderr}`).toBe("completed");
    expect(j.faults[0]?.evidence, r.stderr).toBe("2 participant(s) ran simulateScenario(force-tcp)");
    const why = story(j);
    expect(j.participants, why).toHaveLength(2);
    for (const p of j.participants) {
      expect(p.connectedAtEnd, why).toBe(true);
      expect(p.path, why).toBe("full");
      expect(p.transportBefore, why).toBe("udp");
      expect(p.transportAfter, why).toBe("tcp");
    }
    expect(j.verdict, r.stdout).toBe("pass");
    expect(r.code).toBe(0);
  }, 300_000);
});
