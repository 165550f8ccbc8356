import { describe, expect, it } from "vitest";
import type { ParticipantPlan } from "./messages.js";
import { assignProfiles, checkShares, forkInNamespace } from "./network-placement.js";

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
    expect(() => { checkShares({ open: 0.5, "udp-blockd": 0.5 } as never); }).toThrow(
      'network profiles: "udp-blockd" is not a profile: use open, udp-blocked, tcp-only',
    );
    expect(() => { checkShares({ open: 1.5 }); }).toThrow("open must be 0% to 100%");
    expect(() => { checkShares({ open: 0.8, "udp-blocked": 0.1 }); }).toThrow(
      "the shares add up to 90.0%, not 100%: adjust them",
    );
    expect(() => { checkShares({ open: 0.8, "udp-blocked": 0.15, "tcp-only": 0.05 }); }).not.toThrow();
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
