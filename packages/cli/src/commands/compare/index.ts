import { assertComparable, compareRuns, comparisonTable, loadRunRecord } from "@livekit-swarm/gate";
import { ExitCode } from "../../exit-codes.js";
import { helpText, parseOptions, UsageError, type CommandSpec } from "../../options.js";

const SPEC: CommandSpec = {
  name: "compare",
  summary:
    "Compares two runs figure by figure (p95 of A and B, the delta) and says whether each difference is within " +
    "run-to-run noise (Mann-Whitney U over the per-participant or per-track values, p >= 0.05). Reports only: " +
    "exit 0. Gate on a baseline with `swarm --baseline A --threshold '... <= baseline + 20%'`.",
  usage: "swarm compare A B   (each a summary.json or a run's output folder)",
  options: [
    {
      name: "force-compare",
      type: "boolean",
      description: "compare runs of different workloads (rooms, roles, media)",
    },
    { name: "json", type: "boolean", description: "print the rows as JSON" },
  ],
  examples: [
    "swarm compare swarm-results/v1 swarm-results/v2",
    "swarm compare base/summary.json head/summary.json --json",
  ],
};

export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  const [pathA, pathB, ...extra] = positionals;
  if (pathA === undefined || pathB === undefined || extra.length > 0)
    throw new UsageError("compare: expected two runs, A and B: swarm compare A/summary.json B/summary.json");
  const a = await loadRunRecord(pathA);
  const b = await loadRunRecord(pathB);
  assertComparable(a, b, values["force-compare"] === true);
  const rows = compareRuns(a, b);
  process.stdout.write(
    values.json === true
      ? `${JSON.stringify({ a: a.file, b: b.file, rows }, null, 2)}\n`
      : comparisonTable(a, b, rows),
  );
  return ExitCode.ok;
}
