import { Command, Option } from "@commander-js/extra-typings";
import { collect, type FlagsOf, outputOption } from "../../flags.js";

export const EXAMPLES = [
  "swarm gate --prometheus http://127.0.0.1:9090 --summary swarm-results/x/summary.json --threshold 'lkswarm_join_duration_seconds p95 < 1s'",
  "swarm gate --prometheus http://prom:9090 --run-id 20261122-0600-ab12 --from 15m --thresholds scenarios/audio-radio.yaml",
  "swarm gate --prometheus http://prom:9090 --from 10m --threshold 'livekit_packet_loss_total count < 100'",
];

export function define() {
  return new Command("gate")
    .summary("evaluate thresholds through PromQL (sharded runs, LiveKit server metrics)")
    .description(
      "Evaluates quality thresholds through PromQL against a Prometheus that scraped the swarm (one process or many " +
        "shards, e.g. a Kubernetes Indexed Job) and the LiveKit nodes. The same threshold language as `swarm run " +
        "--threshold`, plus LiveKit server metrics (livekit_*). Exit 99 when a fail threshold is breached.",
    )
    .usage("--prometheus URL (--summary summary.json | --run-id ID --from T --to T) --threshold EXPR ...")
    .allowExcessArguments(true)
    .option("--prometheus <url>", "Prometheus base URL, e.g. http://127.0.0.1:9090")
    .option("--summary <file>", "a run's summary.json: its run id and time window")
    .option("--run-id <id>", "select this run's series (run_id label)")
    .option("--from <time>", "start of the window: ISO time, or a duration ago (10m)")
    .option("--to <time>", "end of the window: ISO time, or now (default)")
    .addOption(new Option("--threshold <expr>", "a threshold expression (repeatable)").argParser(collect))
    .option("--thresholds <file>", "YAML: a list of expressions, or a scenario with thresholds:")
    .addOption(outputOption("gate", "write junit.xml and report.md here"))
    .option(
      "--baseline <file|dir>",
      'an earlier run\'s summary.json or output folder, for thresholds like "<= baseline + 20%"; one of a run that did not complete or was inconclusive is refused',
    )
    .option("--json", "print the verdict as JSON");
}

export type GateFlags = FlagsOf<typeof define>;
