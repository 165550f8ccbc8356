import { Command, Option } from "@commander-js/extra-typings";
import { collect, type FlagsOf, outputOption } from "../../flags.js";

export const EXAMPLES = [
  "swarm merge out                                  # out/shard-0 ... out/shard-N-1 -> out/summary.json, report.html, junit.xml",
  "swarm merge out/shard-0 out/shard-1 -o merged --allow-partial",
  'swarm merge out --threshold "lkswarm_inbound_loss_ratio{kind=audio} p95 over windows < 2%" --json',
  'swarm merge out --baseline main-run --threshold "lkswarm_join_duration_seconds p95 <= baseline + 20%"',
];

export function define() {
  return new Command("merge")
    .summary("merge a sharded run's shards into one report and one verdict")
    .description(
      "Merges the shards of one sharded run (swarm --shard I/N) from their raw samples.jsonl and events.jsonl " +
        "into one summary.json, report.html and junit.xml, with percentiles exact over every shard's observations " +
        "(never averaged), and evaluates the scenario's thresholds, the shards' own --threshold and these (exit 99 on a breach). A shard " +
        "that is missing, never finished (killed) or ended in an error is named in the reports and on stderr and " +
        "left out of the figures; the merge then exits 1, or with --allow-partial judges the shards that finished " +
        "and exits 2 (inconclusive): the lost shards' participants count as planned and lost. Refuses shards of different run ids or scenarios. With --baseline, relative " +
        "thresholds (the shards' own and these) read the baseline run, and the reports compare every figure " +
        "with it, as `swarm --baseline` does; a baseline of a different workload, or one that did not complete or was inconclusive, is refused unless --force-compare.",
    )
    .argument(
      "<inputs...>",
      "a run's output folder (holding shard-0/ ...), shard folders, or files inside them",
    )
    .addOption(
      new Option(
        "--threshold <expr>",
        "a threshold beyond the scenario's and the shards' own (repeatable)",
      ).argParser(collect),
    )
    .option(
      "--baseline <file|dir>",
      'an earlier run\'s summary.json or output folder (a merged one too), for thresholds like "<= baseline + 20%"',
    )
    .option(
      "--force-compare",
      "use a --baseline of a different workload (engine, rooms, roles, media, profiles, E2EE), or one that did not complete or was inconclusive",
    )
    .option(
      "--allow-partial",
      "merge the shards that finished when some are missing or failed: judged over those, exit 2 (inconclusive), not 1",
    )
    .addOption(
      outputOption("merge", "where the merged reports go (default: the run folder holding the shards)"),
    )
    .option("--json", "print the merged summary.json to stdout instead of the table");
}

export type MergeFlags = FlagsOf<typeof define>;
