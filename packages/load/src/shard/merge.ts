import { dirname, resolve } from "node:path";
import {
  Measurements,
  assertComparableScenario,
  assertWholeBaseline,
  evaluate,
  type RunRecord,
  type Threshold,
  type Verdict,
} from "@livekit-swarm/gate";
import { ExitCode } from "@livekit-swarm/schema";
import { makeFolder } from "../run/folder.js";
import type { RunOutcome } from "../run/orchestrator.js";
import { RunAggregator } from "../run/aggregate.js";
import { planRun, shapeOf } from "../run/plan.js";
import { writeRunOutputs, type RunOutputs, type ShardCoverage } from "../session/outputs.js";
import { shardProblems } from "./coverage.js";
import { runThresholds } from "../session/ending.js";
import { checkOutputDir } from "../session/target.js";
import { mergeGeneratorLoads } from "../run/generator-load.js";
import { judgedExitCode, runHealth, withExitCode } from "../run/health.js";
import { OutOfOrder, inTimeOrder, observationsOf, streamsOf, type Observation } from "./observations.js";
import { MergeError, checkOneRun, coverageOf, endReasonOf, findShards } from "./shard-folders.js";

export { MergeError } from "./shard-folders.js";

export interface MergeOptions {
  /** Shard folders, a run folder holding shard-*, or files inside shard folders. */
  readonly inputs: readonly string[];
  /** Thresholds beyond the scenario's own and those the shards were given. */
  readonly thresholds?: readonly Threshold[];
  /** Merge what finished when shards are missing or failed: exit by the verdict, not 1. */
  readonly allowPartial?: boolean;
  /** Default: the run folder (the parent of the first shard folder). */
  readonly outputDir?: string;
  /**
   * An earlier run (gate's loadRunRecord) that relative thresholds read and the report compares
   * every figure with, as `swarm --baseline` does; refused when its workload differs, unless forced.
   */
  readonly baseline?: RunRecord;
  readonly forceCompare?: boolean;
}

export type MergeResult = RunOutputs & {
  readonly runId: string;
  readonly shards: ShardCoverage;
  readonly exitCode: ExitCode;
};

/**
 * One report from a sharded run's shard folders: their raw samples and events folded by the same
 * aggregate and gate as one process would, so percentiles are exact over all shards, never averaged.
 * Judged: the scenario's thresholds, the shards' own --threshold ones, and `thresholds`; relative
 * ones (`<= baseline + 20%`) against `baseline`, which the report also compares every figure with.
 * Rule: a shard that is missing, never finished or ended in an error (an exit other than 0 or 99) is
 * named in the report and left out of the figures; the merge then exits 1 unless `allowPartial`,
 * with which it exits by the verdict over the shards that finished.
 */
export async function mergeShards(options: MergeOptions): Promise<MergeResult> {
  // before anything is read: -o naming a file or /proc/x traced after the whole merge
  if (options.outputDir !== undefined) checkOutputDir(options.outputDir);
  const inputs = findShards(options.inputs);
  const first = inputs[0];
  if (first === undefined)
    throw new MergeError(
      "no-shards",
      `no shard.json in ${options.inputs.join(", ")}: pass a sharded run's output folder (the one holding shard-0/, shard-1/ ...) or its shard folders`,
    );
  checkOneRun(inputs, first);
  const { manifest } = first;
  const coverage = coverageOf(inputs, manifest.shards);
  const finished = inputs.filter((s) => coverage.covered.includes(s.manifest.shard));
  if (finished.length === 0)
    throw new MergeError(
      "none-finished",
      `no shard of run ${manifest.runId} finished, nothing to merge: ${shardProblems({ ...coverage, plannedParticipants: 0 }).join("; ")}`,
    );

  const scenario = manifest.scenario;
  if (options.baseline !== undefined) {
    assertComparableScenario(options.baseline, scenario, options.forceCompare === true);
    assertWholeBaseline(
      options.baseline,
      options.forceCompare === true,
      ", or --force-compare to use it anyway",
    );
  }
  // resolved before any shard's observations are read: a relative threshold without a baseline is bad input
  const thresholds = runThresholds(
    scenario,
    [...scenario.thresholds, ...manifest.thresholds],
    options.thresholds,
    options.baseline,
  );
  const rooms = new Set(finished.flatMap((s) => s.manifest.rooms));
  const whole = planRun(shapeOf(scenario));
  const participants = whole.participants.filter((p) => rooms.has(p.room));
  const shards: ShardCoverage = { ...coverage, plannedParticipants: whole.participants.length };
  const startMs = Math.min(...finished.map((s) => Date.parse(s.manifest.startedAt ?? s.manifest.startAt)));
  const endMs = Math.max(...finished.map((s) => Date.parse(s.manifest.endedAt ?? s.manifest.startAt)));
  const fold = async (observations: AsyncIterable<Observation> | Iterable<Observation>) => {
    const measurements = new Measurements({ cutsAfterStartMs: thresholds.map((t) => t.warmupMs ?? 0) });
    const aggregator = new RunAggregator(participants, manifest.statsIntervalMs, measurements);
    measurements.setRunWindow(startMs);
    for await (const o of observations) {
      if (o.kind === "event") {
        aggregator.onEvent(o.event.room, o.event.participant, o.event.event, o.event.t);
        measurements.onEvent(o.event, o.event.event);
      } else {
        aggregator.onSample(o.sample);
        measurements.onSample(o.sample);
      }
    }
    measurements.setRunWindow(startMs, endMs);
    return { measurements, aggregator };
  };
  // streamed in time order; a file whose lines stray further out of order than a run writes them
  // (edited by hand, concatenated) is folded again from every line, sorted in memory
  let folded: Awaited<ReturnType<typeof fold>>;
  try {
    folded = await fold(inTimeOrder(streamsOf(finished)));
  } catch (err) {
    if (!(err instanceof OutOfOrder)) throw err;
    folded = await fold(await observationsOf(finished));
  }
  const { measurements, aggregator } = folded;
  const generator = mergeGeneratorLoads(
    finished.map((s) => ({ shard: s.manifest.shard, load: s.manifest.generator })),
  );
  const summary = { ...aggregator.summary(endMs), ...(generator !== undefined ? { generator } : {}) };

  // the generator's keeping up (every shard's workers) is judged with the merged run's health
  const verdict: Verdict | undefined = thresholds.length > 0 ? evaluate(thresholds, measurements) : undefined;
  const unfinished = [...coverage.missing, ...coverage.failed.map((f) => f.shard)];
  const workersLost = finished.flatMap((s) => s.manifest.workersLost ?? []);
  const judged = runHealth(
    summary,
    workersLost.length,
    unfinished.length > 0
      ? {
          participants: whole.participants.length - participants.length,
          shards: unfinished.sort((a, b) => a - b),
        }
      : undefined,
  );
  const complete = coverage.missing.length === 0 && coverage.failed.length === 0;
  // with --allow-partial a merge missing shards is judged, and its lost shards make it inconclusive;
  // decided before the reports, whose health banner names the code the merge exits with
  const exitCode =
    !complete && options.allowPartial !== true ? ExitCode.error : judgedExitCode(judged, verdict);
  const health = withExitCode(judged, exitCode);
  const outcome: RunOutcome = {
    summary,
    endReason: endReasonOf(finished),
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(endMs).toISOString(),
    durationMs: endMs - startMs,
    workersLost,
    workerPids: [],
  };
  const outputDir = resolve(options.outputDir ?? dirname(first.dir));
  makeFolder(outputDir);
  const outputs = await writeRunOutputs(
    {
      runId: manifest.runId,
      scenario,
      url: manifest.url,
      participants: participants.length,
      workers: finished.reduce((n, s) => n + s.manifest.workers, 0),
      outcome,
      verdict,
      health,
      shards,
      ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
    },
    outputDir,
    undefined,
  );
  return { ...outputs, runId: manifest.runId, shards, exitCode };
}
