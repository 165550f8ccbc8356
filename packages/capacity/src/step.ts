/** One step of the search: the workload at a room count, run in a step process, measured over its window. */
import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  exitWord,
  RunProcess,
  Sampler,
  joinGraceMs,
  keptUp,
  keptUpFigures,
  type KeptUp,
} from "@livekit-swarm/bench";
import type { ThresholdResult } from "@livekit-swarm/gate";
import type { RunReport, RunSummary, RunTarget } from "@livekit-swarm/load";
import type { Scenario } from "@livekit-swarm/schema";
import { cpuCapOf, throttlingOf, type CpuCap, type Throttling } from "@livekit-swarm/testbed";
import { CapacityError } from "./errors.js";
import { judgeNotStarted, judgeStep, type Cpu, type StepJudgement } from "./judge.js";
import type { StepOutcome } from "./search.js";
import { scrape, usageBetween, type ServerScrape, type ServerUsage } from "./server-metrics.js";
import type { StepSpec } from "./step-process.js";

const STEP_PROCESS = fileURLToPath(new URL("./step-process.js", import.meta.url));
/** The step process loads its engine in its workers before its clock starts; past this it is stuck. */
const START_TIMEOUT_MS = 60_000;
/** A step that has not ended this long after its planned end is killed. */
const END_GRACE_MS = 60_000;

/** The server under test: where it listens, where its /metrics are, and the cores it may use. */
export interface ServerUnderTest {
  readonly target: RunTarget;
  readonly metricsUrl: string;
  /** Undefined for a remote node whose cores were not given. */
  readonly cores: number | undefined;
  /** The local process (embedded testbed), whose cgroup's throttling is read. */
  readonly pid?: number;
}

export interface StepTiming {
  /** Measured and judged: the steady state. */
  readonly holdMs: number;
  /** After the last scheduled join, before the window: excluded from the thresholds and the resources. */
  readonly warmupMs: number;
}

/** Everything one step measured, as written to steps.json. */
export interface Step {
  readonly rooms: number;
  readonly participants: number;
  readonly phase: "ramp" | "bisect";
  readonly outcome: StepOutcome;
  readonly reason: string;
  readonly broken: StepJudgement["broken"];
  readonly thresholds: readonly ThresholdResult[];
  readonly keptUp: KeptUp;
  readonly windowS: number;
  readonly generator: {
    readonly cores: number;
    readonly available: number;
    /** Share of its cgroup's CFS periods that were throttled; undefined without a CPU quota. */
    readonly throttled: number | undefined;
    /** The busiest worker's JavaScript thread, cores: one event loop uses one at most (absent in older steps.json). */
    readonly busiestThread?: number | undefined;
    readonly workers: number | undefined;
  };
  readonly server: ServerUsage & {
    readonly available: number | undefined;
    readonly throttled: number | undefined;
  };
  /** The ramp and warm-up, measured apart: CPU and throttling while everyone joined. */
  readonly joining?: { readonly seconds: number; readonly generator: Cpu; readonly server: Cpu };
  /** Cores other processes of the machine used during the window (noise). */
  readonly otherCores: number;
  readonly outputDir: string;
}

interface StepContext {
  readonly server: ServerUnderTest;
  readonly scenario: Scenario;
  readonly quality: readonly string[];
  readonly timing: StepTiming;
  readonly workers: number | undefined;
  readonly signal: AbortSignal;
}

/** Participants per room of the workload. */
export function perRoom(s: Scenario): number {
  return Math.max(s.videoPublishers, s.audioPublishers) + s.subscribers;
}

/** Pure: the scenario of one step, the workload with `rooms` and the step's timing. */
export function stepScenario(base: Scenario, rooms: number, timing: StepTiming, tag: string): Scenario {
  return {
    ...base,
    rooms,
    // the window, then a little room for the last stats window before the run drains
    duration: timing.warmupMs + timing.holdMs + 3_000,
    warmup: 0,
    thresholds: [],
    roomPrefix: `cap-${tag}-${String(rooms)}r-`,
  };
}

export async function runStep(
  ctx: StepContext,
  rooms: number,
  phase: Step["phase"],
  outputDir: string,
): Promise<Step> {
  mkdirSync(outputDir, { recursive: true });
  const scenario = stepScenario(ctx.scenario, rooms, ctx.timing, Date.now().toString(36));
  const spec: StepSpec = {
    scenario,
    quality: ctx.quality,
    warmupMs: ctx.timing.warmupMs,
    outputDir,
    workers: ctx.workers,
  };
  const run = RunProcess.start(STEP_PROCESS, spec, ctx.server.target, {
    stderr: join(outputDir, "step-stderr.log"),
  });
  if (run === undefined)
    throw new CapacityError("step-failed", `${String(rooms)} rooms: the step process did not start`);
  const { watch, pid } = run;
  const exitNow = (): string | undefined => (run.exit === undefined ? undefined : exitWord(run.exit));
  const until = (cond: () => boolean, deadlineMs: number): Promise<void> =>
    run.until(cond, deadlineMs, ctx.signal);
  const caps = {
    generator: cpuCapOf(pid),
    server: ctx.server.pid !== undefined ? cpuCapOf(ctx.server.pid) : undefined,
  };
  const available = Math.min(caps.generator?.cores ?? Infinity, availableParallelism());
  try {
    // the start is measured too: a generator starved hard may never reach its first join
    const starting = await PhaseMeter.open(pid, caps, ctx.server);
    let polledAt = Date.now();
    await until(() => {
      if (Date.now() - polledAt >= 1000) {
        starting.poll();
        polledAt = Date.now();
      }
      return watch.startedAtMs !== undefined && watch.rampMs !== undefined;
    }, Date.now() + START_TIMEOUT_MS);
    const { startedAtMs, rampMs } = watch;
    if (startedAtMs === undefined || rampMs === undefined) {
      if (ctx.signal.aborted) throw new CapacityError("interrupted", "interrupted");
      const reading = run.exit === undefined ? await starting.close() : undefined;
      const starved =
        reading === undefined
          ? undefined
          : judgeNotStarted(
              {
                generator: { ...reading.generator, available },
                machine: { busy: machineBusy(reading, ctx.server), cores: availableParallelism() },
              },
              START_TIMEOUT_MS / 1000,
            );
      if (reading !== undefined && starved !== undefined)
        // the plan's participants: the run never said how many it had
        return notStarted(
          { rooms, participants: rooms * perRoom(ctx.scenario), phase, outputDir, available },
          reading,
          starved,
          ctx.server.cores,
        );
      throw new CapacityError(
        "step-failed",
        `${String(rooms)} rooms: the run did not start (exit ${exitNow() ?? "none yet"}; see ${outputDir}/step-stderr.log)`,
      );
    }
    const windowStart = startedAtMs + rampMs + ctx.timing.warmupMs;
    const windowEnd = windowStart + ctx.timing.holdMs;
    const measure = async (endMs: number): Promise<PhaseReading | undefined> => {
      const meter = await PhaseMeter.open(pid, caps, ctx.server);
      while (Date.now() < endMs && run.exit === undefined && !ctx.signal.aborted) {
        await sleep(Math.min(1000, Math.max(0, endMs - Date.now())));
        meter.poll();
      }
      return meter.close();
    };
    // the ramp and warm-up are measured apart: a generator or server that saturates while
    // everyone joins explains late joins, though the window after may look calm
    const joining = await measure(windowStart);
    const window = await measure(windowEnd);
    await until(() => run.exit !== undefined, windowEnd + 3_000 + END_GRACE_MS);
    if (ctx.signal.aborted) throw new CapacityError("interrupted", "interrupted");
    const summary = readSummary(outputDir);
    if (summary === undefined || window === undefined) {
      throw new CapacityError(
        "step-failed",
        `${String(rooms)} rooms: no report from the run (exit ${exitNow() ?? "none"}; see ${outputDir}/step-stderr.log)`,
      );
    }
    const joinLagMs = (watch.allInAtMs ?? Date.now()) - (startedAtMs + rampMs);
    const { participants, workers } = watch;
    const kept = keptUp(keptUpFigures(summary.summary, joinLagMs), joinGraceMs(participants));
    const busier = (a: Cpu, b: Cpu | undefined): Cpu => ({
      cores: Math.max(a.cores ?? 0, b?.cores ?? 0),
      throttled: a.throttled === undefined ? undefined : Math.max(a.throttled, b?.throttled ?? 0),
      busiestThread: Math.max(a.busiestThread ?? 0, b?.busiestThread ?? 0),
    });
    const judgement = judgeStep({
      rooms,
      participants,
      thresholds: summary.thresholds,
      keptUp: kept,
      generator: { ...busier(window.generator, joining?.generator), available },
      server: { ...busier(window.server, joining?.server), available: ctx.server.cores },
      machine: {
        busy: Math.max(
          machineBusy(window, ctx.server),
          joining !== undefined ? machineBusy(joining, ctx.server) : 0,
        ),
        cores: availableParallelism(),
      },
    });
    const generator = {
      cores: window.generator.cores ?? 0,
      available,
      throttled: window.generator.throttled,
      busiestThread: window.generator.busiestThread,
    };
    const joiningFigures =
      joining !== undefined
        ? {
            joining: {
              seconds: joining.seconds,
              generator: joining.generator,
              server: { cores: joining.server.cores, throttled: joining.server.throttled },
            },
          }
        : {};
    return {
      rooms,
      participants,
      phase,
      outcome: judgement.outcome,
      reason: judgement.reason,
      broken: judgement.broken,
      thresholds: summary.thresholds,
      keptUp: kept,
      windowS: window.seconds,
      generator: { ...generator, workers },
      server: { ...window.usage, available: ctx.server.cores, throttled: window.server.throttled },
      ...joiningFigures,
      otherCores: window.otherCores,
      outputDir,
    };
  } finally {
    if (run.exit === undefined) await run.end(END_GRACE_MS);
    run.closeLogs();
  }
}

/** A step whose run never started, judged generator-bound: what was measured while it waited. */
function notStarted(
  step: Pick<Step, "rooms" | "participants" | "phase" | "outputDir"> & { readonly available: number },
  reading: PhaseReading,
  judgement: StepJudgement,
  serverCores: number | undefined,
): Step {
  return {
    rooms: step.rooms,
    participants: step.participants,
    phase: step.phase,
    outcome: judgement.outcome,
    reason: judgement.reason,
    broken: judgement.broken,
    thresholds: [],
    keptUp: { ok: false, reason: "the run did not start" },
    windowS: 0,
    generator: {
      cores: reading.generator.cores ?? 0,
      available: step.available,
      throttled: reading.generator.throttled,
      busiestThread: reading.generator.busiestThread,
      workers: undefined,
    },
    server: { ...reading.usage, available: serverCores, throttled: reading.server.throttled },
    joining: { seconds: reading.seconds, generator: reading.generator, server: reading.server },
    otherCores: reading.otherCores,
    outputDir: step.outputDir,
  };
}

/** Cores the whole machine used in a phase: the generator, the server when it runs here, and the rest. */
function machineBusy(phase: PhaseReading, server: ServerUnderTest): number {
  return (
    (phase.generator.cores ?? 0) +
    (server.pid !== undefined ? (phase.server.cores ?? 0) : 0) +
    phase.otherCores
  );
}

interface PhaseReading {
  readonly seconds: number;
  readonly generator: Cpu;
  readonly server: Cpu;
  readonly usage: ServerUsage;
  readonly otherCores: number;
}

/** CPU of the generator's tree (/proc), the server's /metrics and both cgroups' throttling over one phase. */
class PhaseMeter {
  private constructor(
    private readonly sampler: Sampler,
    private readonly caps: { readonly generator: CpuCap | undefined; readonly server: CpuCap | undefined },
    private readonly metricsUrl: string,
    private readonly from: {
      readonly scrape: ServerScrape;
      readonly generator: Throttling | undefined;
      readonly server: Throttling | undefined;
    },
  ) {}

  static async open(
    pid: number,
    caps: { readonly generator: CpuCap | undefined; readonly server: CpuCap | undefined },
    server: ServerUnderTest,
  ): Promise<PhaseMeter> {
    const scrapeNow = await scrape(server.metricsUrl);
    // a local server's pid keeps its CPU out of "other load" (a remote one has none here)
    const sampler = new Sampler(pid, server.pid ?? -1);
    sampler.poll();
    return new PhaseMeter(sampler, caps, server.metricsUrl, {
      scrape: scrapeNow,
      generator: caps.generator !== undefined ? throttlingOf(caps.generator.group) : undefined,
      server: caps.server !== undefined ? throttlingOf(caps.server.group) : undefined,
    });
  }

  poll(): void {
    this.sampler.poll();
  }

  async close(): Promise<PhaseReading | undefined> {
    this.sampler.poll();
    const last = await scrape(this.metricsUrl);
    const measure = this.sampler.result();
    if (measure === undefined) return undefined;
    const usage = usageBetween(this.from.scrape, last);
    const throttled = (cap: CpuCap | undefined, from: Throttling | undefined): number | undefined =>
      cap !== undefined ? throttledShare(from, throttlingOf(cap.group)) : undefined;
    return {
      seconds: measure.windowS,
      generator: {
        cores: measure.windowS > 0 ? measure.treeCpuS / measure.windowS : 0,
        throttled: throttled(this.caps.generator, this.from.generator),
        busiestThread: measure.windowS > 0 ? measure.busiestWorkerJsCpuS / measure.windowS : 0,
      },
      server: { cores: usage.cores, throttled: throttled(this.caps.server, this.from.server) },
      usage,
      otherCores: measure.otherCores,
    };
  }
}

/** Pure: the share of CFS periods between two cpu.stat readings that were throttled. */
export function throttledShare(from: Throttling | undefined, to: Throttling | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const periods = to.periods - from.periods;
  return periods > 0 ? (to.throttled - from.throttled) / periods : 0;
}

/** The run's summary.json: its figures and the verdict of the quality thresholds. */
function readSummary(
  dir: string,
): { summary: RunSummary; thresholds: readonly ThresholdResult[] } | undefined {
  let report: RunReport;
  try {
    // written by the step process's runSession, from load's RunReport type
    report = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as RunReport;
  } catch {
    return undefined;
  }
  return { summary: report, thresholds: report.thresholds ?? [] };
}
