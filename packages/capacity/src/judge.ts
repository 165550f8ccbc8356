/**
 * Whether a step measured the server: good (every threshold met), bad (a threshold broke while
 * the generator kept up), or generator-bound (the load generator saturated, so the step says
 * nothing about the server). Pure.
 */
import type { KeptUp } from "@livekit-swarm/bench";
import type { ThresholdResult } from "@livekit-swarm/gate";
import type { StepOutcome } from "./search.js";

/** The generator's CPU at or above this share of the cores it may use: it is the bottleneck. */
export const GENERATOR_SATURATED = 0.85;
/** The server's CPU at or above this share of its cores: the server is the bottleneck. */
export const SERVER_SATURATED = 0.8;
/**
 * A CPU-capped group throttled (its CFS quota spent before the 100 ms period ended) in at least
 * this share of the window's periods is saturated, whatever its average says: the average of a
 * group capped at 0.1 core cannot exceed 0.1, but its work waits every time it hits the cap.
 */
export const THROTTLED_SATURATED = 0.2;
/** The generator's machine busy (generator, a local server, everything else) at this share of its cores: full. */
export const MACHINE_FULL = 0.9;
/**
 * A worker's JavaScript thread at this share of one core: its event loop is full, whatever cores
 * the machine has left (one thread cannot use more than one). Measured: a lean 1080p step of 72
 * participants in one worker broke jitter with the tree at 1.26 of 2 cores and the server at 0.34
 * of its 1; the tree's total hid the one busy thread.
 */
export const THREAD_SATURATED = 0.9;

/** What one step measured. */
export interface StepReading {
  readonly rooms: number;
  readonly participants: number;
  readonly thresholds: readonly ThresholdResult[];
  /** The engine's kept-up checks (everyone joined within the grace, every track receiving). */
  readonly keptUp: KeptUp;
  /**
   * Generator CPU over the window, cores; the cores it may use (its cgroup quota, or the host's);
   * the share of CFS periods its cgroup was throttled in, when it has a quota.
   */
  readonly generator: Cpu & { readonly available: number };
  /**
   * Cores the generator's whole machine used (the generator, a local server, every other
   * process), of its cores; undefined when not measured.
   */
  readonly machine?: { readonly busy: number; readonly cores: number } | undefined;
  /** Server CPU over the window, cores; `available` undefined when unknown (a remote node). */
  readonly server: Cpu & { readonly cores: number | undefined; readonly available: number | undefined };
}

export interface Cpu {
  readonly cores: number | undefined;
  readonly throttled?: number | undefined;
  /** The generator's busiest worker JavaScript thread, cores (of the one it can use). */
  readonly busiestThread?: number | undefined;
}

/** Pure: near its cores on average, or throttled in many of its CFS periods. */
export function saturated(cpu: Cpu & { readonly available: number | undefined }, share: number): boolean {
  if (cpu.throttled !== undefined && cpu.throttled >= THROTTLED_SATURATED) return true;
  return cpu.cores !== undefined && cpu.available !== undefined && cpu.cores >= share * cpu.available;
}

export interface Broken {
  readonly threshold: string;
  readonly observed: number | undefined;
  readonly censored: boolean;
  readonly limit: number;
  readonly op: string;
  readonly message: string;
}

export interface StepJudgement {
  readonly outcome: StepOutcome;
  /** One line: why this outcome. */
  readonly reason: string;
  /** The fail-severity thresholds the step broke (bad steps). */
  readonly broken: readonly Broken[];
}

export function judgeStep(r: StepReading): StepJudgement {
  const generatorCores = r.generator.cores ?? 0;
  if (saturated(r.generator, GENERATOR_SATURATED)) {
    const throttled =
      r.generator.throttled !== undefined
        ? `, throttled in ${percent(r.generator.throttled)} of its CPU periods`
        : "";
    return {
      outcome: "generator-bound",
      reason: `the generator used ${generatorCores.toFixed(2)} of its ${r.generator.available.toFixed(2)} cores (${percent(generatorCores / r.generator.available)}${throttled}): add cores or shards`,
      broken: [],
    };
  }
  const broken = r.thresholds
    .filter((t) => t.status === "fail" || (t.status === "no-data" && t.severity === "fail"))
    .map((t) => ({
      threshold: t.threshold,
      observed: t.observed,
      censored: t.censored === true,
      limit: t.limit,
      op: t.op,
      message: t.message,
    }));
  const serverSaturated = saturated(r.server, SERVER_SATURATED);
  // measured: a 1080p step broke jitter with the server at 0.08 of its core while the host ran
  // 1.90 of 2 cores (generator 1.34, other load 0.48); quality lost there is not the server's
  const machine = r.machine;
  const machineFull = machine !== undefined && machine.busy >= MACHINE_FULL * machine.cores;
  if ((broken.length > 0 || !r.keptUp.ok) && !serverSaturated && machineFull) {
    return {
      outcome: "generator-bound",
      reason: `quality broke while the server had headroom and the generator's machine was full (${machine.busy.toFixed(2)} of ${String(machine.cores)} cores, the generator ${generatorCores.toFixed(2)}): run the generator on other cores or machines`,
      broken,
    };
  }
  const thread = r.generator.busiestThread;
  if (
    (broken.length > 0 || !r.keptUp.ok) &&
    !serverSaturated &&
    thread !== undefined &&
    thread >= THREAD_SATURATED
  ) {
    return {
      outcome: "generator-bound",
      reason: `quality broke while the server had headroom and a worker's JavaScript thread was full (${thread.toFixed(2)} of the one core it can use; the generator ${generatorCores.toFixed(2)} of ${r.generator.available.toFixed(2)} cores): spread the participants over more workers (--workers) or shards`,
      broken,
    };
  }
  if (!r.keptUp.ok && !serverSaturated) {
    const server =
      r.server.available === undefined
        ? "the server's cores are unknown (pass --server-cores), so it cannot be blamed"
        : `the server had headroom (${(r.server.cores ?? 0).toFixed(2)} of ${r.server.available.toFixed(2)} cores)`;
    return {
      outcome: "generator-bound",
      reason: `the generator did not keep up (${r.keptUp.reason}) and ${server}: add cores or shards`,
      broken,
    };
  }
  if (broken.length > 0) {
    return { outcome: "bad", reason: broken.map((b) => b.message).join("; "), broken };
  }
  if (!r.keptUp.ok) {
    return {
      outcome: "bad",
      reason: `the saturated server did not carry the plan: ${r.keptUp.reason}`,
      broken,
    };
  }
  return { outcome: "good", reason: "every threshold met", broken };
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

/**
 * A step whose run never started (its workers not ready, no progress) within `waitedS`, its process
 * still alive: generator-bound when the generator was saturated or its machine full meanwhile (a
 * generator starved hard, by busy loops on its cores or a tiny CPU quota, may never reach its first
 * join), undefined when neither was seen and the cause is not the generator's CPU.
 */
export function judgeNotStarted(
  r: Pick<StepReading, "generator" | "machine">,
  waitedS: number,
): StepJudgement | undefined {
  const generatorCores = r.generator.cores ?? 0;
  const machine = r.machine;
  const why = saturated(r.generator, GENERATOR_SATURATED)
    ? `the generator used ${generatorCores.toFixed(2)} of its ${r.generator.available.toFixed(2)} cores` +
      (r.generator.throttled !== undefined
        ? `, throttled in ${percent(r.generator.throttled)} of its CPU periods`
        : "")
    : machine !== undefined && machine.busy >= MACHINE_FULL * machine.cores
      ? `its machine was full (${machine.busy.toFixed(2)} of ${String(machine.cores)} cores, the generator ${generatorCores.toFixed(2)})`
      : undefined;
  if (why === undefined) return undefined;
  return {
    outcome: "generator-bound",
    reason: `the run did not start within ${waitedS.toFixed(0)} s while ${why}: the generator was starved; free its cores, add cores or shards`,
    broken: [],
  };
}
