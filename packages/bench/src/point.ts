/** One configuration measured: a point process run against the testbed, its tree sampled over the window. */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { ClientNetworkPlace, RunSummary, TurnTlsTrust } from "@livekit-swarm/load";
import { BenchError } from "./errors.js";
import { describePoint, type Baseline, type Point } from "./figures.js";
import type { BenchNetwork, EngineOverrides } from "./options.js";
import { Sampler } from "./proc.js";
import { parsePointEvent, type PointSpec } from "./progress.js";
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

/** Follows a point process's events: when its clock started, when everyone was in, what it reported. */
class PointWatch {
  startedAtMs: number | undefined;
  rampMs: number | undefined;
  workers: number | undefined;
  allInAtMs: number | undefined;
  joined = 0;
  summary: RunSummary | undefined;

  onLine(line: string): void {
    const event = parsePointEvent(line);
    if (event === undefined) return;
    switch (event.type) {
      case "started":
        this.rampMs = event.rampMs;
        this.workers = event.workers;
        break;
      case "progress":
        this.startedAtMs ??= event.startedAtMs;
        this.joined = event.joined;
        if (this.allInAtMs === undefined && event.joined + event.failed >= event.planned)
          this.allInAtMs = Date.now();
        break;
      case "ended":
        this.workers = event.workers;
        this.summary = event.summary;
        break;
    }
  }
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
  const child = spawn(process.execPath, [POINT_PROCESS, JSON.stringify(spec)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      LIVEKIT_URL: ctx.target.url,
      LIVEKIT_API_KEY: ctx.target.apiKey,
      LIVEKIT_API_SECRET: ctx.target.apiSecret,
    },
  });
  const childPid = child.pid;
  if (childPid === undefined) throw new BenchError("no-start", `${label}: the point process did not start`);
  const stderrLog = createWriteStream(join(outDir, "stderr.log"));
  child.stderr.pipe(stderrLog);
  const progressLog = createWriteStream(join(outDir, "progress.jsonl"));
  const watch = new PointWatch();
  createInterface({ input: child.stdout }).on("line", (line) => {
    progressLog.write(`${line}\n`);
    watch.onLine(line);
  });
  let exit: { code: number | null; signal: string | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const until = async (cond: () => boolean, deadlineMs: number): Promise<void> => {
    while (!cond() && exit === undefined && !ctx.signal.aborted && Date.now() < deadlineMs) await sleep(200);
  };
  const endRun = async (graceMs: number): Promise<void> => {
    if (exit === undefined) child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(killer);
  };

  const sampler = new Sampler(childPid, ctx.target.serverPid);
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
    while (Date.now() < windowEnd && exit === undefined && !ctx.signal.aborted) {
      await sleep(Math.min(1000, Math.max(0, windowEnd - Date.now())));
      if (rssMiB === undefined && Date.now() >= mid) {
        rssMiB = sampler.rssMiB();
        pssMiB = sampler.pssMiB();
      }
      sampler.poll();
    }
    if (exit !== undefined)
      problems.push(`the swarm exited during the window (${exit.code ?? exit.signal ?? "?"})`);
    // the window is over: SIGINT makes the point process drain and report now instead of holding on
    await endRun(DRAIN_GRACE_MS);
  } finally {
    if (exit === undefined) await endRun(20_000);
    stderrLog.end();
    progressLog.end();
  }
  if (ctx.signal.aborted) throw new BenchError("interrupted", "interrupted");
  const ended = await exited;
  if (watch.summary === undefined)
    problems.push(
      `no summary from the run (exit ${ended.code ?? ended.signal ?? "?"}; see ${outDir}/stderr.log)`,
    );
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
