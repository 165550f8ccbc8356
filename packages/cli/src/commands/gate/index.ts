import { gateOverPrometheus, writeGateReports } from "@livekit-swarm/gate";
import { ExitCode } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import type { GateFlags } from "./options.js";

export async function gate(flags: GateFlags): Promise<number> {
  const { prometheus } = flags;
  if (prometheus === undefined)
    throw new UsageError("gate: --prometheus URL is required; see `swarm gate --help`");
  const outcome = await gateOverPrometheus({ ...flags, prometheus });
  const { verdict, window } = outcome;
  const { runId } = window;
  if (flags.json === true) {
    process.stdout.write(
      `${JSON.stringify({ verdict: verdict.passed ? "pass" : "fail", runId, results: verdict.results, queries: verdict.queries }, null, 2)}\n`,
    );
  } else {
    const mark = { pass: "pass   ", fail: "FAIL   ", warn: "warn   ", "no-data": "NO DATA" } as const;
    process.stdout.write(
      `thresholds over Prometheus${runId !== undefined ? ` (run ${runId})` : ""}: ${verdict.passed ? "passed" : "FAILED (exit 99)"}\n`,
    );
    for (const r of verdict.results) process.stdout.write(`  ${mark[r.status]} ${r.message}\n`);
  }
  if (flags.output !== undefined) await writeGateReports(flags.output, outcome);
  return verdict.passed ? ExitCode.ok : ExitCode.thresholdsFailed;
}
