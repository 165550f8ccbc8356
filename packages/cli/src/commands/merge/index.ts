import { loadRunRecord, parseThreshold } from "@livekit-swarm/gate";
import { mergeShards, shardProblems } from "@livekit-swarm/load";
import type { MergeFlags } from "./options.js";

export async function merge(inputs: readonly string[], flags: MergeFlags): Promise<number> {
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
  return result.exitCode;
}
