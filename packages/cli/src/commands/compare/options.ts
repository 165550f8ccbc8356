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
      "Compares two runs figure by figure (p95 of A and B, the delta) and says whether each difference is within " +
        "run-to-run noise (Mann-Whitney U over the per-participant or per-track values, p >= 0.05). Reports only: " +
        "exit 0. Gate on a baseline with `swarm --baseline A --threshold '... <= baseline + 20%'`.",
    )
    .argument("<a>", "the first run: a summary.json or a run's output folder")
    .argument("<b>", "the second run, likewise")
    .allowExcessArguments(true)
    .option("--force-compare", "compare runs of different workloads (rooms, roles, media)")
    .option("--json", "print the rows as JSON");
}

export type CompareFlags = FlagsOf<typeof define>;
