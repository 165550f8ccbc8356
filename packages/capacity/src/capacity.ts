/** `swarm capacity`: the search over steps against one node, the embedded testbed's or a given one. */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PAUSE_MS } from "@livekit-swarm/bench";
import { Interruption, type RunTarget } from "@livekit-swarm/load";
import type { ExitCode, Scenario } from "@livekit-swarm/schema";
import { Testbed } from "@livekit-swarm/testbed";
import { CapacityError } from "./errors.js";
import { capacityReport, generatorServerCell, type CapacityResult } from "./report.js";
import { nextStep, type SearchPlan } from "./search.js";
import { runStep, type ServerUnderTest, type Step, type StepTiming } from "./step.js";

/** The primer before the first step: joins and a few seconds of media, not judged. */
const PRIMER: StepTiming = { warmupMs: 0, holdMs: 5_000 };

export interface CapacityOptions {
  readonly scenario: Scenario;
  /** Threshold texts (gate language, `;`-separated, short names allowed). */
  readonly quality: readonly string[];
  /** A node to measure; absent, a one-node testbed is started (capped at `serverCpu` cores) and stopped after. */
  readonly server?: {
    readonly target: RunTarget;
    readonly metricsUrl: string;
    readonly cores: number | undefined;
  };
  readonly serverCpu?: number;
  readonly search: SearchPlan;
  readonly timing: StepTiming;
  readonly workers?: number;
  readonly outputDir: string;
  readonly log?: (line: string) => void;
}

export interface CapacityRun {
  readonly result: CapacityResult;
  readonly files: readonly string[];
  /** Set when a signal ended the search: 130 or 143. */
  readonly interrupted?: ExitCode;
}

export function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${String(availableParallelism())} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}`;
}

export async function runCapacity(options: CapacityOptions): Promise<CapacityRun> {
  const log = options.log ?? ((): void => {});
  mkdirSync(options.outputDir, { recursive: true });
  const interruption = new Interruption(log, {
    first: (signal) =>
      `${signal}: ending the current step, stopping the server, writing what was found (again to force)`,
    second: "second signal: stopping now",
  }).listen();
  let testbed: Testbed | undefined;
  const steps: Step[] = [];
  let stepFailure: { rooms: number; message: string } | undefined;
  try {
    let server: ServerUnderTest;
    if (options.server !== undefined) server = options.server;
    else {
      log(
        `starting a one-node testbed${options.serverCpu !== undefined ? `, livekit-server capped at ${String(options.serverCpu)} core` : ""}`,
      );
      testbed = await Testbed.start({
        name: `capacity-${Date.now().toString(36)}`,
        ...(options.serverCpu !== undefined ? { nodeCpu: options.serverCpu } : {}),
      });
      const node = testbed.nodes[0];
      if (node === undefined) throw new CapacityError("step-failed", "the testbed started no node");
      server = {
        target: { url: testbed.url, apiKey: testbed.apiKey, apiSecret: testbed.apiSecret },
        metricsUrl: node.metricsUrl,
        cores: options.serverCpu ?? availableParallelism(),
        pid: node.pid,
      };
    }
    log(
      `capacity of ${options.scenario.name} (${options.scenario.engine} engine): rooms from ${String(options.search.start)} by ${String(options.search.step)} up to ${String(options.search.max)}, ` +
        `each step: ramp, ${String(options.timing.warmupMs / 1000)} s warm-up (excluded), ${String(options.timing.holdMs / 1000)} s measured`,
    );
    const context = {
      server,
      scenario: options.scenario,
      quality: options.quality,
      timing: options.timing,
      workers: options.workers,
      signal: interruption.interrupt,
    };
    // measured: a fresh livekit-server's first joins take seconds (2.2-2.4 s against 0.6-0.8 s for
    // the same 8 joins right after), which would fail the first step on join time and lag
    log("priming the server with one room (discarded)");
    try {
      await runStep({ ...context, timing: PRIMER }, 1, "ramp", join(options.outputDir, "steps", "00-primer"));
    } catch (err) {
      if (!(err instanceof CapacityError && err.reason === "interrupted")) throw err;
    }
    for (;;) {
      const next = nextStep(options.search, steps);
      if (next.kind === "done") break;
      if (interruption.interrupt.aborted) break;
      if (steps.length > 0) await sleep(PAUSE_MS);
      log(`step ${String(steps.length + 1)} (${next.phase}): ${String(next.rooms)} rooms`);
      let step: Step;
      try {
        step = await runStep(
          context,
          next.rooms,
          next.phase,
          join(
            options.outputDir,
            "steps",
            `${String(steps.length + 1).padStart(2, "0")}-${String(next.rooms)}r`,
          ),
        );
      } catch (err) {
        if (err instanceof CapacityError && err.reason === "interrupted") break;
        // what the steps so far measured is still written; the error is the knee line
        if (!(err instanceof Error)) throw err;
        stepFailure = { rooms: next.rooms, message: err.message };
        log(`  the step failed: ${err.message}`);
        break;
      }
      steps.push(step);
      log(
        `  ${step.outcome}: ${step.reason}; server ${step.server.cores?.toFixed(2) ?? "?"} cores, generator ${step.generator.cores.toFixed(2)} of ${step.generator.available.toFixed(2)} cores${step.generator.busiestThread !== undefined ? ` (its busiest worker thread ${step.generator.busiestThread.toFixed(2)})` : ""}, generator/server ${generatorServerCell(step)}`,
      );
    }
  } finally {
    interruption.close();
    if (testbed !== undefined) await testbed.stop();
  }
  const result: CapacityResult = {
    scenario: options.scenario,
    quality: options.quality,
    search: options.search,
    timing: options.timing,
    server:
      options.server !== undefined
        ? { kind: "url", url: options.server.target.url, cores: options.server.cores }
        : { kind: "testbed", cores: options.serverCpu, runDir: testbed?.runDir },
    machine: machineDescription(),
    steps,
    knee: stepFailure !== undefined ? { kind: "step-failed", ...stepFailure } : kneeOf(options.search, steps),
  };
  const files = writeCapacity(result, options.outputDir);
  return {
    result,
    files,
    ...(interruption.signal !== undefined ? { interrupted: interruption.exitCode } : {}),
  };
}

/** The loop ends with the search done, or early on a signal. */
function kneeOf(search: SearchPlan, steps: readonly Step[]): CapacityResult["knee"] {
  const next = nextStep(search, steps);
  return next.kind === "done" ? next.knee : { kind: "interrupted" };
}

function writeCapacity(result: CapacityResult, dir: string): string[] {
  const report = capacityReport(result);
  writeFileSync(join(dir, "steps.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, "report.md"), report.markdown);
  writeFileSync(join(dir, "report.html"), report.html);
  writeFileSync(join(dir, "capacity.svg"), report.svg);
  return ["steps.json", "report.md", "report.html", "capacity.svg"];
}
