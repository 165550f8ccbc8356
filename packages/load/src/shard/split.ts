import { createHash } from "node:crypto";
import { KnownError, type Scenario } from "@livekit-swarm/schema";
import type { RunPlan } from "../run/plan.js";

/** The most shards one run splits into: an Indexed Job of more pods than this is a typo. */
export const MAX_SHARDS = 1024;

/** Which part of a sharded run this process runs: shard `index` (0-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** A shard choice the run refuses; the message names the fix. */
export class ShardError extends KnownError<
  "syntax" | "range" | "too-few-rooms" | "no-run-id" | "no-target" | "storm"
> {
  override readonly name = "ShardError";
}

/** `I/N` (0-based I, as JOB_COMPLETION_INDEX counts), checked: 0 <= I < N <= MAX_SHARDS. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (match === null)
    throw new ShardError("syntax", `--shard: expected I/N with a 0-based index, e.g. 0/4, got "${text}"`);
  return checkShard(Number(match[1]), Number(match[2]));
}

/** Checks an index and a count from wherever they came (flag, JOB_COMPLETION_INDEX, SWARM_SHARDS). */
export function checkShard(index: number, count: number): Shard {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS)
    throw new ShardError("range", `shard count must be 1 to ${MAX_SHARDS}, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new ShardError(
      "range",
      `shard index must be 0 to ${count - 1} for ${count} shard(s) (0-based), got ${index}`,
    );
  return { index, count };
}

/**
 * The planned rooms dealt to `count` shards: whole rooms, each room in exactly one shard, balanced by
 * participants. Rooms go largest first (plan order among equals) to the shard holding the fewest
 * participants (lowest index among equals), so no two shards differ by more than the largest room.
 * Pure: every shard computes the same answer from the same plan.
 */
export function splitRooms(plan: Pick<RunPlan, "rooms" | "participants">, count: number): string[][] {
  const sizes = new Map(plan.rooms.map((room) => [room, 0]));
  for (const p of plan.participants) sizes.set(p.room, (sizes.get(p.room) ?? 0) + 1);
  const order = plan.rooms
    .map((room, i) => ({ room, i, size: sizes.get(room) ?? 0 }))
    .sort((a, b) => b.size - a.size || a.i - b.i);
  const shards = Array.from({ length: count }, () => ({
    rooms: [] as { room: string; i: number }[],
    load: 0,
  }));
  for (const room of order) {
    let lightest = 0;
    for (let s = 1; s < count; s++) if ((shards[s]?.load ?? 0) < (shards[lightest]?.load ?? 0)) lightest = s;
    const shard = shards[lightest];
    if (shard === undefined) continue;
    shard.rooms.push(room);
    shard.load += room.size;
  }
  // each shard's rooms in plan order, so its ramp runs in the unsharded order
  return shards.map((s) => s.rooms.sort((a, b) => a.i - b.i).map((r) => r.room));
}

/**
 * The plan of one shard: its rooms' participants with the unsharded plan's join times, and the
 * unsharded ramp, so that from a common start every shard's ramp and hold match the whole run's.
 * Refuses a shard that would get no room.
 */
export function shardPlan(plan: RunPlan, shard: Shard): RunPlan {
  if (plan.rooms.length < shard.count)
    throw new ShardError(
      "too-few-rooms",
      `${plan.rooms.length} room(s) cannot fill ${shard.count} shards (whole rooms per shard): use --shards ${plan.rooms.length} or fewer, or more --rooms`,
    );
  const mine = new Set(splitRooms(plan, shard.count)[shard.index]);
  return {
    participants: plan.participants.filter((p) => mine.has(p.room)),
    rampMs: plan.rampMs,
    rooms: plan.rooms.filter((r) => mine.has(r)),
  };
}

/** A short hash of the resolved scenario (keys sorted): shards of one run agree on it, merge checks it. */
export function scenarioHash(scenario: Scenario): string {
  return createHash("sha256").update(canonicalJson(scenario)).digest("hex").slice(0, 12);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The run id every shard of one run derives alike when no --run-id is given: the common start
 * (UTC, to the second) and the scenario's hash, e.g. 20261122-210500-3fa2b1. Needs --start-at.
 */
export function shardedRunId(scenario: Scenario, startAtMs: number | undefined): string {
  if (startAtMs === undefined)
    throw new ShardError(
      "no-run-id",
      "a sharded run needs --start-at (the common start, from which the run id is derived) or --run-id",
    );
  const stamp = new Date(startAtMs).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${scenarioHash(scenario).slice(0, 6)}`;
}
