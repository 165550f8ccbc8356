import { ExitCode, loadScenario, messageOf } from "@livekit-swarm/schema";
import { readyMadeFile } from "../../ready-made.js";
import { join, resolve } from "node:path";
import {
  DEFAULT_QUALITY,
  capacityRow,
  defaultResolution,
  kneeLine,
  markdownTable,
  qualityThresholds,
  runCapacity,
  simulate,
  CAPACITY_HEADER,
} from "@livekit-swarm/capacity";
import { newRunId } from "@livekit-swarm/load";
import { UsageError } from "../../errors.js";
import { targetFrom } from "../../session/run-session.js";
import type { CapacityFlags } from "./options.js";

export async function capacity(flags: CapacityFlags): Promise<number> {
  const loaded = await loadScenario(readyMadeFile("scenarios", flags.scenario, "capacity: --scenario"));
  const scenario = flags.engine !== undefined ? { ...loaded, engine: flags.engine } : loaded;
  const quality =
    flags.quality ?? (scenario.thresholds.length > 0 ? [...scenario.thresholds] : [DEFAULT_QUALITY]);
  try {
    qualityThresholds(quality, 0);
  } catch (err) {
    throw new UsageError(`capacity: --quality: ${messageOf(err)}`);
  }
  if (flags.start > flags.max)
    throw new UsageError(`capacity: --start (${String(flags.start)}) is above --max (${String(flags.max)})`);
  const target = targetFrom("capacity", flags);
  if (target !== undefined && flags.serverMetrics === undefined)
    throw new UsageError(
      "capacity: --url needs --server-metrics http://NODE:PROMETHEUS_PORT/metrics: the server's CPU and traffic come from its own metrics",
    );
  if (target !== undefined && flags.serverCpu !== undefined)
    throw new UsageError(
      "capacity: --server-cpu caps the embedded testbed's server; with --url, pass --server-cores instead",
    );
  if (target === undefined && flags.serverMetrics !== undefined)
    throw new UsageError(
      "capacity: --server-metrics goes with --url; the embedded testbed's metrics are found on their own",
    );
  const search = {
    start: flags.start,
    step: flags.step,
    max: flags.max,
    resolution: flags.resolution ?? defaultResolution(flags.step),
  };
  const timing = { holdMs: flags.hold, warmupMs: flags.warmup };
  if (flags.dryRun === true) {
    const { tried } = simulate(search, () => "good");
    process.stdout.write(
      `capacity of ${scenario.name} (${scenario.engine} engine)\n` +
        `  ramp steps (rooms): ${tried.map((t) => t.rooms).join(", ")}; then bisection to ${String(search.resolution)} room(s)\n` +
        `  each step: the ramp, ${String(timing.warmupMs / 1000)} s warm-up (excluded), ${String(timing.holdMs / 1000)} s measured\n` +
        `  quality: ${quality.join("; ")}\n`,
    );
    return ExitCode.ok;
  }
  const outputDir = resolve(flags.output ?? join("swarm-results", `capacity-${newRunId()}`));
  const run = await runCapacity({
    scenario,
    quality,
    ...(target !== undefined && flags.serverMetrics !== undefined
      ? { server: { target, metricsUrl: flags.serverMetrics, cores: flags.serverCores } }
      : {}),
    ...(flags.serverCpu !== undefined ? { serverCpu: flags.serverCpu } : {}),
    search,
    timing,
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    outputDir,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const row = capacityRow(run.result);
  process.stdout.write(
    `${kneeLine(run.result)}\n${row !== undefined ? `${markdownTable(CAPACITY_HEADER, [row])}\n` : ""}reports: ${run.files.map((f) => join(outputDir, f)).join(", ")}\n`,
  );
  if (run.interrupted !== undefined) return run.interrupted;
  switch (run.result.knee.kind) {
    case "found":
    case "above-max":
      return ExitCode.ok;
    case "none-good":
      return ExitCode.thresholdsFailed;
    case "generator-bound":
      return ExitCode.inconclusive;
    case "interrupted":
      return ExitCode.interrupted;
    case "step-failed":
      return ExitCode.error;
  }
}
