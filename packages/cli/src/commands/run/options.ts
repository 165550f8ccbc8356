import { Command, Option } from "@commander-js/extra-typings";
import {
  collect,
  duration,
  httpUrl,
  integer,
  liveMetricsOptions,
  outputOption,
  withLivekitOptions,
} from "../../flags.js";
import { SCENARIO_OPTIONS } from "./scenario-flags.js";
import { shardOptions } from "./shard-flags.js";

/** The most worker processes a run forks. */
export const MAX_WORKERS = 256;

export const EXAMPLES = [
  "swarm                                          # 1 room against an embedded local LiveKit",
  "swarm --rooms 500 --video-publishers 1 --subscribers 4 --duration 5m",
  "swarm --scenario scenarios/conference-720p.yaml --url wss://lk.example.com",
  "LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=k LIVEKIT_API_SECRET=s swarm --rooms 10 --no-simulcast",
  "swarm --rooms 3 --json > summary.json",
  "swarm --e2ee --e2ee-key-file key.txt --rooms 2 --subscribers 2   # end-to-end encrypted rooms (native or browser engine)",
  "swarm --engine lean --rooms 30 --video-publishers 0 --subscribers 4   # audio rooms at a fraction of the CPU",
  'swarm --rooms 20 --gate default --threshold "lkswarm_join_duration_seconds p99 < 2s"   # exit 99 on a breach',
  "swarm --url $LK --rooms 60 --shard 0/3 --start-at 2026-11-22T21:05:00Z -o out   # and 1/3, 2/3 elsewhere; then: swarm merge out",
];

export function define() {
  const [metricsPort, metricsHost, linger] = liveMetricsOptions("run", "run");
  const command = withLivekitOptions(
    new Command("run"),
    "LiveKit server; none: start an embedded local testbed",
  )
    .summary("run a swarm of participants and report quality (the default command)")
    .description(
      "Runs a swarm of headless participants (--engine native: @livekit/rtc-node; lean: pre-encoded audio and video; browser: livekit-client in headless Chromium) in many rooms, publishing audio and " +
        "video, and reports what users would feel: join time, first frame, loss, jitter, RTT, freezes, bitrate, " +
        "reconnects, end-to-end latency. Without --url it starts an embedded local LiveKit and runs against it. " +
        "Flags override the scenario file. Writes summary.json, samples.jsonl, events.jsonl and report.html.",
    )
    .usage("[options]   (or: swarm [options])")
    .allowExcessArguments(true)
    .option("--scenario <file.yaml>", "scenario file (see scenarios/)");
  for (const { option } of SCENARIO_OPTIONS) command.addOption(option);
  const [shard, shards, startAt, runId] = shardOptions();
  return command
    .addOption(shard)
    .addOption(shards)
    .addOption(startAt)
    .addOption(runId)
    .addOption(
      new Option(
        "--threshold <expr>",
        'quality gate, repeatable: "lkswarm_inbound_loss_ratio{kind=video} p95 over participants < 2%"; a fail breach exits 99',
      ).argParser(collect),
    )
    .addOption(
      new Option("--gate <preset>", "add the catalog's default thresholds").choices(["default"] as const),
    )
    .option(
      "--baseline <file|dir>",
      'an earlier run\'s summary.json or output folder, for thresholds like "<= baseline + 20%"',
    )
    .option(
      "--turn",
      "run LiveKit's built-in TURN on the testbed the run starts (no --url): over UDP for the turn-only network profile, and over TLS on 443 for browser participants behind udp-blocked or tcp-only (one node)",
    )
    .option(
      "--force-compare",
      "use a --baseline of a different workload (engine, rooms, roles, media, profiles, E2EE), or one that did not complete or was inconclusive",
    )
    .addOption(metricsPort)
    .addOption(metricsHost)
    .addOption(linger)
    .addOption(
      new Option(
        "--serve-results <duration>",
        "after the run, serve its output folder at /results on the --metrics-port server until a collector has it (POST /results/collected) or this long passes, then exit with the run's code; what the shard pods of `swarm k8s render` run",
      ).argParser(duration("run", "serve-results", 1000)),
    )
    .addOption(
      new Option("--pushgateway <url>", "push final metrics to a Pushgateway").argParser(
        httpUrl("run", "pushgateway"),
      ),
    )
    .option(
      "--per-participant-labels",
      "room and participant labels on metrics (small runs only: cardinality)",
    )
    .option(
      "--e2ee-key-file <file>",
      "the shared E2EE key, alone on one line (env: LKSWARM_E2EE_KEY); default: a random key made for the run",
    )
    .addOption(outputOption("run", "where reports go (default swarm-results/<run id>)"))
    .option("--json", "print summary.json to stdout instead of the table")
    .addOption(
      new Option(
        "--workers <n>",
        `worker processes, 1 to ${MAX_WORKERS} (default: one per ~100 native participants, 10 browser ones, or 10,000 packets/s of lean ones, at most one per core)`,
      ).argParser(integer("run", "workers", 1, MAX_WORKERS)),
    )
    .addOption(
      new Option(
        "--stats-interval <5s>",
        "getStats sampling interval, 200ms to 1m (every 1 s costs +39% CPU; a longer window hides freezes)",
      )
        .default(5000, "5s")
        .argParser(duration("run", "stats-interval", 200, 60_000)),
    )
    .option(
      "--gzip-lines",
      "write samples.jsonl.gz and events.jsonl.gz, gzip-compressed as they come (about a tenth of the disk for a long run); swarm merge and zcat read them",
    )
    .option(
      "--screenshots",
      "save each browser participant's page as a PNG at the end, in <output>/screenshots/, listed in report.md and report.html",
    );
}

export type RunCommand = ReturnType<typeof define>;
export type RunFlags = ReturnType<RunCommand["opts"]>;
