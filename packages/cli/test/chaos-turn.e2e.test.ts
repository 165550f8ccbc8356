/**
 * The shipped kill-turn-node drill, run through the CLI as a user runs it, on a real 3-node LiveKit
 * (Redis, HAProxy, LiveKit's built-in TURN over UDP on every node) with half the participants in a
 * client namespace whose firewall lets out only TCP to the signalling port and UDP to the nodes'
 * TURN ports: their only media path is a TURN relay (docs/transport.md). The node hosting the
 * busiest room is killed: every participant must come back, and those behind TURN must come back
 * over TURN (a surviving node's, since the killed node's relay died with it), as the journal, the
 * summary and the report say.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";
import type { EventContext, ParticipantEvent } from "@livekit-swarm/schema";
import { clientNamespaces, isRoot, runLines, swarm } from "@livekit-swarm/test-kit";
import { drillFigures, expectKillDrillRecovered, row, story } from "./kill-drill.js";

const drillFile = fileURLToPath(new URL("../../../chaos/kill-turn-node.yaml", import.meta.url));
type EventLine = EventContext & { readonly t: number; readonly event: ParticipantEvent };

describe.skipIf(!isRoot)(
  "a chaos drill with participants behind TURN (skipped without root: network namespaces)",
  () => {
    it("kill-turn-node: the node hosting the busiest room dies; the TURN-only participants come back over another node's TURN", async () => {
      const namespacesBefore = clientNamespaces();
      const out = join(mkdtempSync(join(tmpdir(), "chaos-turn-e2e-")), "out");
      // testbed start, room placement, 15 s baseline, 40 s observation, 15 s after window and
      // the rollback: about 100 s on an idle 2-core machine, 300 s leaves room for a loaded one
      const r = await swarm(["chaos", "run", drillFile, "-o", out], {}, 300_000);
      const j = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
      const why = story(j);
      expect(r.code, `${r.stderr}\n${why}`).toBe(0);
      expect(j.status, r.stderr).toBe("completed");
      const hit = expectKillDrillRecovered(j, out, 3);

      // half the swarm selected a relay over UDP at the join, the other half host UDP: the
      // turn-only firewall leaves no other path, so the class is ground truth for where media went
      const paths = j.aggregates.byTransport ?? [];
      expect(
        paths.map((t) => [t.transport, t.participants]),
        why,
      ).toEqual(
        expect.arrayContaining([
          ["udp", 6],
          ["turn-udp", 6],
        ]),
      );
      expect(paths).toHaveLength(2);
      const turnHit = hit.filter((p) => p.transportBefore === "turn-udp");
      expect(turnHit.length, why).toBeGreaterThanOrEqual(1);
      // each TURN participant of the killed node's rooms came back, over TURN again
      for (const p of turnHit) {
        expect(p.reconnectMs, `${p.room}/${p.identity}\n${why}`).not.toBeNull();
        expect(p.transportAfter, `${p.room}/${p.identity}\n${why}`).toBe("turn-udp");
      }
      const turn = paths.find((t) => t.transport === "turn-udp");
      const turnBack = j.participants.filter(
        (p) => p.transportBefore === "turn-udp" && p.affected && p.reconnectMs !== null,
      );
      expect(turn?.backOver, why).toEqual({ "turn-udp": turnBack.length });
      expect(turn?.reconnect.n, why).toBe(turnBack.length);

      // the events behind it: each of them told a relay pair over UDP after its last reconnect,
      // selected anew (a transport event after the reconnected event, not the join's)
      const events = runLines<EventLine>(join(out, "swarm", "events.jsonl"));
      for (const p of turnHit) {
        const mine = events.filter((e) => e.room === p.room && e.participant === p.identity);
        const back = mine.filter((e) => e.event.type === "reconnected").at(-1)?.t ?? Infinity;
        const after = mine.filter((e) => e.event.type === "transport" && e.t >= back);
        expect(after.length, `${p.room}/${p.identity}: ${JSON.stringify(mine)}`).toBeGreaterThanOrEqual(1);
        for (const e of after)
          expect(e.event, `${p.room}/${p.identity}`).toMatchObject({
            transport: "turn-udp",
            local: "relay",
            relayProtocol: "udp",
          });
      }

      // what the user reads: the summary line and the report's rows per path
      expect(r.stdout).toMatch(
        /^by path before: .*turn-udp \d+\/6 reconnect p95 [\d.]+ s back over turn-udp \d+/m,
      );
      const report = readFileSync(join(out, "report.md"), "utf8");
      expect(report).toContain("By the path their media took before the faults");
      const turnRow = row(report, "turn-udp");
      expect(turnRow, report).toEqual([
        "6",
        String(turn?.affected),
        expect.stringMatching(/ s \/ /),
        `turn-udp ${turnBack.length}`,
      ]);
      const html = readFileSync(join(out, "report.html"), "utf8");
      expect(html).toContain("Per path before the faults");
      expect(html).toContain("turn-udp → turn-udp");

      // the client namespace went with the drill (the testbed's own leftovers are checked above)
      expect(clientNamespaces()).toEqual(namespacesBefore);
      console.log(drillFigures("kill-turn-node", j));
    }, 360_000);
  },
);
