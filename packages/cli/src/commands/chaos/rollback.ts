/**
 * `swarm chaos rollback --testbed <name>`: undoes what a drill that died (SIGKILL, a crash) left
 * in place, as its fault ledger in the testbed's run directory lists it. Safe to run twice.
 */
import { describeLedgerEntry, readFaultLedger, rollBackFaultLedger, Testbed } from "@livekit-swarm/testbed";
import { helpText, parseOptions, UsageError, type CommandSpec } from "../../options.js";

const SPEC: CommandSpec = {
  name: "chaos rollback",
  summary:
    "Undoes the faults a drill left on a local testbed when it could not roll them back itself (it was " +
    "killed): thaws frozen nodes, deletes fault nftables tables and qdiscs, restarts killed nodes or Redis " +
    "when the fault ledger says so. Does nothing when nothing is left. Exit 1 when a step failed.",
  usage: "swarm chaos rollback --testbed <name> [--dry-run]",
  options: [
    {
      name: "testbed",
      type: "string",
      placeholder: "name",
      description: "the testbed (swarm testbed up --name, or the name the drill printed at its start)",
    },
    { name: "dry-run", type: "boolean", description: "print what would be undone and touch nothing" },
  ],
  examples: ["swarm chaos rollback --testbed drill-freeze-room-node", "swarm testbed status"],
};

export async function rollback(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return 0;
  }
  const name = values.testbed;
  if (typeof name !== "string" || positionals.length > 0)
    throw new UsageError("chaos rollback: expected --testbed <name>; see `swarm chaos rollback --help`");
  const tb = Testbed.attach(name);
  const ledger = readFaultLedger(tb.runDir);
  if (ledger.length === 0) {
    process.stdout.write(`testbed "${name}": no fault to roll back (its fault ledger is empty)\n`);
    return 0;
  }
  if (values["dry-run"] === true) {
    for (const e of ledger) process.stdout.write(`would undo ${describeLedgerEntry(e)}\n`);
    return 0;
  }
  const { done, failed } = await rollBackFaultLedger(tb);
  for (const line of done) process.stdout.write(`undone: ${line}\n`);
  for (const line of failed) process.stderr.write(`FAILED: ${line}\n`);
  return failed.length > 0 ? 1 : 0;
}
