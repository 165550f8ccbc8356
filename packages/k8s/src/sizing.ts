/**
 * What one shard pod needs, from the benchmark's per-participant figures: no clock, no I/O.
 * Every figure is CPU-seconds of the generator's processes per participant-minute and RSS per
 * participant, measured on rooms of 1 publisher + 4 subscribers (docs/engine-costs.md, and
 * bench/results.md written by `npm run bench`).
 */
import type { Scenario } from "@livekit-swarm/schema";
import { K8sError } from "./errors.js";

export type ShardEngine = "native" | "lean";

/**
 * `engine` as a shard pod's, or a K8sError naming where it came from and the fix: the pods are
 * sized from native's and lean's measured costs, and a browser's Chromiums are not (nor is `mixed`).
 */
export function shardEngine(engine: string, from: string): ShardEngine {
  if (engine === "native" || engine === "lean") return engine;
  throw new K8sError(
    "bad-input",
    `${from} asks for engine ${engine}; the pods are sized for native or lean: pass --engine native or --engine lean`,
  );
}

/** The measured cost of one participant on the generator. */
export interface ParticipantCost {
  /** CPU-seconds per participant-minute. */
  readonly cpuSecondsPerMinute: number;
  readonly rssMiB: number;
  /** Where the figure comes from, for the rendered manifest's annotation and the docs. */
  readonly source: string;
}

/**
 * Native audio: 10 rooms of 1+4 continuous Opus (docs/engine-costs.md, "The lean engine beside the
 * native one"). Native video: 360p VP8 without simulcast, 8 rooms of 1+4, the last point that kept
 * up (bench/results.md, run of 2026-11-22 06:32 UTC). Lean CPU: the costlier of two bench runs at
 * 10 rooms of 1+4 (audio) and 4 rooms (360p video), bench/results.md 2026-11-23 20:15 UTC; fewer
 * rooms cost more per participant, so a pod sized from them has room. Lean RSS: per participant at
 * 30 audio rooms (2.7-3.0 MiB, same section) and 16 video rooms (3.3, run of 17:03), where the
 * process's own base (POD_BASE) is spread thin; at 4-10 rooms the base reads 4.9-11.7 MiB each.
 */
export const PARTICIPANT_COSTS: Readonly<
  Record<ShardEngine, Readonly<Record<"audio" | "video", ParticipantCost>>>
> = {
  native: {
    audio: {
      cpuSecondsPerMinute: 0.58,
      rssMiB: 5.9,
      source: "docs/engine-costs.md: native, 10 rooms of 1+4 audio",
    },
    video: {
      cpuSecondsPerMinute: 1.581,
      rssMiB: 12.3,
      source: "bench/results.md 2026-11-22 06:32: native, 8 rooms of 1+4 360p video",
    },
  },
  lean: {
    audio: {
      cpuSecondsPerMinute: 0.199,
      rssMiB: 3.0,
      source: "bench/results.md 2026-11-23 20:15: lean, 10 rooms of 1+4 audio (RSS at 30)",
    },
    video: {
      cpuSecondsPerMinute: 0.309,
      rssMiB: 3.3,
      source: "bench/results.md 2026-11-23 20:15: lean, 4 rooms of 1+4 360p video (RSS at 16)",
    },
  },
};

/** The video figures were measured at 360p; a larger picture costs more (engine-costs.md rule 7). */
const MEASURED_VIDEO_PIXELS = 640 * 360;

/**
 * What a pod pays before its first participant: Node, the orchestrator and one worker. One room of
 * 1+4 native audio measured 37.6 MiB per participant (188 MiB) and 0.10 cores (bench/results.md).
 */
export const POD_BASE = { cpuCores: 0.1, memoryMiB: 256 } as const;

/** Run-to-run noise is about 10% (bench/results.md); joins cost more than the steady state measured. */
export const REQUEST_HEADROOM = 1.25;
/**
 * Limits above requests. CPU: a throttled generator misses frame deadlines, and the report would
 * blame the server for freezes the generator caused, so the limit leaves room for join bursts.
 * Memory: an OOM kill ends the shard (the merge names it missing), so the limit is generous.
 */
export const LIMIT_FACTOR = { cpu: 2, memory: 1.5 } as const;
/** One worker process holds about a core (engine-costs.md rules 6 and 8). */
export const MAX_WORKERS = 256;

/** Participants in one room of the scenario: its publishers, then its subscribers. */
export function participantsPerRoom(scenario: Scenario): number {
  return Math.max(scenario.videoPublishers, scenario.audioPublishers) + scenario.subscribers;
}

/**
 * The largest shard of a whole-room split balanced by participant count: rooms of a scenario are
 * alike, so shards differ by at most one room and the largest holds ceil(rooms / shards).
 */
export function largestShard(scenario: Scenario, shards: number): { rooms: number; participants: number } {
  if (!Number.isInteger(shards) || shards < 1)
    throw new K8sError("bad-input", `--shards must be a whole number from 1, got ${shards}`);
  if (shards > scenario.rooms)
    throw new K8sError(
      "bad-input",
      `--shards ${shards} is more than the scenario's ${scenario.rooms} rooms: a shard runs whole rooms, so at most ${scenario.rooms} shards (or raise rooms)`,
    );
  const rooms = Math.ceil(scenario.rooms / shards);
  return { rooms, participants: rooms * participantsPerRoom(scenario) };
}

/** The figure for this scenario's participants on this engine, scaled to its video size. */
export function participantCost(scenario: Scenario, engine: ShardEngine): ParticipantCost {
  const costs = PARTICIPANT_COSTS[engine];
  if (scenario.videoPublishers === 0) return costs.audio;
  const scale = Math.max(1, (scenario.video.width * scenario.video.height) / MEASURED_VIDEO_PIXELS);
  return {
    cpuSecondsPerMinute: costs.video.cpuSecondsPerMinute * scale,
    rssMiB: costs.video.rssMiB * scale,
    source:
      scale > 1
        ? `${costs.video.source}, times ${scale.toFixed(2)} for ${scenario.video.width}x${scenario.video.height} pixels`
        : costs.video.source,
  };
}

export interface PodSize {
  /** Kubernetes quantities: millicores and MiB. */
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
  /** `--workers` for the shard: one process per core of participants. */
  readonly workers: number;
  readonly participants: number;
  readonly cost: ParticipantCost;
}

/** Requests, limits and worker processes for a pod running `participants` of the scenario on `engine`. */
export function podSize(
  scenario: Scenario,
  engine: ShardEngine,
  participants: number,
  rooms: number,
): PodSize {
  const cost = participantCost(scenario, engine);
  const participantCores = (cost.cpuSecondsPerMinute / 60) * participants;
  const cpuMilli = Math.ceil((POD_BASE.cpuCores + participantCores * REQUEST_HEADROOM) * 1000);
  const memoryMiB = Math.ceil(POD_BASE.memoryMiB + cost.rssMiB * participants * REQUEST_HEADROOM);
  return {
    requests: { cpu: `${cpuMilli}m`, memory: `${memoryMiB}Mi` },
    limits: {
      cpu: `${Math.ceil(cpuMilli * LIMIT_FACTOR.cpu)}m`,
      memory: `${Math.ceil(memoryMiB * LIMIT_FACTOR.memory)}Mi`,
    },
    workers: Math.max(1, Math.min(MAX_WORKERS, rooms, Math.ceil(participantCores))),
    participants,
    cost,
  };
}
