/** One configuration measured: a point process run against the testbed, its tree sampled over the window. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { ClientNetworkPlace, TurnTlsTrust } from "@livekit-swarm/load";
import { BenchError } from "./errors.js";
import { describePoint, type Baseline, type Point } from "./figures.js";
import type { BenchNetwork, EngineOverrides } from "./options.js";
import { Sampler } from "./proc.js";
import type { PointSpec } from "./progress.js";
import { exitWord, RunProcess } from "./run-process.js";
import {
  DEFAULT_STATS_INTERVAL_MS,
  DRAIN_GRACE_MS,
  JOINS_PER_SECOND,
  SETTLE_MS,
  TAIL_MS,
  joinGraceMs,
  runDurationS,
  type Workload,
} from "./workloads.js";

const POINT_PROCESS = fileURLToPath(new URL("./point-process.js", import.meta.url));
/** The point process loads rtc-node in its workers before its clock starts; past this it is stuck. */
const START_TIMEOUT_MS = 60_000;

export interface PointTarget {
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly serverPid: number;
  /** Where the participants of a `--network` point run; undefined: on the host. */
  readonly network?: ClientNetworkPlace & { readonly profile: BenchNetwork; readonly turnTls?: TurnTlsTrust };
}

export interface PointContext {
  readonly target: PointTarget;
  readonly holdS: number;
  readonly engine: EngineOverrides;
  readonly runsDir: string;
  readonly signal: AbortSignal;
}

/** What the bench asks a point process to run (no secrets: they go through its environment). */
export function pointSpec(
  workload: Workload,
  rooms: number,
  holdS: number,
  engine: EngineOverrides,
  outputDir: string,
  network?: PointTarget["network"],
): PointSpec {
  return {
    scenario: {
      name: `bench-${workload.name}`,
      ...workload.scenario,
      ...(engine.name !== undefined ? { engine: engine.name } : {}),
      ...(engine.network !== undefined ? { "network-profiles": { [engine.network]: "100%" } } : {}),
      ...(engine.e2ee === true ? { e2ee: true } : {}),
      ...(engine.participantsPerPage !== undefined
        ? { "participants-per-page": engine.participantsPerPage }
        : {}),
      ...(engine.pagesPerBrowser !== undefined ? { "pages-per-browser": engine.pagesPerBrowser } : {}),
      rooms,
      duration: runDurationS(holdS, rooms * workload.perRoom, engine.name),
      "num-per-second": JOINS_PER_SECOND,
      "room-prefix": `bench-${workload.name}-${rooms}r-${Date.now().toString(36)}-`,
    },
    statsIntervalMs: engine.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
    workers: engine.workers,
    outputDir,
    ...(network !== undefined ? { network } : {}),
  };
}

export async function runPoint(
  ctx: PointContext,
  workload: Workload,
  rooms: number,
  attempt: number,
  baseline: Baseline | undefined,
): Promise<Point> {
  const participants = rooms * workload.perRoom;
  const label = `${workload.name}-${rooms}r${attempt > 0 ? `-retry${attempt}` : ""}`;
  const outDir = join(ctx.runsDir, label);
  mkdirSync(outDir, { recursive: true });
  const spec = pointSpec(workload, rooms, ctx.holdS, ctx.engine, outDir, ctx.target.network);
  const durationS = runDurationS(ctx.holdS, participants, ctx.engine.name);
  const graceMs = joinGraceMs(participants, ctx.engine.name);
  const run = RunProcess.start(POINT_PROCESS, spec, ctx.target, {
    stderr: join(outDir, "stderr.log"),
    progress: join(outDir, "progress.jsonl"),
  });
  if (run === undefined) throw new BenchError("no-start", `${label}: the point process did not start`);
  const { watch } = run;
  const until = (cond: () => boolean, deadlineMs: number): Promise<void> =>
    run.until(cond, deadlineMs, ctx.signal);

  const sampler = new Sampler(run.pid, ctx.target.serverPid);
  let rssMiB: number | undefined;
  let pssMiB: number | undefined;
  let joinLagMs = 0;
  const problems: string[] = [];
  try {
    await until(() => watch.startedAtMs !== undefined, Date.now() + START_TIMEOUT_MS);
    if (watch.startedAtMs === undefined || watch.rampMs === undefined) {
      if (ctx.signal.aborted) throw new BenchError("interrupted", "interrupted");
      throw new BenchError("no-start", `${label}: the run did not start (see ${outDir}/stderr.log)`);
    }
    const holdAt = watch.startedAtMs + watch.rampMs;
    const endAt = holdAt + durationS * 1000;
    await until(() => Date.now() >= holdAt + SETTLE_MS, endAt);
    await until(() => watch.allInAtMs !== undefined, holdAt + SETTLE_MS + graceMs);
    joinLagMs = (watch.allInAtMs ?? Date.now()) - holdAt;
    if (watch.allInAtMs === undefined) {
      problems.push(
        `joins still pending ${((SETTLE_MS + graceMs) / 1000).toFixed(0)} s after the last was due (${watch.joined}/${participants} joined)`,
      );
    }
    const windowEnd = Math.min(Date.now() + ctx.holdS * 1000, endAt - TAIL_MS);
    const mid = Date.now() + (windowEnd - Date.now()) / 2;
    sampler.poll();
    while (Date.now() < windowEnd && run.exit === undefined && !ctx.signal.aborted) {
      await sleep(Math.min(1000, Math.max(0, windowEnd - Date.now())));
      if (rssMiB === undefined && Date.now() >= mid) {
        rssMiB = sampler.rssMiB();
        pssMiB = sampler.pssMiB();
      }
      sampler.poll();
    }
    if (run.exit !== undefined) problems.push(`the swarm exited during the window (${exitWord(run.exit)})`);
    // the window is over: SIGINT makes the point process drain and report now instead of holding on
    await run.end(DRAIN_GRACE_MS);
  } finally {
    if (run.exit === undefined) await run.end(20_000);
    run.closeLogs();
  }
  if (ctx.signal.aborted) throw new BenchError("interrupted", "interrupted");
  const ended = await run.exited;
  if (watch.summary === undefined)
    problems.push(`no summary from the run (exit ${exitWord(ended)}; see ${outDir}/stderr.log)`);
  return describePoint({
    workload: workload.name,
    rooms,
    participants,
    attempt,
    outDir,
    exit: ended,
    workers: watch.workers,
    summary: watch.summary,
    window: sampler.result(),
    rssMiB,
    pssMiB,
    joinLagMs,
    problems,
    baseline,
    bucketMs: spec.statsIntervalMs,
    joinGraceMs: SETTLE_MS + graceMs,
  });
}
