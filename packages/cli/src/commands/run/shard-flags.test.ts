import { describe, expect, it } from "vitest";
import { shardFrom, startAt } from "./shard-flags.js";

describe("shardFrom", () => {
  it("reads --shard I/N, 0-based", () => {
    expect(shardFrom({ shard: "2/3" }, {})).toEqual({ index: 2, count: 3 });
  });

  it("takes the index from JOB_COMPLETION_INDEX with --shards or SWARM_SHARDS, as an Indexed Job's pod", () => {
    expect(shardFrom({ shards: 8 }, { JOB_COMPLETION_INDEX: "7" })).toEqual({ index: 7, count: 8 });
    expect(shardFrom({}, { SWARM_SHARDS: "8", JOB_COMPLETION_INDEX: "0" })).toEqual({ index: 0, count: 8 });
  });

  it("is unsharded without any of them, whatever JOB_COMPLETION_INDEX says", () => {
    expect(shardFrom({}, { JOB_COMPLETION_INDEX: "3" })).toBeUndefined();
  });

  it.each([
    [
      { shards: 4 },
      {},
      /takes the shard index from JOB_COMPLETION_INDEX .*which is unset: set it, or pass --shard I\/4/,
    ],
    [{ shards: 4 }, { JOB_COMPLETION_INDEX: "4" }, /0 to 3 for 4 shard\(s\) \(0-based\), got 4/],
    [{ shards: 4 }, { JOB_COMPLETION_INDEX: "x" }, /which is "x"/],
    [{ shard: "1/4", shards: 3 }, {}, /--shard 1\/4 says 4 shards but --shards\/SWARM_SHARDS says 3/],
    [{}, { SWARM_SHARDS: "0", JOB_COMPLETION_INDEX: "0" }, /SWARM_SHARDS.*1 to 1024/],
  ])("refuses %j with %j in one line", (flags, env, message) => {
    expect(() => shardFrom(flags, env)).toThrow(message);
  });
});

describe("startAt", () => {
  const now = Date.parse("2026-11-28T12:00:00Z");

  it("takes an instant with its zone up to a week ahead, and one in the past", () => {
    expect(startAt("2026-12-05T12:00:00Z", now)).toBe(now + 7 * 86_400_000);
    expect(startAt("2026-11-28T13:00:00+01:00", now)).toBe(now);
    expect(startAt("2026-11-27T12:00:00Z", now)).toBe(now - 86_400_000);
  });

  it("refuses one more than a week away in one line: a shard would wait for it", () => {
    expect(() => startAt("2099-01-01T00:00:00Z", now)).toThrow(
      /^run: --start-at: "2099-01-01T00:00:00Z" is more than a week away \(26332 days\): expected a time within 168h from now$/,
    );
    expect(() => startAt("2026-12-05T12:00:01Z", now)).toThrow(/more than a week away/);
  });

  it("refuses a time without its zone", () => {
    expect(() => startAt("2026-11-28T12:00:00", now)).toThrow(/expected an ISO instant with its zone/);
  });
});
