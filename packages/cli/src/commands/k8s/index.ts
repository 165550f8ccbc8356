import { readyMadeFile } from "../../ready-made.js";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  METRICS_PORT,
  RESULTS_DIR,
  ResultsRoute,
  collectShards,
  fetchRun,
  inClusterApi,
  kubectl,
  renderYaml,
  runManifests,
  serveResults,
  shardEngine,
} from "@livekit-swarm/k8s";
import { checkOutputDir, newRunId } from "@livekit-swarm/load";
import {
  ExitCode,
  KnownError,
  formatDuration,
  loadScenario,
  quoted,
  serverUrlProblem,
} from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { fromEnv } from "../../flags.js";
import { mergeAndShow, type Merged } from "../merge/index.js";
import type { K8sFlags } from "./options.js";

function required<T>(value: T | undefined, action: string, flag: string): T {
  if (value === undefined)
    throw new UsageError(`k8s ${action}: ${flag} is required; see \`swarm k8s --help\``);
  return value;
}

async function render(flags: K8sFlags): Promise<number> {
  if (flags.storageClass !== undefined)
    throw new UsageError(
      "k8s render: --storage-class is gone: results no longer need a volume (the merge collects them from the shard pods); drop the flag",
    );
  const file = readyMadeFile(
    "scenarios",
    required(flags.scenario, "render", "--scenario FILE"),
    "k8s render: --scenario",
  );
  const shards = required(flags.shards, "render", "--shards N");
  const image = required(flags.image, "render", "--image IMAGE");
  const url = flags.url ?? fromEnv("LIVEKIT_URL");
  if (url === undefined)
    throw new UsageError(
      "k8s render: the shards need a LiveKit server: pass --url wss://... or set LIVEKIT_URL",
    );
  // named as the user gave it: a newline in LIVEKIT_URL was reported as --url's
  const urlProblem = serverUrlProblem(url);
  if (urlProblem !== undefined)
    throw new UsageError(
      `k8s render: ${flags.url !== undefined ? "--url" : "LIVEKIT_URL"} ${quoted(url)}: ${urlProblem}: pass the server's URL alone, e.g. wss://livekit.example.com`,
    );
  const scenario = await loadScenario(file);
  const engine = shardEngine(flags.engine ?? scenario.engine, `k8s render: ${file}`);
  const now = new Date();
  const runId = flags.runId ?? newRunId(now);
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
    runId,
    startAt: new Date(now.getTime() + flags.startIn),
    now,
    podMonitor: flags.podMonitor === true,
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
    // checked before anything is made: a file there, /proc, a folder that cannot be created
    checkOutputDir(output);
    const path = join(output, `${run.name}.yaml`);
    try {
      await mkdir(output, { recursive: true });
      await writeFile(path, yaml);
    } catch (err) {
      throw new UsageError(
        `k8s render: cannot write ${path} (${err instanceof Error && "code" in err ? String(err.code) : String(err)}): pass another folder with -o`,
      );
    }
    process.stderr.write(`${facts}\nwrote ${path}: kubectl apply -f ${path}\n`);
  }
  const namespace = flags.namespace === "default" ? "" : ` --namespace ${flags.namespace}`;
  process.stderr.write(
    `the verdict: swarm k8s fetch${namespace} --run-id ${runId} -o ${runId} (waits for the merge; exit 0 pass, 99 thresholds failed, 1 shards missing or failed)\n`,
  );
  return ExitCode.ok;
}

/** The merge over what was collected; a merge refused (no shard at all) is an incomplete verdict, still served. */
async function mergeCollected(folder: string): Promise<Merged> {
  try {
    return await mergeAndShow([folder], {});
  } catch (err) {
    if (!(err instanceof KnownError)) throw err;
    process.stderr.write(`swarm: ${err.message}\n`);
    return { exitCode: ExitCode.error, verdict: `verdict: incomplete: ${err.message}: exit 1` };
  }
}

/** Inside the merge Job: collect every shard's folder from its pod, merge, serve the result until fetched. */
async function merge(flags: K8sFlags): Promise<number> {
  const job = required(flags.job, "merge", "--job NAME (the shard Job)");
  const folder = flags.output ?? RESULTS_DIR;
  // a folder of namespace and token standing in for the pod's, for a test outside a pod
  const accountDir = process.env.LKSWARM_SERVICE_ACCOUNT_DIR;
  const api = await inClusterApi(process.env, undefined, accountDir === "" ? undefined : accountDir);
  await mkdir(folder, { recursive: true });
  const log = (line: string) => process.stderr.write(`k8s merge: ${line}\n`);
  const route = new ResultsRoute();
  // up from the start: a fetch that comes early hears "running" rather than nothing
  const server = await serveResults(route, { port: METRICS_PORT, host: "0.0.0.0" });
  const stop = new AbortController();
  const onTerm = () => {
    stop.abort();
  };
  process.once("SIGTERM", onTerm);
  try {
    await collectShards({
      api,
      job,
      outputDir: folder,
      ...(flags.maxGib !== undefined ? { maxBytes: flags.maxGib * 2 ** 30 } : {}),
      log,
    });
    const merged = await mergeCollected(folder);
    process.stdout.write(`${merged.verdict}\n`);
    log(
      `serving ${folder} at ${server.url} for swarm k8s fetch, at most ${formatDuration(flags.serveResults)}`,
    );
    const ended = await route.serve(
      folder,
      { exitCode: merged.exitCode, verdict: merged.verdict, nested: true },
      flags.serveResults,
      [stop.signal],
    );
    log(
      ended === "collected"
        ? "fetched; ending"
        : ended === "expired"
          ? "nothing fetched the results in time; ending (the verdict above and the exit code stay)"
          : "SIGTERM; ending",
    );
    return merged.exitCode;
  } finally {
    process.off("SIGTERM", onTerm);
    await server.close();
  }
}

/** Where kubectl works: the merged verdict and every file, read back through the API server. */
async function fetch(flags: K8sFlags): Promise<number> {
  const runId = required(flags.runId, "fetch", "--run-id ID (the run to fetch)");
  const output = required(flags.output, "fetch", "-o DIR (a new folder for the results)");
  const fetched = await fetchRun({
    namespace: flags.namespace,
    runId,
    outputDir: output,
    kubectl: kubectl(),
    log: (line) => process.stderr.write(`k8s fetch: ${line}\n`),
  });
  const top = fetched.files.filter((f) => !f.includes("/"));
  const shards = new Set(fetched.files.filter((f) => f.includes("/")).map((f) => f.split("/")[0]));
  process.stdout.write(
    `${fetched.verdict ?? `the merge exited ${fetched.exitCode}`}\nreports: ${fetched.outputDir}/{${top.join(",")}} and ${shards.size} shard folder(s)\n`,
  );
  return fetched.exitCode;
}

export async function k8s(action: string | undefined, flags: K8sFlags): Promise<number> {
  if (action === "render") return render(flags);
  if (action === "fetch") return fetch(flags);
  if (action === "merge") return merge(flags);
  throw new UsageError(
    `k8s: ${action === undefined ? "an action is required" : `unknown action ${quoted(action)}`}: render, fetch or merge; see \`swarm k8s --help\``,
  );
}
