/** What a merged report says of the shards it covers: one shape for summary.json, the table, junit and report.html. */

/** Which shards of a sharded run a merged report covers, and which it lacks. */
export interface ShardCoverage {
  readonly count: number;
  /** Shards whose observations are in the figures. */
  readonly covered: readonly number[];
  /** Shards with no shard.json among the inputs. */
  readonly missing: readonly number[];
  /** Shards that did not finish (`running`: killed or still running) or ended in an error. */
  readonly failed: readonly {
    readonly shard: number;
    readonly status: string;
    readonly exitCode?: number;
    readonly endReason?: string;
  }[];
  /** The participants of the whole run, of which `run.participants` are covered. */
  readonly plannedParticipants: number;
}

/** One line per shard problem, for the table, stderr and junit; none when every shard is covered. */
export function shardProblems(shards: ShardCoverage): string[] {
  return [
    ...shards.missing.map((i) => `shard ${i}/${shards.count} is missing (no shard.json among the inputs)`),
    ...shards.failed.map(
      (f) =>
        `shard ${f.shard}/${shards.count} failed: ${f.status === "running" ? "never finished (killed, or still running)" : f.status === "done" ? "ended in an error" : f.status}` +
        (f.exitCode !== undefined ? `, exit ${f.exitCode}` : "") +
        (f.endReason !== undefined ? ` (${f.endReason})` : ""),
    ),
  ];
}
