import { Command, Option } from "@commander-js/extra-typings";
import {
  collect,
  duration,
  integer,
  liveMetricsOptions,
  outputOption,
  positive,
  type FlagsOf,
  withLivekitOptions,
} from "../../flags.js";

export const EXAMPLES = [
  "swarm storm join-storm --rate 20 --duration 30s            # against an embedded local LiveKit",
  "LIVEKIT_API_SECRET=S swarm storm join-storm --url wss://lk.example.com --api-key K --rate 50 \\\n      --threshold 'lkswarm_storm_join_duration_seconds p99 < 1s' --threshold 'lkswarm_storm_join_failures_total count == 0'",
  "swarm storm churn --vus 40 --duration 1m --set STORM_HOLD_MAX_S=10",
  "swarm storm room-service --rate 5 && swarm storm ./my-storm.js --set STORM_EXECUTOR=ramping",
  "swarm storm join-storm --rate 50 --duration 5m --metrics-port 9464 --linger 30s   # live /metrics for Prometheus",
];

export function define() {
  const [metricsPort, metricsHost, linger] = liveMetricsOptions("storm", "storm");
  return withLivekitOptions(new Command("storm"), "LiveKit server; none: start an embedded local testbed")
    .summary("load the signalling plane with k6: join storms, churn, RoomService calls")
    .description(
      "Runs a k6 scenario against LiveKit's signalling plane: signal-only WebSocket joins timed to their " +
        "JoinResponse (join-storm: an arrival rate; churn: leave and rejoin; reconnect: drop and resume), or " +
        "RoomService calls over Twirp (room-service); or your own k6 script. The keys reach k6 through its environment, never its command line. " +
        "k6's figures come back as the catalog's lkswarm_storm_* metrics: --threshold gates them as in `swarm run`; " +
        "k6's own thresholds (STORM_JOIN_P95_MS, STORM_JOIN_P99_MS, STORM_MAX_FAILURES) count too. Exit 99 when " +
        "either fails. Writes summary.json, junit.xml, report.md and k6.log. With --metrics-port the figures are on " +
        "/metrics as k6's points arrive (about once a second), for Prometheus to scrape during the storm.",
    )
    .argument("<scenario>", "join-storm, churn, reconnect, room-service, or a path to a k6 script")
    .addOption(
      new Option("--rate <per-second>", "arrivals per second (STORM_RATE), 0.1 to 10000").argParser(
        positive("storm", "rate", 0.1, 10000),
      ),
    )
    .addOption(
      new Option(
        "--vus <n>",
        "most k6 VUs at once, or churn's population (STORM_VUS), 1 to 100000",
      ).argParser(integer("storm", "vus", 1, 100000)),
    )
    .addOption(
      new Option("--duration <time>", "how long arrivals go on (STORM_DURATION), 1s to 24h").argParser(
        duration("storm", "duration", 1000, 24 * 3600 * 1000),
      ),
    )
    .addOption(
      new Option(
        "--set <NAME=value>",
        "another setting for the script, e.g. STORM_HOLD_MAX_S=20 (repeatable): STORM_* names, or a k6 option of docs/signalling-storm.md's list",
      ).argParser(collect),
    )
    .addOption(
      new Option("--threshold <expr>", "a threshold on lkswarm_storm_* (repeatable)").argParser(collect),
    )
    .addOption(metricsPort)
    .addOption(metricsHost)
    .addOption(linger)
    .addOption(outputOption("storm", "output folder"))
    .option("--json", "print summary.json instead of the table");
}

export type StormFlags = FlagsOf<typeof define>;
