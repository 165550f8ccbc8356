import type { ParticipantEvent } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import {
  analyzeDrill,
  type DrillObservations,
  type ObservedEvent,
  type PlacementSample,
} from "../analyze.js";
import { judgeFindings } from "../verdict.js";

/**
 * A freeze as measured on v1.13.5 (docs/livekit-behaviour.md 4.1): room-0 (RM_A) lives on node1,
 * which is frozen at T0; its clients reconnect to node2 under the same SID; the thawed node later
 * deletes the room's state, and a late joiner at +70 s lands in a second instance, RM_B, on node1.
 */
const T0 = 5_000_000;
const at = (ms: number): number => T0 + ms;
const END = at(90_000);

function on(ms: number, who: string, event: ParticipantEvent): ObservedEvent {
  return {
    t: at(ms),
    room: "room-0",
    participant: who,
    role: who.startsWith("pub") ? "publisher" : "subscriber",
    event,
  };
}

/** Joined before the fault in `roomSid`, seeing `peers`, hearing `hears` (publisher identities). */
function member(who: string, roomSid: string, peers: string[], hears: string[] = []): ObservedEvent[] {
  return [
    on(-20_000, who, { type: "joined", joinS: 0.2, roomSid }),
    on(-19_990, who, { type: "session", sid: `PA_${who}`, roomSid }),
    on(-19_500, who, { type: "peers", identities: peers }),
    ...hears.map((p) =>
      on(-19_000, who, {
        type: "media",
        track: `${p}/audio`,
        kind: "audio",
        flowing: true,
        atMs: at(-19_000),
      }),
    ),
  ];
}

function placed(fromMs: number, toMs: number, node: string | null, sid: string | null): PlacementSample[] {
  const out: PlacementSample[] = [];
  for (let ms = fromMs; ms < toMs; ms += 2000) out.push({ t: at(ms), room: "room-0", node, sid });
  return out;
}

function observations(events: ObservedEvent[], more: Partial<DrillObservations> = {}): DrillObservations {
  const identities = [...new Set(events.map((e) => e.participant))];
  return {
    participants: identities.map((identity) => ({
      room: "room-0",
      identity,
      role: identity.startsWith("pub") ? "publisher" : "subscriber",
      ...(identity.startsWith("late") ? { lateJoiner: "late" } : {}),
    })),
    events,
    samples: [],
    faults: [{ id: "freeze", injectedAt: at(-20), confirmedAt: T0, revertedAt: at(20_000) }],
    serverViews: [],
    placements: [],
    roomNodes: { before: { "room-0": "node1" }, after: { "room-0": "node1" } },
    windows: {
      baselineStart: at(-30_000),
      faultPhaseStart: at(-15_000),
      observeEnd: at(75_000),
      afterStart: at(75_000),
      end: END,
    },
    ...more,
  };
}

const ORIGINALS = [
  ...member("pub-1", "RM_A", ["sub-1", "sub-2"]),
  ...member("sub-1", "RM_A", ["pub-1", "sub-2"], ["pub-1"]),
  ...member("sub-2", "RM_A", ["pub-1", "sub-1"], ["pub-1"]),
];
/** Moved off the frozen node1 to node2 under the same SID at +8 s; deleted at +61 s; RM_B from +70 s. */
const FREEZE_PLACEMENTS = [
  ...placed(-14_000, 8000, "node1", "RM_A"),
  ...placed(8000, 61_000, "node2", "RM_A"),
  ...placed(61_000, 70_000, null, null),
  ...placed(70_000, 90_000, "node1", "RM_B"),
];

describe("split brain", () => {
  const analysis = analyzeDrill(
    observations(
      [
        ...ORIGINALS,
        on(70_000, "late-1", { type: "joined", joinS: 0.1, roomSid: "RM_B" }),
        on(70_010, "late-1", { type: "session", sid: "PA_late1", roomSid: "RM_B" }),
        on(70_250, "late-1", { type: "peers", identities: [] }),
      ],
      { placements: FREEZE_PLACEMENTS },
    ),
  );
  const finding = analysis.findings.find((f) => f.id === "split-brain");

  it("names a late joiner in a second instance of the room, with both SIDs, as a high-severity finding", () => {
    expect(finding?.severity).toBe("high");
    expect(finding?.atMs).toBe(70_000);
    expect(finding?.detail).toContain(
      "two instances at once from 70.0 s to the end: RM_A (pub-1, sub-1, sub-2) and RM_B (late-1)",
    );
    expect(finding?.detail).toContain("late-1 sees none of pub-1, sub-1, sub-2");
    expect(finding?.detail).toContain("pub-1, sub-1, sub-2 see none of late-1");
    expect(finding?.detail).toContain("late-1 (joined at 70.0 s) hears nothing from pub-1");
    expect(finding?.detail).toContain("at the end RM_A on node2, RM_B on node1");
    expect(analysis.timeline).toContainEqual({
      tMs: 70_000,
      kind: "finding",
      subject: "room-0",
      detail: "split brain: RM_A (pub-1, sub-1, sub-2) and RM_B (late-1)",
    });
  });

  it("fails the drill unless the drill accepts split-brain", () => {
    expect(judgeFindings(analysis.findings, []).expectation.met).toBe(false);
    expect(judgeFindings(analysis.findings, ["split-brain"]).expectation.met).toBe(true);
  });

  it("takes the room's node after from the instance most clients are in, not from Redis' newest entry", () => {
    expect(analysis.rooms[0]).toMatchObject({
      nodeBefore: "node1",
      nodeAfter: "node2",
      redisNodeAfter: "node1",
      relocated: true,
      roomSidsBefore: ["RM_A"],
      instances: [
        { sid: "RM_A", node: "node2", participants: ["pub-1", "sub-1", "sub-2"] },
        { sid: "RM_B", node: "node1", participants: ["late-1"] },
      ],
    });
    const late = analysis.participants.find((p) => p.identity === "late-1");
    expect(late).toMatchObject({
      lateJoiner: "late",
      roomSidBefore: null,
      roomSidAfter: "RM_B",
      roomNodeAfter: "node1",
    });
    const sub = analysis.participants.find((p) => p.identity === "sub-1");
    expect(sub).toMatchObject({
      lateJoiner: null,
      roomSidBefore: "RM_A",
      roomSidAfter: "RM_A",
      roomNodeAfter: "node2",
    });
  });

  it("draws no finding from a drill stopped early while the split was still open", () => {
    const stopped = analyzeDrill(
      observations([...ORIGINALS, on(70_000, "late-1", { type: "joined", joinS: 0.1, roomSid: "RM_B" })], {
        placements: FREEZE_PLACEMENTS,
        settled: false,
      }),
    );
    expect(stopped.findings.filter((f) => f.id === "split-brain")).toEqual([]);
  });
});

/** The originals see the late joiner arrive, as they do in one instance of the room. */
const SEE_LATE = [
  on(70_300, "pub-1", { type: "peers", identities: ["late-1", "sub-1", "sub-2"] }),
  on(70_300, "sub-1", { type: "peers", identities: ["late-1", "pub-1", "sub-2"] }),
  on(70_300, "sub-2", { type: "peers", identities: ["late-1", "pub-1", "sub-1"] }),
];

/** late-1 joins the room's one instance at +70 s, sees everyone and hears pub-1. */
const LATE_IN_A = [
  on(70_000, "late-1", { type: "joined", joinS: 0.1, roomSid: "RM_A" }),
  on(70_250, "late-1", { type: "peers", identities: ["pub-1", "sub-1", "sub-2"] }),
  on(70_500, "late-1", {
    type: "media",
    track: "pub-1/audio",
    kind: "audio",
    flowing: true,
    atMs: at(70_500),
  }),
];

describe("no split brain", () => {
  it("a late joiner who sees and hears the room makes no finding, nor does the server listing it before it reports its join", () => {
    const everyone = ["pub-1", "sub-1", "sub-2"].map((identity) => ({ identity, sid: `PA_${identity}` }));
    const serverViews = [1000, 69_500, 71_000].map((ms) => ({
      t: at(ms),
      room: "room-0",
      participants: ms < 69_000 ? everyone : [...everyone, { identity: "late-1", sid: "PA_late1" }],
      error: null,
    }));
    const analysis = analyzeDrill(observations([...ORIGINALS, ...SEE_LATE, ...LATE_IN_A], { serverViews }));
    expect(analysis.findings).toEqual([]);
    expect(analysis.rooms[0]?.consistentMs).toBe(1000);
    expect(analysis.rooms[0]?.instances).toEqual([
      { sid: "RM_A", node: null, participants: ["late-1", "pub-1", "sub-1", "sub-2"] },
    ]);
  });

  it("a late joiner who sees the room but hears nothing is its own finding, not a split brain", () => {
    const analysis = analyzeDrill(
      observations([
        ...ORIGINALS,
        ...SEE_LATE,
        on(70_000, "late-1", { type: "joined", joinS: 0.1, roomSid: "RM_A" }),
        on(70_250, "late-1", { type: "peers", identities: ["pub-1", "sub-1", "sub-2"] }),
      ]),
    );
    expect(analysis.findings.map((f) => f.id)).toEqual(["late-joiner-unheard"]);
    expect(analysis.findings[0]?.detail).toBe(
      "room-0: late-1 (joined at 70.0 s) hears nothing from pub-1, although it sees them",
    );
  });

  it("one who cannot see a late joiner in its own instance is peers-unseen, not a split brain", () => {
    // as in a CI run after an empty Redis restart: every SID the same, sub-1 never told of late-1
    const analysis = analyzeDrill(
      observations([...ORIGINALS, ...SEE_LATE.filter((e) => e.participant !== "sub-1"), ...LATE_IN_A]),
    );
    expect(analysis.findings.map((f) => f.id)).toEqual(["peers-unseen"]);
    expect(analysis.findings[0]).toMatchObject({ severity: "high", accepted: false });
    expect(analysis.findings[0]?.detail).toBe(
      "room-0: sub-1 sees none of late-1, although all are in one instance, RM_A on an unknown node, and each one unseen sees who misses it: the signalling did not tell them of each other",
    );
    expect(judgeFindings(analysis.findings, []).expectation.met).toBe(false);
  });

  it("one SID where neither side sees the other is a split brain: a thawed node can hold the SID its clients moved away with", () => {
    // pub-1 stayed on the thawed node1 in RM_A; sub-1, sub-2 and late-1 are in RM_A on node2
    const analysis = analyzeDrill(
      observations([
        ...member("pub-1", "RM_A", []),
        ...member("sub-1", "RM_A", ["sub-2"]),
        ...member("sub-2", "RM_A", ["sub-1"]),
        on(70_000, "late-1", { type: "joined", joinS: 0.1, roomSid: "RM_A" }),
        on(70_250, "late-1", { type: "peers", identities: ["sub-1", "sub-2"] }),
        on(70_300, "sub-1", { type: "peers", identities: ["late-1", "sub-2"] }),
        on(70_300, "sub-2", { type: "peers", identities: ["late-1", "sub-1"] }),
      ]),
    );
    expect(analysis.findings.map((f) => f.id)).toEqual(["split-brain"]);
    expect(analysis.findings[0]?.detail).toContain("pub-1 sees none of sub-1, sub-2, late-1");
  });

  it("one node named per side keeps one SID from being called one instance", () => {
    const placedOn = (who: string, nodeId: string): ObservedEvent =>
      on(-19_980, who, { type: "session", sid: `PA_${who}`, roomSid: "RM_A", nodeId });
    const analysis = analyzeDrill(
      observations([
        ...ORIGINALS,
        placedOn("pub-1", "node1"),
        placedOn("sub-1", "node2"),
        placedOn("sub-2", "node1"),
        ...SEE_LATE.filter((e) => e.participant !== "sub-1"),
        ...LATE_IN_A,
      ]),
    );
    expect(analysis.findings.map((f) => f.id)).toEqual(["split-brain"]);
  });

  it("a late joiner that misses a subscriber but sees the publisher it cannot hear is peers-unseen and late-joiner-unheard, apart", () => {
    const analysis = analyzeDrill(
      observations([
        ...ORIGINALS,
        ...SEE_LATE,
        on(70_000, "late-1", { type: "joined", joinS: 0.1, roomSid: "RM_A" }),
        on(70_250, "late-1", { type: "peers", identities: ["pub-1", "sub-1"] }),
      ]),
    );
    expect(analysis.findings.map((f) => f.id)).toEqual(["peers-unseen", "late-joiner-unheard"]);
    expect(analysis.findings[0]?.detail).toMatch(/^room-0: late-1 sees none of sub-2, although/);
    expect(analysis.findings[1]?.detail).toBe(
      "room-0: late-1 (joined at 70.0 s) hears nothing from pub-1, although it sees them",
    );
  });

  it("a room re-created under a new SID that everyone moves to is relocated, and a lagging old SID is not a split", () => {
    // Redis restarted empty: everyone comes back into RM_B on node3; sub-2 reports the old SID with
    // Reconnected and the new one 3 s later, as rtc-node's sids lag
    const down = (who: string, ms: number): ObservedEvent => on(ms, who, { type: "reconnecting" });
    const back = (who: string, ms: number, roomSid: string): ObservedEvent =>
      on(ms, who, { type: "reconnected", durationS: 20, path: "full", roomSid });
    const analysis = analyzeDrill(
      observations(
        [
          ...ORIGINALS,
          down("pub-1", 8000),
          down("sub-1", 8000),
          down("sub-2", 8000),
          back("pub-1", 25_000, "RM_B"),
          back("sub-1", 25_000, "RM_B"),
          back("sub-2", 26_000, "RM_A"),
          on(29_000, "sub-2", { type: "session", sid: "PA_sub-2b", roomSid: "RM_B" }),
        ],
        {
          placements: [...placed(-14_000, 8000, "node1", "RM_A"), ...placed(24_000, 90_000, "node3", "RM_B")],
        },
      ),
    );
    expect(analysis.findings).toEqual([]);
    expect(analysis.rooms[0]).toMatchObject({
      nodeAfter: "node3",
      relocated: true,
      roomSidsBefore: ["RM_A"],
      instances: [{ sid: "RM_B", node: "node3" }],
    });
  });

  it("two SIDs for longer than the SDK's lag are a split brain, even without late joiners", () => {
    const analysis = analyzeDrill(
      observations([
        ...ORIGINALS,
        on(25_000, "sub-2", { type: "reconnecting" }),
        on(26_000, "sub-2", { type: "reconnected", durationS: 1, path: "full", roomSid: "RM_C" }),
      ]),
    );
    const found = analysis.findings.find((f) => f.id === "split-brain");
    expect(found?.detail).toContain(
      "two instances at once from 26.0 s to the end: RM_A (pub-1, sub-1) and RM_C (sub-2)",
    );
  });
});
