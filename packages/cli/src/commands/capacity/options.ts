import { Command, Option } from "@commander-js/extra-typings";
import { engineChoices } from "@livekit-swarm/schema";
import {
  collect,
  duration,
  httpUrl,
  integer,
  positive,
  withLivekitOptions,
  type FlagsOf,
  outputOption,
} from "../../flags.js";

export const EXAMPLES = [
  'sudo swarm capacity --scenario scenarios/capacity/audio-2party.yaml --server-cpu 1 --quality "loss p95 < 1%; join p99 < 2s"',
  "swarm capacity --scenario scenarios/capacity/audio-5party.yaml --start 10 --step 10 --max 200 --hold 30s",
  "swarm capacity --scenario scenarios/capacity/video-720p-4party.yaml --url wss://lk.example.com --api-key K \\\n    --server-metrics http://10.0.0.5:6789/metrics --server-cores 4",
];

export function define() {
  return withLivekitOptions(
    new Command("capacity")
      .summary("find how many rooms one node holds at a given quality")
      .description(
        "Measure, don't guess: runs the workload again and again with more rooms (a fresh run per step: the ramp, a warm-up " +
          "that is excluded, then --hold measured), then bisects between the last good and the first bad step. A step is " +
          "judged by the --quality thresholds (the gate's language; loss, jitter, join and reconnects are short names) and " +
          "records the server's CPU, memory, packets and bandwidth from its /metrics. A step where the load generator " +
          "saturated (its CPU near its cores, or it did not keep up while the server had headroom) stops the search as " +
          "generator-bound: never reported as the server's capacity. Writes steps.json, report.md, report.html and capacity.svg.",
      )
      .allowExcessArguments(true)
      .requiredOption(
        "--scenario <file>",
        "the workload (a scenario file; its rooms, duration and thresholds are the search's)",
      )
      .addOption(
        new Option(
          "--quality <thresholds>",
          "thresholds a step must meet, `;`-separated, repeatable (default: the scenario's thresholds, else loss p95 < 1%; join p99 < 2s; jitter p95 < 30ms; reconnects count <= 0)",
        ).argParser(collect),
      ),
    "LiveKit server (one node, or a node of a cluster: pair with --server-metrics); none: a one-node embedded testbed",
  )
    .addOption(
      new Option(
        "--server-metrics <url>",
        "the node's /metrics (livekit-server's prometheus_port); required with --url",
      ).argParser(httpUrl("capacity", "server-metrics")),
    )
    .addOption(
      new Option(
        "--server-cores <n>",
        "with --url: the node's cores, to tell a saturated server from a saturated generator",
      ).argParser(positive("capacity", "server-cores", 0.01, 1024)),
    )
    .addOption(
      new Option(
        "--server-cpu <cores>",
        "embedded testbed: cap livekit-server at this many cores (cgroup, root) so it saturates before the generator",
      ).argParser(positive("capacity", "server-cpu", 0.01, 256)),
    )
    .addOption(new Option("--engine <engine>", "override the scenario's engine").choices(engineChoices))
    .addOption(
      new Option("--start <rooms>", "first step")
        .default(1)
        .argParser(integer("capacity", "start", 1, 100_000)),
    )
    .addOption(
      new Option("--step <rooms>", "rooms added per ramp step")
        .default(5)
        .argParser(integer("capacity", "step", 1, 100_000)),
    )
    .addOption(
      new Option("--max <rooms>", "the most rooms tried")
        .default(100)
        .argParser(integer("capacity", "max", 1, 100_000)),
    )
    .addOption(
      new Option(
        "--resolution <rooms>",
        "bisect until the good and bad steps are this close (default a quarter of --step)",
      ).argParser(integer("capacity", "resolution", 1, 100_000)),
    )
    .addOption(
      new Option("--hold <duration>", "measured steady state of each step")
        .default(30_000, "30s")
        .argParser(duration("capacity", "hold", 5_000)),
    )
    .addOption(
      new Option("--warmup <duration>", "after the last join, before the measured hold; excluded")
        .default(10_000, "10s")
        .argParser(duration("capacity", "warmup", 0)),
    )
    .addOption(
      new Option("--workers <n>", "worker processes per step (default: the run's)").argParser(
        integer("capacity", "workers", 1, 64),
      ),
    )
    .addOption(outputOption("capacity", "where the reports go (default swarm-results/capacity-<time>)"))
    .option("--dry-run", "print the plan and the thresholds, run nothing");
}

export type CapacityFlags = FlagsOf<typeof define>;
