import { Option } from "@commander-js/extra-typings";
import { MAX_SHARDS, checkShard, parseShard, type Shard } from "@livekit-swarm/load";
import { MAX_DURATION, RUN_ID_PATTERN, quoted } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { integer } from "../../flags.js";

/** What a sharded run adds to `swarm run` (and what a Kubernetes Indexed Job's pod passes). */
export function shardOptions() {
  return [
    new Option(
      "--shard <I/N>",
      "run shard I of N (I is 0-based: 0/4 to 3/4): whole rooms, balanced by participants, at the unsharded join times; needs --url, and --start-at or --run-id; writes <output>/shard-I/ (merge with `swarm merge`)",
    ),
    new Option(
      "--shards <N>",
      `shard count, the index from env JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), 1 to ${MAX_SHARDS} (env: SWARM_SHARDS)`,
    ).argParser(integer("run", "shards", 1, MAX_SHARDS)),
    new Option(
      "--start-at <ISO time>",
      "common wall-clock start (2026-11-22T21:05:00Z): joins are timed from it, so the shards' ramps and windows line up; the run waits until then",
    ).argParser(startAt),
    new Option(
      "--run-id <id>",
      "the run id (letters, digits, . _ -); every shard of a run shares it; default for shards: the --start-at time and the scenario's hash",
    ).argParser(runId),
  ] as const;
}

/** Pure: `--start-at`'s instant, at most a week (the longest duration anything accepts) after `nowMs`. */
export function startAt(text: string, nowMs = Date.now()): number {
  // an instant: a time without a zone would mean different instants on pods in different zones
  const ms = Date.parse(text);
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text.trim()) || Number.isNaN(ms))
    throw new UsageError(
      `run: --start-at: expected an ISO instant with its zone, e.g. 2026-11-22T21:05:00Z, got ${quoted(text)}`,
    );
  // a shard waits for it: a typo in the year must not wait for decades
  if (ms - nowMs > MAX_DURATION)
    throw new UsageError(
      `run: --start-at: ${quoted(text)} is more than a week away (${Math.round((ms - nowMs) / 86_400_000)} days): expected a time within 168h from now`,
    );
  return ms;
}

function runId(text: string): string {
  if (!RUN_ID_PATTERN.test(text))
    throw new UsageError(
      `run: --run-id: expected 1 to 64 letters, digits, dots, underscores or dashes, got ${quoted(text)}`,
    );
  return text;
}

export interface ShardFlags {
  readonly shard?: string | undefined;
  readonly shards?: number | undefined;
}

/** --shard I/N, or --shards N (env SWARM_SHARDS) with the index from env JOB_COMPLETION_INDEX. */
export function shardFrom(flags: ShardFlags, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const countText = env.SWARM_SHARDS;
  const count =
    flags.shards ??
    (countText !== undefined && countText !== ""
      ? integer("run", "shards (env SWARM_SHARDS)", 1, MAX_SHARDS)(countText)
      : undefined);
  if (flags.shard !== undefined) {
    const shard = parseShard(flags.shard);
    if (count !== undefined && count !== shard.count)
      throw new UsageError(
        `run: --shard ${flags.shard} says ${shard.count} shards but --shards/SWARM_SHARDS says ${count}: pass one of them`,
      );
    return shard;
  }
  if (count === undefined) return undefined;
  const indexText = env.JOB_COMPLETION_INDEX;
  if (indexText === undefined || indexText === "" || !/^\d+$/.test(indexText))
    throw new UsageError(
      `run: --shards ${count} takes the shard index from JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job)${indexText !== undefined ? `, which is ${quoted(indexText)}` : ", which is unset"}: set it, or pass --shard I/${count}`,
    );
  return checkShard(Number(indexText), count);
}
