/**
 * Split brain on a real 3-node LiveKit (v1.13.5), through the CLI: after a node freeze, or an empty
 * Redis restart, the room's old copy deletes its live state, and a late joiner lands in a second
 * instance of the same room name (docs/livekit-behaviour.md 4.1). The drill must name it with both
 * room SIDs and fail. The ground truth is what the clients themselves report: the late joiner's
 * room SID against the others', and whether it sees and hears them.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DrillJournal, Finding, ParticipantOutcome } from "@livekit-swarm/chaos";
import type { FindingId } from "@livekit-swarm/schema";
import { drillWorkload, leftovers, swarm, writeDrill } from "@livekit-swarm/test-kit";

const dir = mkdtempSync(join(tmpdir(), "chaos-split-e2e-"));

async function runDrill(
  name: string,
  body: string,
  workloadExtra = "",
): Promise<{ journal: DrillJournal; code: number | null; out: string }> {
  const file = writeDrill(dir, name, `${drillWorkload(workloadExtra, "{ nodes: 3 }")}${body}`);
  const out = join(dir, `${name}-out`);
  // a drill of about two minutes on a loaded 2-core machine: generous
  const r = await swarm(["chaos", "run", file, "-o", out], {}, 300_000);
  const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
  expect(r.code, r.stderr).toBe(journal.exitCode);
  return { journal, code: r.code, out };
}

/** Per room: the late joiner's room SID at the end, and the SIDs of the planned participants. */
function sidsByRoom(j: DrillJournal): Map<string, { late: ParticipantOutcome; others: Set<string | null> }> {
  const out = new Map<string, { late: ParticipantOutcome; others: Set<string | null> }>();
  for (const room of j.rooms) {
    const members = j.participants.filter((p) => p.room === room.room);
    const late = members.find((p) => p.lateJoiner !== null);
    if (late === undefined) throw new Error(`${room.room} has no late joiner: ${JSON.stringify(members)}`);
    out.set(room.room, {
      late,
      others: new Set(members.filter((p) => p.lateJoiner === null).map((p) => p.roomSidAfter)),
    });
  }
  return out;
}

/** The drill's finding `id` about `room` (its detail starts with the room's name). */
function findingIn(j: DrillJournal, id: FindingId, room: string): Finding | undefined {
  return j.findings.find((f) => f.id === id && f.detail.startsWith(`${room}:`));
}

/**
 * Every room whose late joiner ended in another instance than the others is named as a split brain
 * with both SIDs; every room where it joined the others' instance is not. Returns the split rooms.
 */
function expectSplitsNamed(j: DrillJournal): string[] {
  const split: string[] = [];
  for (const [room, { late, others }] of sidsByRoom(j)) {
    expect(
      late.connectedAtEnd,
      `${room}: the late joiner is not connected (${String(late.lostReason)})`,
    ).toBe(true);
    expect(late.roomSidAfter, `${room}: the late joiner reported no room SID`).toMatch(/^RM_/);
    const finding = findingIn(j, "split-brain", room);
    if (others.has(late.roomSidAfter) && others.size === 1) {
      expect(finding, `${room}: one instance, yet ${finding?.detail ?? ""}`).toBeUndefined();
      // one who was never told of another in its own instance is named as such (seen once in CI
      // after an empty Redis restart), with that instance's SID, never as two rooms
      const unseen = findingIn(j, "peers-unseen", room);
      if (unseen !== undefined) {
        console.log(`${room}: ${unseen.detail}`);
        // the Rooms table, from the clients' SIDs, agrees: one instance, the late joiner's
        expect(
          j.rooms.find((r) => r.room === room)?.instances.map((i) => i.sid),
          unseen.detail,
        ).toEqual([late.roomSidAfter]);
      }
      continue;
    }
    split.push(room);
    expect(findingIn(j, "peers-unseen", room), `${room}: two instances, named as one`).toBeUndefined();
    expect(
      finding?.severity,
      `${room}: late joiner in ${String(late.roomSidAfter)}, others in ${[...others].join(", ")}, no finding`,
    ).toBe("high");
    for (const sid of [late.roomSidAfter, ...others]) expect(finding?.detail).toContain(String(sid));
    expect(finding?.detail).toContain(`${late.identity} sees none of`);
    expect(j.rooms.find((r) => r.room === room)?.instances.length).toBe(2);
  }
  return split;
}

describe("split brain on a 3-node testbed (LiveKit v1.13.5)", () => {
  it("a freeze drill with late joiners names the split brain with both room SIDs and fails", async () => {
    const { journal: j, out } = await runDrill(
      "freeze-late",
      `observe: 20s
faults:
  - id: freeze
    type: node.freeze
    target: busiest-room-node
    duration: 20s
  # the thawed node deletes the moved rooms' state about 40 s after it thaws
  - id: late
    type: client.join
    at: 70s
`,
    );
    expect(j.status, j.reason).toBe("completed");
    const [freeze, late] = j.faults;
    expect(freeze?.revertedAt, "the freeze was not reverted").not.toBeNull();
    expect(late?.evidence ?? late?.error).toMatch(/^4 of 4 late joiner\(s\) joined/);
    const frozen = freeze?.subjects[0]?.name;

    const split = expectSplitsNamed(j);
    expect(split.length, JSON.stringify(j.findings, null, 1)).toBeGreaterThan(0);
    // only rooms the frozen node hosted can split: the others never moved
    for (const room of split) expect(j.rooms.find((r) => r.room === room)?.nodeBefore).toBe(frozen);
    // the clients moved off the frozen node: the Rooms table says so, whatever Redis says now
    for (const room of j.rooms.filter((r) => split.includes(r.room))) {
      expect(room.nodeAfter, room.room).not.toBe(frozen);
      expect(room.relocated, room.room).toBe(true);
    }
    expect(j.verdict).toBe("fail");
    expect(j.reason).toContain("split-brain");
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("split brain");
    const runDir = j.deployment.runDir;
    expect(typeof runDir === "string" ? leftovers(runDir) : ["no run dir"]).toEqual([]);
  }, 360_000);

  it("Redis lost for 20 s and restarted empty: every late joiner that lands in a second instance is named with both SIDs", async () => {
    const { journal: j } = await runDrill(
      "redis-late",
      `observe: 20s
faults:
  - id: redis
    type: redis.kill
    duration: 20s
  - id: late
    type: client.join
    at: 55s
expect:
  participants-lost: 0
`,
      "  rejoin: true\n",
    );
    expect(j.status, j.reason).toBe("completed");
    const split = expectSplitsNamed(j);
    // LiveKit splits some rooms here, not always: 2 or 3 of 4 in three runs
    // (docs/livekit-behaviour.md 4.1), none in a CI run of 2026-11-30, where every late joiner
    // joined its room's one instance. Then no split brain is named (checked above), and the lost
    // room state still is, failing the drill
    if (split.length === 0) {
      console.log(
        `no room split: ${JSON.stringify(j.rooms.map((r) => [r.room, r.roomSidsBefore, r.instances.map((i) => i.sid)]))}`,
      );
      expect(
        j.findings.map((f) => f.id),
        JSON.stringify(j.findings, null, 1),
      ).toContain("missing-from-server-view");
    }
    // a room re-created under a new SID is told apart from one that kept its SID
    for (const room of j.rooms) {
      const main = room.instances[0]?.sid;
      if (main !== undefined && !room.roomSidsBefore.includes(main))
        expect(room.nodeAfter, `${room.room} re-created as ${main}`).not.toBeNull();
    }
    expect(j.verdict).toBe("fail");
    const runDir = j.deployment.runDir;
    expect(typeof runDir === "string" ? leftovers(runDir) : ["no run dir"]).toEqual([]);
  }, 360_000);
});
