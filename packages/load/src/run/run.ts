/**
 * The run API: the one way into the engine for `swarm run` (the session), a chaos drill's load, a
 * bench point and a capacity step (through the session). Two stages a reader can follow:
 * `prepareRun` plans the rooms, the participants on their network profiles, the media and the
 * worker processes, refusing a bad scenario before anything starts; `startRun` forks the workers
 * against a target and resolves with the outcome once the run has ended and every worker is gone.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import type { Scenario } from "@livekit-swarm/schema";
import { E2EE_KEY_BYTES } from "../engine/e2ee.js";
import { shardPlan, type Shard } from "../shard/split.js";
import type { MediaPlan } from "./messages.js";
import { planPlaced } from "./network-placement.js";
import { orchestrate, type OrchestratorOptions, type RunOutcome } from "./orchestrator.js";
import { defaultWorkers, mediaPlanFor, type RunPlan } from "./plan.js";

/** A run planned and not yet started. */
export interface PreparedRun {
  readonly scenario: Scenario;
  /** The participants this process runs: the whole plan, or a shard's rooms of it. */
  readonly plan: RunPlan;
  /** The whole run's plan, every shard's rooms (the same as `plan` when not sharded). */
  readonly whole: RunPlan;
  readonly media: MediaPlan;
  /**
   * Worker processes asked of the orchestrator, which deals each network profile its share of them
   * and forks only those with rooms: without profiles never more than the rooms.
   */
  readonly workers: number;
}

export interface PrepareRunOptions {
  /** Worker processes asked for; default: what the participants' engines fill, at most a core each. */
  readonly workers?: number;
  /** Run only this shard's rooms of the plan. */
  readonly shard?: Shard;
}

/** Plans a run: throws (the engines' rules, profiles, a shard with too few rooms) before anything starts. */
export function prepareRun(scenario: Scenario, options: PrepareRunOptions = {}): PreparedRun {
  const whole = planPlaced(scenario);
  const plan = options.shard !== undefined ? shardPlan(whole, options.shard) : whole;
  const media = mediaPlanFor(scenario);
  const workers = options.workers ?? defaultWorkers(plan.participants, availableParallelism(), media.video);
  return { scenario, plan, whole, media, workers };
}

/** How a prepared run is started: everything the orchestrator takes but what the plan already says. */
export interface RunStart extends Omit<OrchestratorOptions, "plan" | "media" | "workers"> {
  /** What this caller changes in the media plan (a drill's watch, rejoining, screenshots). */
  readonly media?: Partial<Pick<MediaPlan, "watchMs" | "rejoin" | "screenshotsDir">>;
  /** An E2EE scenario's shared key; default: a fresh random key, kept in memory for this run. */
  readonly e2eeKey?: Uint8Array;
}

/** Starts a prepared run; resolves once it has ended (on time, on request, or the server gone). */
export function startRun(run: PreparedRun, start: RunStart): Promise<RunOutcome> {
  const { media, e2eeKey, ...rest } = start;
  return orchestrate({
    ...rest,
    plan: run.plan,
    media: { ...run.media, ...media },
    workers: run.workers,
    ...(run.scenario.e2ee !== null ? { e2eeKey: e2eeKey ?? randomBytes(E2EE_KEY_BYTES) } : {}),
  });
}
