import { describe, expect, it } from "vitest";
import type { TransportClass } from "@livekit-swarm/schema";
import { recoveryAggregates } from "./aggregates.js";
import { distribution } from "./quality.js";
import type { ParticipantWalk, WalkOutcome } from "./participant.js";

function walk(
  identity: string,
  before: TransportClass | undefined,
  after: TransportClass | undefined,
  reconnectMs: number | null,
): ParticipantWalk {
  const outcome: WalkOutcome = {
    identity,
    room: "r",
    role: "subscriber",
    fault: reconnectMs === null ? null : "kill",
    signalNode: null,
    population: null,
    roomNodeBefore: null,
    roomNodeAfter: null,
    affected: reconnectMs !== null || identity.includes("lost"),
    detectMs: reconnectMs === null ? null : 0,
    reconnectMs,
    path: reconnectMs === null ? null : "full",
    episodes: reconnectMs === null ? 0 : 1,
    mediaResumeMs: null,
    connectedAtEnd: !identity.includes("lost"),
    lostReason: identity.includes("lost") ? "stuck_reconnecting" : null,
    sidBefore: null,
    sidAfter: null,
    ...(before !== undefined ? { transportBefore: before } : {}),
    ...(after !== undefined ? { transportAfter: after } : {}),
  };
  return { outcome, tracks: [], episodes: [], history: [], timeline: [], findings: [] };
}

describe("recoveryAggregates by path before the faults", () => {
  it("counts each path's participants, the affected, their reconnects, and what those back came back over", () => {
    const a = recoveryAggregates(
      [
        walk("a", "turn-udp", "turn-udp", 10_000),
        walk("b", "turn-udp", "tcp", 12_000),
        walk("c", "turn-udp", "turn-udp", null),
        // knocked down and never back: affected, not back over anything
        walk("lost", "turn-udp", "turn-udp", null),
        walk("d", "udp", "udp", 3_000),
      ],
      [],
      null,
    );
    expect(a.byTransport).toEqual([
      {
        transport: "turn-udp",
        participants: 4,
        affected: 3,
        detect: { n: 2, p50: 0, p95: 0, max: 0 },
        reconnect: distribution([10_000, 12_000]),
        backOver: { "turn-udp": 1, tcp: 1 },
      },
      {
        transport: "udp",
        participants: 1,
        affected: 1,
        detect: { n: 1, p50: 0, p95: 0, max: 0 },
        reconnect: { n: 1, p50: 3_000, p95: 3_000, max: 3_000 },
        backOver: { udp: 1 },
      },
    ]);
  });

  it("leaves the split out when no engine told a path", () => {
    expect(
      recoveryAggregates([walk("a", undefined, undefined, 1_000)], [], null).byTransport,
    ).toBeUndefined();
  });
});
