import { describe, expect, it } from "vitest";
import { parseScenario } from "@livekit-swarm/schema";
import type { ParticipantPlan } from "../run/messages.js";
import { planRun, shapeOf } from "../run/plan.js";
import {
  ShardError,
  checkShard,
  parseShard,
  scenarioHash,
  shardPlan,
  shardedRunId,
  splitRooms,
} from "./split.js";

/** A plan whose rooms hold the given numbers of participants (only room matters to the split). */
function planOfSizes(sizes: readonly number[]) {
  const rooms = sizes.map((_, i) => `room-${i + 1}`);
  const participants = sizes.flatMap((n, i) =>
    Array.from({ length: n }, (): Pick<ParticipantPlan, "room"> => ({ room: `room-${i + 1}` })),
  );
  return { rooms, participants: participants as ParticipantPlan[] };
}

/** Deterministic pseudo-random room sizes (a linear congruential generator), 1 to 12 each. */
function sizesFrom(seed: number, rooms: number): number[] {
  let x = seed;
  return Array.from({ length: rooms }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 1 + (x % 12);
  });
}

describe("splitRooms", () => {
  it("puts every room in exactly one shard and keeps shards within one room's size of each other", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const sizes = sizesFrom(seed, 1 + (seed % 40));
      const plan = planOfSizes(sizes);
      const count = 1 + (seed % 9);
      const shards = splitRooms(plan, count);
      expect(shards).toHaveLength(count);
      expect(shards.flat().sort()).toEqual([...plan.rooms].sort());
      const size = new Map(plan.rooms.map((r, i) => [r, sizes[i] ?? 0]));
      const loads = shards.map((s) => s.reduce((sum, r) => sum + (size.get(r) ?? 0), 0));
      const spread = Math.max(...loads) - Math.min(...loads);
      expect(spread, `seed ${seed}: loads ${loads.join(",")}`).toBeLessThanOrEqual(Math.max(...sizes));
    }
  });

  it("gives the same answer on every call and keeps each shard's rooms in plan order", () => {
    const plan = planOfSizes([5, 1, 5, 3, 2, 2, 8]);
    expect(splitRooms(plan, 3)).toEqual(splitRooms(planOfSizes([5, 1, 5, 3, 2, 2, 8]), 3));
    expect(splitRooms(plan, 3)).toEqual([
      ["room-2", "room-7"],
      ["room-1", "room-4"],
      ["room-3", "room-5", "room-6"],
    ]);
  });

  it("deals equal rooms round the shards", () => {
    expect(splitRooms(planOfSizes([3, 3, 3, 3, 3, 3]), 4)).toEqual([
      ["room-1", "room-5"],
      ["room-2", "room-6"],
      ["room-3"],
      ["room-4"],
    ]);
  });
});

const scenario = parseScenario(
  "name: s\nrooms: 6\nvideo-publishers: 0\naudio-publishers: 1\nsubscribers: 2\nnum-per-second: 4\n",
  "test",
);

describe("shardPlan", () => {
  it("keeps the unsharded join times and ramp, so shards started together ramp as one run", () => {
    const plan = planRun(shapeOf(scenario));
    const parts = [0, 1, 2].map((index) => shardPlan(plan, { index, count: 3 }));
    for (const part of parts) expect(part.rampMs).toBe(plan.rampMs);
    const joined = parts.flatMap((p) => p.participants).sort((a, b) => a.joinAtMs - b.joinAtMs);
    expect(joined).toEqual(plan.participants);
    expect(parts.map((p) => p.rooms.length)).toEqual([2, 2, 2]);
  });

  it("refuses more shards than rooms, naming the most that fit", () => {
    const plan = planRun(shapeOf(scenario));
    expect(() => shardPlan(plan, { index: 0, count: 7 })).toThrow(
      /6 room\(s\) cannot fill 7 shards.*--shards 6/,
    );
  });
});

describe("parseShard", () => {
  it("reads a 0-based I/N", () => {
    expect(parseShard("0/4")).toEqual({ index: 0, count: 4 });
    expect(parseShard("3/4")).toEqual({ index: 3, count: 4 });
  });

  it.each([
    ["4/4", /0 to 3 for 4 shard\(s\) \(0-based\), got 4/],
    ["1/0", /count must be 1 to 1024, got 0/],
    ["0/1025", /count must be 1 to 1024/],
    ["1-4", /expected I\/N with a 0-based index/],
    ["-1/4", /expected I\/N/],
  ])("refuses %s in one line", (text, message) => {
    expect(() => parseShard(text)).toThrow(ShardError);
    expect(() => parseShard(text)).toThrow(message);
  });

  it("checks an index from JOB_COMPLETION_INDEX the same way", () => {
    expect(() => checkShard(Number("x"), 3)).toThrow(/got NaN/);
  });
});

describe("the sharded run id", () => {
  it("is derived alike on every shard from the start and the scenario, and differs with either", () => {
    const start = Date.parse("2026-11-22T21:05:00Z");
    const id = shardedRunId(scenario, start);
    expect(id).toMatch(/^20261122-210500-[0-9a-f]{6}$/);
    expect(
      shardedRunId(
        parseScenario(
          "name: s\nrooms: 6\nvideo-publishers: 0\naudio-publishers: 1\nsubscribers: 2\nnum-per-second: 4\n",
          "again",
        ),
        start,
      ),
    ).toBe(id);
    expect(shardedRunId({ ...scenario, rooms: 7 }, start)).not.toBe(id);
    expect(shardedRunId(scenario, start + 1000)).not.toBe(id);
    expect(scenarioHash({ ...scenario })).toBe(scenarioHash(scenario));
  });

  it("needs --start-at or --run-id", () => {
    expect(() => shardedRunId(scenario, undefined)).toThrow(/needs --start-at .* or --run-id/);
  });
});
