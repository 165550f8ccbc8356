import { assertComparable, compareRuns, comparisonTable, loadRunRecord } from "@livekit-swarm/gate";
import { ExitCode } from "@livekit-swarm/schema";
import type { CompareFlags } from "./options.js";

export async function compare(pathA: string, pathB: string, flags: CompareFlags): Promise<number> {
  const a = await loadRunRecord(pathA);
  const b = await loadRunRecord(pathB);
  assertComparable(a, b, flags.forceCompare === true);
  const comparison = compareRuns(a, b);
  process.stdout.write(
    flags.json === true ? `${JSON.stringify(comparison, null, 2)}\n` : comparisonTable(comparison),
  );
  return ExitCode.ok;
}
