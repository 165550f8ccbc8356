import type { GeneratorLoad } from "../run/generator-load.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "@livekit-swarm/schema";
import type { EndReason, RunOutcome } from "../run/orchestrator.js";
import type { Shard } from "./split.js";

export const MANIFEST_FILE = "shard.json";

/**
 * shard.json, next to a shard's samples.jsonl and events.jsonl: what `swarm merge` needs to know
 * about the shard. Written as `running` before the first join and rewritten at the end, so a shard
 * killed mid-run leaves `running` behind and the merge names it.
 */
export interface ShardManifest {
  readonly shard: number;
  readonly shards: number;
  readonly runId: string;
  /** Of the scenario as given, before the per-run room prefix (scenarioHash). */
  readonly scenarioHash: string;
  /** As run: the room prefix resolved, so the merge plans the same rooms. */
  readonly scenario: Scenario;
  readonly statsIntervalMs: number;
  /** Thresholds given beside the scenario's (--threshold), which the merge judges too (relative ones against merge's --baseline). */
  readonly thresholds: readonly string[];
  readonly url: string;
  /** The common start, ISO. */
  readonly startAt: string;
  readonly rooms: readonly string[];
  readonly participants: number;
  readonly workers: number;
  /** `done`: the shard wrote its reports; `error`: it stopped on an error; `running`: it never ended. */
  readonly status: "running" | "done" | "error";
  readonly exitCode?: number;
  readonly endReason?: EndReason;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly workersLost?: RunOutcome["workersLost"];
  /** How busy the shard's own workers were (generator-load.ts): the merge judges it with the thresholds. */
  readonly generator?: GeneratorLoad;
  readonly error?: string;
}

export function writeManifest(outputDir: string, manifest: ShardManifest): void {
  // synchronous: the last write happens on the way out, a signal may follow at once
  writeFileSync(join(outputDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export function shardFolder(outputDir: string, shard: Shard): string {
  return join(outputDir, `shard-${shard.index}`);
}
