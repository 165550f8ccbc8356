import { Command } from "@commander-js/extra-typings";
import type { FlagsOf } from "../../flags.js";

export const EXAMPLES = [
  "swarm compare swarm-results/v1 swarm-results/v2",
  "swarm compare base/summary.json head/summary.json --json",
];

export function define() {
  return new Command("compare")
    .summary("compare two runs figure by figure, saying which differences are within run-to-run noise")
    .description(
      "Compares run B with run A (the baseline) figure by figure: the run's totals (joined, join failures, " +
        "reconnects, loss of all packets, freezes...) and p50 and p95 of every figure both summaries have, with the " +
        "delta (absolute, points for ratios, and relative) and whether it is worse, better or within run-to-run " +
        "noise (Mann-Whitney U over the per-participant or per-track values, p >= 0.05). The same table as " +
        "report.html's when a run has --baseline. Reports only: exit 0. Gate on a baseline with " +
        "`swarm --baseline A --threshold '... <= baseline + 20%'`.",
    )
    .argument("<a>", "the baseline: a summary.json or a run's output folder")
    .argument("<b>", "the run compared with it, likewise")
    .allowExcessArguments(true)
    .option(
      "--force-compare",
      "compare runs of different workloads (engine, rooms, roles, media, profiles, E2EE)",
    )
    .option("--json", "print the comparison (rows, counts) as JSON");
}

export type CompareFlags = FlagsOf<typeof define>;
