import { loadRunRecord, parseThreshold } from "@livekit-swarm/gate";
import { mergeShards, shardProblems, type MergeResult } from "@livekit-swarm/load";
import type { MergeFlags } from "./options.js";

/** How a merge ended, for whoever reads it back (the merge pod's listing). */
export interface Merged {
  readonly exitCode: number;
  /** One line: pass, FAIL or incomplete, the run, the shards covered and the exit code. */
  readonly verdict: string;
}

/** The merge's outcome in one line, as `swarm k8s merge` and `swarm k8s fetch` print it. */
export function verdictLine(result: MergeResult): string {
  const { shards, verdict } = result;
  const over = `run ${result.runId} over ${shards.covered.length} of ${shards.count} shard(s)`;
  const failed = verdict?.results.filter((r) => r.status === "fail" || r.status === "no-data").length ?? 0;
  const judged = verdict?.results.length ?? 0;
  const incomplete = shards.missing.length + shards.failed.length > 0;
  if (result.exitCode === 1 && incomplete)
    return `verdict: incomplete: ${shardProblems(shards).join("; ")}; ${over}: exit 1`;
  if (result.exitCode === 99)
    return `verdict: FAIL: ${failed} of ${judged} threshold(s) failed; ${over}: exit 99`;
  return verdict === undefined
    ? `verdict: no thresholds to judge; ${over}: exit ${result.exitCode}`
    : `verdict: pass: ${judged} threshold(s) held; ${over}: exit ${result.exitCode}`;
}

/** Merges and prints as `swarm merge` does. */
export async function mergeAndShow(inputs: readonly string[], flags: MergeFlags): Promise<Merged> {
  const result = await mergeShards({
    inputs,
    thresholds: (flags.threshold ?? []).map((t) => parseThreshold(t)),
    allowPartial: flags.allowPartial === true,
    ...(flags.baseline !== undefined
      ? { baseline: await loadRunRecord(flags.baseline), forceCompare: flags.forceCompare === true }
      : {}),
    ...(flags.output !== undefined ? { outputDir: flags.output } : {}),
  });
  const problems = shardProblems(result.shards);
  for (const line of problems) process.stderr.write(`swarm: merge: ${line}\n`);
  if (problems.length > 0)
    process.stderr.write(
      flags.allowPartial === true
        ? `swarm: merge: the figures cover ${result.shards.covered.length} of ${result.shards.count} shards (--allow-partial)\n`
        : `swarm: merge: exit 1: not every shard finished; pass --allow-partial to judge the shards that did\n`,
    );
  if (flags.json === true) process.stdout.write(`${JSON.stringify(result.report, null, 2)}\n`);
  else {
    process.stdout.write(`run ${result.runId}\n${result.table}`);
    if (result.verdict === undefined) process.stdout.write("no thresholds: nothing to judge\n");
    process.stdout.write(`reports: ${result.outputDir}/{${result.files.join(",")}}\n`);
  }
  return { exitCode: result.exitCode, verdict: verdictLine(result) };
}

export async function merge(inputs: readonly string[], flags: MergeFlags): Promise<number> {
  return (await mergeAndShow(inputs, flags)).exitCode;
}
