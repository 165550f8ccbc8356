/**
 * `swarm chaos rollback --testbed <name>`: undoes what a drill that died (SIGKILL, a crash) left
 * in place, as its fault ledger in the testbed's run directory lists it. Safe to run twice.
 */
import {
  checkTestbedName,
  describeLedgerEntry,
  readFaultLedger,
  rollBackFaultLedger,
  Testbed,
} from "@livekit-swarm/testbed";
import { UsageError } from "../../errors.js";

export async function rollback(name: string | undefined, dryRun: boolean): Promise<number> {
  if (name === undefined || name === "")
    throw new UsageError("chaos rollback: expected --testbed <name>; see `swarm chaos --help`");
  // a name, never a path: Testbed.attach would also take "../x" as a run directory
  const tb = Testbed.attach(checkTestbedName(name));
  const ledger = readFaultLedger(tb.runDir);
  if (ledger.length === 0) {
    process.stdout.write(`testbed "${name}": no fault to roll back (its fault ledger is empty)\n`);
    return 0;
  }
  if (dryRun) {
    for (const e of ledger) process.stdout.write(`would undo ${describeLedgerEntry(e)}\n`);
    return 0;
  }
  const { done, failed } = await rollBackFaultLedger(tb);
  for (const line of done) process.stdout.write(`undone: ${line}\n`);
  for (const line of failed) process.stderr.write(`FAILED: ${line}\n`);
  return failed.length > 0 ? 1 : 0;
}
