import { assertComparable, compareRuns, comparisonTable, loadRunRecord } from "@livekit-swarm/gate";
import { ExitCode } from "@livekit-swarm/schema";
import type { CompareFlags } from "./options.js";

export async function compare(pathA: string, pathB: string, flags: CompareFlags): Promise<number> {
  const a = await loadRunRecord(pathA);
  const b = await loadRunRecord(pathB);
  assertComparable(a, b, flags.forceCompare === true);
  const rows = compareRuns(a, b);
  process.stdout.write(
    flags.json === true
      ? `${JSON.stringify({ a: a.file, b: b.file, rows }, null, 2)}\n`
      : comparisonTable(a, b, rows),
  );
  return ExitCode.ok;
}
