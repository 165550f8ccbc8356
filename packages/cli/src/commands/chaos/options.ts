import { Command } from "@commander-js/extra-typings";
import { type FlagsOf, outputOption } from "../../flags.js";

export const EXAMPLES = [
  "swarm chaos run chaos/kill-room-node.yaml --dry-run",
  "sudo swarm chaos run chaos/kill-room-node.yaml",
  "swarm chaos run chaos/lose-redis.yaml -o results/redis",
  "swarm chaos rollback --testbed drill-freeze-room-node   # after a drill was killed",
];

export function define() {
  return new Command("chaos")
    .summary("run a chaos drill: kill, freeze or cut off a node, lose Redis, and measure recovery")
    .description(
      "Runs a chaos drill (a YAML file, see chaos/): a swarm forms the steady state, faults are injected and " +
        "confirmed, and the drill measures how every participant recovered. Every fault is rolled back, even on " +
        "Ctrl-C. Writes journal.json, report.md and junit.xml.\n\n" +
        "Exit codes: 0 pass, 1 fail or deviated (or a bad drill file), 2 inconclusive, 3 aborted, 130 interrupted, " +
        "143 terminated.",
    )
    .usage("run <drill.yaml> [options] | rollback --testbed <name> [--dry-run]")
    .argument("[action]", "run, or rollback (undo what a killed drill left, from its fault ledger)")
    .argument("[drill]", "the drill file, e.g. chaos/kill-room-node.yaml")
    .allowExcessArguments(true)
    .option("--dry-run", "print the plan and touch nothing")
    .addOption(
      outputOption("chaos", "where the journal and reports go (default chaos-results/<drill>-<run id>)"),
    )
    .option("--json", "print the journal as JSON on stdout")
    .option(
      "--testbed <name>",
      "rollback: the testbed whose fault ledger to undo (the name the drill printed)",
    );
}

export type ChaosFlags = FlagsOf<typeof define>;
