import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inClusterApi, renderYaml, runManifests, waitForJob, type JobState } from "@livekit-swarm/k8s";
import { newRunId } from "@livekit-swarm/load";
import { ExitCode, loadScenario, quoted } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { fromEnv } from "../../flags.js";
import type { K8sFlags } from "./options.js";

/** How often the merge's init container asks for the shard Job: a run lasts minutes, a merge may start 10 s late. */
const WAIT_INTERVAL_MS = 10_000;

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`k8s render: ${flag} is required; see \`swarm k8s --help\``);
  return value;
}

async function render(flags: K8sFlags): Promise<number> {
  const file = required(flags.scenario, "--scenario FILE");
  const shards = required(flags.shards, "--shards N");
  const image = required(flags.image, "--image IMAGE");
  const url = flags.url ?? fromEnv("LIVEKIT_URL");
  if (url === undefined)
    throw new UsageError(
      "k8s render: the shards need a LiveKit server: pass --url wss://... or set LIVEKIT_URL",
    );
  const scenario = await loadScenario(file);
  const engine = flags.engine ?? scenario.engine;
  if (engine === "mixed" || engine === "browser")
    throw new UsageError(
      `k8s render: ${file} asks for engine ${engine}; the pods are sized for native or lean: pass --engine native or --engine lean`,
    );
  const now = new Date();
  const run = runManifests({
    scenario,
    // as written, comments included: loadScenario has read and checked it
    scenarioText: await readFile(file, "utf8"),
    shards,
    image,
    engine,
    namespace: flags.namespace,
    secret: flags.secret,
    url,
    runId: flags.runId ?? newRunId(now),
    startAt: new Date(now.getTime() + flags.startIn),
    now,
    storageClass: flags.storageClass,
  });
  const yaml = renderYaml(run.manifests);
  const { requests } = run.size;
  const facts =
    `k8s render: run ${run.name}: ${run.shards} shard(s) of up to ${run.size.participants} participants, ` +
    `${requests.cpu} CPU and ${requests.memory} requested per pod (${run.size.workers} worker process(es)); ` +
    `the shards start at ${new Date(now.getTime() + flags.startIn).toISOString()}, so apply before then`;
  const output = flags.output;
  if (output === undefined) {
    process.stdout.write(yaml);
    process.stderr.write(`${facts}\n`);
  } else {
    await mkdir(output, { recursive: true });
    const path = join(output, `${run.name}.yaml`);
    await writeFile(path, yaml);
    process.stderr.write(`${facts}\nwrote ${path}: kubectl apply -f ${path}\n`);
  }
  process.stderr.write(
    `the verdict: job ${run.name}-merge in namespace ${flags.namespace}, once the shards end; its exit code is 0 pass, 99 thresholds failed, 1 shards missing or failed (README: On Kubernetes)\n`,
  );
  return ExitCode.ok;
}

function pollLine(job: string, state: JobState | { readonly retrying: string }): string {
  if ("retrying" in state) return `k8s wait: job ${job}: cannot read it yet (${state.retrying}); retrying`;
  const failed = state.failedIndexes !== "" ? `, failed shards ${state.failedIndexes}` : "";
  return `k8s wait: job ${job}: ${state.end ?? "running"} (${state.succeeded} shard(s) succeeded, ${state.failed} failed${failed})`;
}

async function wait(flags: K8sFlags): Promise<number> {
  const job = flags.job;
  if (job === undefined) throw new UsageError("k8s wait: --job NAME is required: the shard Job to wait for");
  const api = await inClusterApi();
  let last = "";
  const state = await waitForJob({
    api,
    job,
    intervalMs: WAIT_INTERVAL_MS,
    onPoll: (s) => {
      // a line when something changed, not every 10 s of a long run
      const line = pollLine(job, s);
      if (line !== last) process.stderr.write(`${line}\n`);
      last = line;
    },
  });
  process.stdout.write(`shard job ${job} ended: ${state.end}; merging\n`);
  return ExitCode.ok;
}

export async function k8s(action: string | undefined, flags: K8sFlags): Promise<number> {
  if (action === "render") return render(flags);
  if (action === "wait") return wait(flags);
  throw new UsageError(
    `k8s: ${action === undefined ? "an action is required" : `unknown action ${quoted(action)}`}: render or wait; see \`swarm k8s --help\``,
  );
}
