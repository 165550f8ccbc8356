import type { DrillFault } from "@livekit-swarm/schema";
import type { ParticipantPlan } from "@livekit-swarm/load";
import { describe, expect, it } from "vitest";
import { lateJoin, lateJoiners } from "./late.js";

function plan(room: string, identity: string, publishAudio: boolean): ParticipantPlan {
  return {
    room,
    identity,
    role: publishAudio ? "publisher" : "subscriber",
    publishAudio,
    publishVideo: false,
    publisherIndex: publishAudio ? 0 : -1,
    subscribe: !publishAudio,
    probe: false,
    expectedTracks: { audio: publishAudio ? 0 : 1, video: 0 },
    joinAtMs: 0,
    engine: "native",
  };
}

const PLANNED = [plan("r1", "pub-1", true), plan("r1", "sub-1", false), plan("r2", "pub-1", true)];
const JOIN: DrillFault = {
  id: "late",
  type: "client.join",
  target: { kind: "every-room" },
  at: 70_000,
  duration: null,
  confirmWithin: 10_000,
  params: { perRoom: 2 },
};

describe("late joiners", () => {
  it("adds per-room subscribers to every room, expecting each publisher's tracks", () => {
    const joiners = lateJoiners(JOIN, PLANNED);
    expect(joiners.map((p) => `${p.room}/${p.identity}`)).toEqual([
      "r1/late-1",
      "r1/late-2",
      "r2/late-1",
      "r2/late-2",
    ]);
    for (const p of joiners) {
      expect(p).toMatchObject({
        role: "subscriber",
        subscribe: true,
        publishAudio: false,
        publishVideo: false,
      });
      expect(p.expectedTracks).toEqual({ audio: 1, video: 0 });
    }
  });

  it("is confirmed once every joiner reported, with the room SID each got, and rejects the ones that never did", async () => {
    const joiners = lateJoiners({ ...JOIN, params: { perRoom: 1 } }, PLANNED);
    const asked: string[] = [];
    const reports = new Map([["r1/late-1", { ok: true, detail: "in RM_a" }]]);
    const fault = lateJoin(joiners, (ps) => asked.push(...ps.map((p) => p.identity)), {
      joinedSince: () => reports,
    });
    expect(asked).toEqual(["late-1", "late-1"]);
    await expect(fault.confirm(Date.now() + 120)).rejects.toThrow(
      "1 of 2 late joiner(s) reported neither a join nor a failure in time: r2/late-1",
    );
    reports.set("r2/late-1", { ok: false, detail: "failed: unreachable" });
    await expect(fault.confirm(Date.now() + 120)).resolves.toBe(
      "1 of 2 late joiner(s) joined: r1/late-1 in RM_a, r2/late-1 failed: unreachable",
    );
  });

  it("cannot join without a running swarm", () => {
    expect(() => lateJoin(lateJoiners(JOIN, PLANNED), undefined, { joinedSince: () => new Map() })).toThrow(
      "the swarm is not running",
    );
  });
});
