import { defaultThresholds, loadBaseline, parseThreshold, type Threshold } from "@livekit-swarm/gate";
import { ResultsRoute } from "@livekit-swarm/k8s";
import { e2eeKey } from "../../secret.js";
import { resolveScenario } from "../../session/scenario.js";
import { exporterMetrics, runAndRender, targetFrom } from "../../session/run-session.js";
import { UsageError } from "../../errors.js";
import { readyMadeFile } from "../../ready-made.js";
import type { RunCommand, RunFlags } from "./options.js";
import { SCENARIO_OPTIONS } from "./scenario-flags.js";
import { shardFrom } from "./shard-flags.js";

/** Scenario key path -> value, for the scenario flags given on the command line. */
function scenarioKeys(command: RunCommand): Map<string, unknown> {
  const keys = new Map<string, unknown>();
  for (const { key, option } of SCENARIO_OPTIONS) {
    const value = command.getOptionValue(option.attributeName());
    if (value !== undefined) keys.set(key, value);
  }
  return keys;
}

export async function run(flags: RunFlags, command: RunCommand): Promise<number> {
  const file =
    flags.scenario === undefined ? undefined : readyMadeFile("scenarios", flags.scenario, "run: --scenario");
  const { scenario, roomPrefixPerRun } = await resolveScenario(file, scenarioKeys(command));
  const thresholds: Threshold[] = [
    ...(flags.threshold ?? []).map((t) => parseThreshold(t)),
    ...(flags.gate === "default" ? defaultThresholds() : []),
  ];
  // read before anything starts: a relative threshold without a baseline, or a baseline of another
  // workload, is refused here rather than after the run
  const baseline = await loadBaseline(flags.baseline, scenario, flags.forceCompare === true);
  const target = targetFrom("run", flags);
  const key = e2eeKey("run", flags.e2eeKeyFile);
  if (key !== undefined && scenario.e2ee === null)
    throw new UsageError(
      "run: an E2EE key was given (--e2ee-key-file or LKSWARM_E2EE_KEY) but the run is not encrypted: pass --e2ee, or drop the key",
    );
  const { metricsPort, pushgateway, serveResults } = flags;
  if (serveResults !== undefined && metricsPort === undefined)
    throw new UsageError(
      "run: --serve-results serves the output folder from the /metrics server: pass --metrics-port too (and --metrics-host 0.0.0.0 for a collector on another host)",
    );
  const shard = shardFrom(flags);
  return runAndRender(
    {
      scenario,
      roomPrefixPerRun,
      ...(shard !== undefined ? { shard } : {}),
      ...(flags.startAt !== undefined ? { startAtMs: flags.startAt } : {}),
      ...(flags.runId !== undefined ? { runId: flags.runId } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(key !== undefined ? { e2eeKey: key } : {}),
      thresholds,
      ...(baseline !== undefined ? { baseline } : {}),
      statsIntervalMs: flags.statsInterval,
      ...(flags.screenshots === true ? { screenshots: true } : {}),
      ...(flags.gzipLines === true ? { gzipLines: true } : {}),
      ...(flags.output !== undefined ? { outputDir: flags.output } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...(flags.turn === true ? { turn: true } : {}),
      ...(serveResults !== undefined ? { results: { route: new ResultsRoute(), holdMs: serveResults } } : {}),
      ...(metricsPort !== undefined || pushgateway !== undefined
        ? {
            metrics: exporterMetrics(
              {
                ...(metricsPort !== undefined ? { port: metricsPort } : {}),
                host: flags.metricsHost,
                ...(pushgateway !== undefined ? { pushgateway } : {}),
                lingerMs: flags.linger ?? 0,
              },
              flags.perParticipantLabels === true,
            ),
          }
        : {}),
    },
    flags.json === true,
  );
}
