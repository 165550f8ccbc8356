import { describe, expect, it } from "vitest";
import { parseScenario } from "@livekit-swarm/schema";
import type { ParticipantPlan } from "./messages.js";
import {
  assignProfiles,
  checkShares,
  forkInNamespace,
  placeProfiles,
  planPlaced,
  restrictiveProfiles,
  shardByProfile,
} from "./network-placement.js";

const plans = (n: number): ParticipantPlan[] =>
  Array.from({ length: n }, (_, i) => ({
    engine: "native",
    room: `r${Math.floor(i / 5)}`,
    identity: `p${i}`,
    role: "subscriber",
    publishAudio: false,
    publishVideo: false,
    publisherIndex: 0,
    subscribe: true,
    probe: false,
    expectedTracks: { audio: 1, video: 0 },
    joinAtMs: 0,
  }));

describe("checkShares", () => {
  it("refuses an unknown profile, a share outside 0-100% and shares that do not add up, naming the fix", () => {
    expect(() => {
      checkShares({ open: 0.5, "udp-blockd": 0.5 } as never);
    }).toThrow('network profiles: "udp-blockd" is not a profile: use open, udp-blocked, tcp-only, turn-only');
    expect(() => {
      checkShares({ open: 1.5 });
    }).toThrow("open must be 0% to 100%");
    expect(() => {
      checkShares({ open: 0.8, "udp-blocked": 0.1 });
    }).toThrow("the shares add up to 90.0%, not 100%: adjust them");
    expect(() => {
      checkShares({ open: 0.8, "udp-blocked": 0.15, "tcp-only": 0.05 });
    }).not.toThrow();
  });
});

describe("assignProfiles", () => {
  it("gives each profile its share of whole participants, exactly when the shares allow", () => {
    const placed = assignProfiles(plans(100), { open: 0.8, "udp-blocked": 0.15, "tcp-only": 0.05 });
    expect([...placed].map(([p, ps]) => [p, ps.length])).toEqual([
      ["open", 80],
      ["udp-blocked", 15],
      ["tcp-only", 5],
    ]);
    expect(new Set([...placed.values()].flat().map((p) => p.identity)).size).toBe(100);
  });

  it("interleaves profiles over the plan instead of filling the last rooms", () => {
    const placed = assignProfiles(plans(20), { open: 0.5, "udp-blocked": 0.5 });
    const rooms = new Set(placed.get("udp-blocked")?.map((p) => p.room));
    expect(rooms).toEqual(new Set(["r0", "r1", "r2", "r3"]));
  });

  it("keeps every participant at the extremes: one participant, one profile, a share of 0", () => {
    expect(assignProfiles(plans(1), { "tcp-only": 1 }).get("tcp-only")).toHaveLength(1);
    const placed = assignProfiles(plans(3), { open: 1, "udp-blocked": 0 });
    expect([...placed.keys()]).toEqual(["open"]);
    expect(placed.get("open")).toHaveLength(3);
    expect(assignProfiles([], { open: 1 }).get("open")).toEqual([]);
  });
});

describe("forkInNamespace", () => {
  it("starts node through ip netns exec in one of our namespaces only", () => {
    expect(forkInNamespace("lkc0a1fn2", "/usr/bin/node")).toEqual({
      execPath: "ip",
      execArgv: ["netns", "exec", "lkc0a1fn2", "/usr/bin/node"],
    });
    for (const bad of ["lks0a1fn1", "lkc0a1fn1; rm -rf /", "../lkc0a1fn1", ""])
      expect(() => forkInNamespace(bad)).toThrow("is not a client namespace of ours");
  });
});

describe("placeProfiles", () => {
  it("sets each participant's profile in plan order, and the restrictive ones need a namespace each", () => {
    const placed = placeProfiles(plans(4), { open: 0.5, "udp-blocked": 0.25, "tcp-only": 0.25 });
    expect(placed.map((p) => [p.identity, p.profile])).toEqual([
      ["p0", "open"],
      ["p1", "udp-blocked"],
      ["p2", "tcp-only"],
      ["p3", "open"],
    ]);
    expect(restrictiveProfiles(placed)).toEqual(["udp-blocked", "tcp-only"]);
  });

  it("leaves a plan where everyone is open as it was: no profile, no namespace", () => {
    const placed = placeProfiles(plans(3), { open: 1, "udp-blocked": 0 });
    expect(placed.map((p) => p.profile)).toEqual([undefined, undefined, undefined]);
    expect(restrictiveProfiles(placed)).toEqual([]);
  });

  it("refuses shares that do not add up before placing anyone", () => {
    expect(() => placeProfiles(plans(3), { open: 0.5 })).toThrow("add up to 50.0%, not 100%");
  });
});

describe("planPlaced", () => {
  const scenario = (engine: string, profiles: string) =>
    parseScenario(
      `rooms: 1\nengine: ${engine}\naudio-publishers: 1\nvideo-publishers: 0\nsubscribers: 3\nnetwork-profiles: ${profiles}\n`,
      "test.yaml",
    );

  it.each(["udp-blocked", "tcp-only", "turn-only"])(
    "refuses lean participants behind %s (host UDP candidates only), naming the fix",
    (profile) => {
      expect(() => planPlaced(scenario("lean", `{ open: 50%, ${profile}: 50% }`))).toThrow(
        `--engine lean: the lean engine connects over host UDP candidates only (no ICE over TCP, no TURN), so its participants cannot connect behind ${profile}: drop it from network-profiles (lean connects from open), or --engine native`,
      );
    },
  );

  it("names every profile lean cannot connect behind in one refusal", () => {
    expect(() =>
      planPlaced(scenario("lean", "{ open: 25%, udp-blocked: 25%, tcp-only: 25%, turn-only: 25% }")),
    ).toThrow(/behind udp-blocked or tcp-only or turn-only: drop them from network-profiles/);
  });

  it("refuses a mixed run whose lean bulk lands behind udp-blocked, in the run's own words", () => {
    expect(() => planPlaced(scenario("mixed", "{ open: 50%, udp-blocked: 50% }"))).toThrow(
      /^--engine mixed: the lean engine .* behind udp-blocked/,
    );
  });

  it("places lean participants on open alone, and native ones behind every profile", () => {
    expect(planPlaced(scenario("lean", "{ open: 100% }")).participants.map((p) => p.profile)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(
      planPlaced(scenario("native", "{ open: 25%, udp-blocked: 25%, tcp-only: 25%, turn-only: 25% }"))
        .participants.map((p) => p.profile)
        .sort(),
    ).toEqual(["open", "tcp-only", "turn-only", "udp-blocked"]);
  });
});

describe("shardByProfile", () => {
  const plan = (participants: ParticipantPlan[]) => ({
    participants,
    rampMs: 0,
    rooms: [...new Set(participants.map((p) => p.room))],
  });

  it("never puts two profiles in one worker, and gives every participant a worker", () => {
    const placed = placeProfiles(plans(20), { open: 0.75, "udp-blocked": 0.25 });
    const shards = shardByProfile(plan(placed), 4);
    for (const s of shards) expect(new Set(s.participants.map((p) => p.profile)).size).toBe(1);
    // 3 of 4 workers for the 15 open participants (rooms 0 and 3 share the first), 1 for the 5 others
    expect(shards.map((s) => [s.profile, s.participants.length])).toEqual([
      ["open", 8],
      ["open", 4],
      ["open", 3],
      ["udp-blocked", 5],
    ]);
  });

  it("gives a small profile one worker even when its proportional share rounds to none", () => {
    const placed = placeProfiles(plans(20), { open: 0.95, "tcp-only": 0.05 });
    const shards = shardByProfile(plan(placed), 1);
    expect(shards.map((s) => [s.profile, s.participants.length])).toEqual([
      ["open", 19],
      ["tcp-only", 1],
    ]);
  });

  it("is shardByRoom for a plan without profiles", () => {
    const shards = shardByProfile(plan(plans(10)), 2);
    expect(shards.map((s) => [s.profile, new Set(s.participants.map((p) => p.room))])).toEqual([
      [undefined, new Set(["r0"])],
      [undefined, new Set(["r1"])],
    ]);
  });
});
