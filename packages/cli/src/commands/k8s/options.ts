import { Command, Option } from "@commander-js/extra-typings";
import { duration, integer, type FlagsOf, outputOption } from "../../flags.js";

/** The most shards one render accepts: one room each at most, and a run holds at most 10 000 rooms. */
export const MAX_SHARDS = 10_000;

export const EXAMPLES = [
  "swarm k8s render --scenario scenarios/audio-radio.yaml --shards 8 --image registry.example.com/livekit-swarm:1.0 --url wss://livekit.example.com --run-id radio-1 | kubectl apply -f -",
  "swarm k8s fetch --run-id radio-1 -o radio-1   # waits for the merge, downloads the reports and shard folders, exits 0, 99 or 1",
  "swarm k8s render --scenario scenarios/audio-lean.yaml --shards 64 --engine lean --image lkswarm:dev --url wss://lk.example.com --namespace load -o k8s/",
  "swarm k8s fetch --namespace load --run-id 20261123-064000-ab12 -o results/",
  "swarm k8s merge --job lkswarm-radio-1 --max-gib 4   # inside the merge Job: collect the shards, merge, serve the verdict",
];

export function define() {
  return (
    new Command("k8s")
      .summary(
        "a sharded run on Kubernetes: render its manifests, merge inside the cluster, fetch the verdict",
      )
      .description(
        "render: writes the Kubernetes objects of a swarm sharded over an Indexed Job: the scenario as a ConfigMap, " +
          "the Indexed Job (one pod per shard, CPU and memory sized from the benchmark's per-participant figures), a " +
          "headless Service and a PodMonitor for the Prometheus Operator, and a merge Job that collects the shards' " +
          "results and gives one verdict. No shared volume: each shard serves its folder from its pod (port 9464) " +
          "until the merge has it. The API key and secret come from a Kubernetes Secret (--secret, keys api-key and " +
          "api-secret) and never appear in the output.\n" +
          "merge: what the merge Job runs: collects every shard's folder from its pod's IP through the Kubernetes " +
          "API's list of the shard Job's pods, merges them as `swarm merge` does, and serves the merged folder until " +
          "`swarm k8s fetch` has it (--serve-results), then exits with the merge's code.\n" +
          "fetch: where kubectl works: waits for the run's merge, downloads its reports and the shards' folders " +
          "through the API server's proxy to the merge pod, prints the verdict and exits with the merge's code: 0 " +
          "pass, 99 thresholds failed, 1 shards missing or failed.",
      )
      .usage(
        "render --scenario FILE --shards N --image IMAGE --url URL [options] | fetch --run-id ID -o DIR [--namespace NS] | merge --job NAME",
      )
      .argument("[action]", "render, fetch (where kubectl works), or merge (inside the merge Job)")
      .allowExcessArguments(true)
      .option("--scenario <file>", "render: the scenario file; the pods read it from a ConfigMap")
      .addOption(
        new Option(
          "--shards <n>",
          `render: shard pods, 1 to ${MAX_SHARDS} and at most the scenario's rooms`,
        ).argParser(integer("k8s", "shards", 1, MAX_SHARDS)),
      )
      .option(
        "--image <image>",
        "render: the deploy/swarm image, e.g. registry.example.com/livekit-swarm:1.0",
      )
      .addOption(
        new Option(
          "--engine <engine>",
          "render: the shards' engine, which also sizes their pods (default: the scenario's)",
        ).choices(["native", "lean"] as const),
      )
      .option("--namespace <ns>", "render, fetch: the namespace of every object of the run", "default")
      .option("--secret <name>", "render: the Secret holding keys api-key and api-secret", "livekit-api")
      .option("--url <wss://host>", "render: the LiveKit server the shards load (env: LIVEKIT_URL)")
      .option(
        "--run-id <id>",
        "render: the run id every shard shares, in every object's name (default: a new one); fetch: the run to fetch",
      )
      .addOption(
        new Option(
          "--start-in <duration>",
          "render: every shard starts its ramp this long after rendering, 30s to 24h",
        )
          .default(3 * 60_000, "3m")
          .argParser(duration("k8s", "start-in", 30_000, 24 * 3_600_000)),
      )
      .option(
        "--pod-monitor",
        "render: also a PodMonitor over the shards' /metrics, for a cluster running the Prometheus Operator (its CRD must exist, or kubectl apply refuses it)",
      )
      // gone with the shared volume; kept only to say so
      .addOption(new Option("--storage-class <name>").hideHelp())
      .addOption(
        outputOption(
          "k8s",
          "render: write <dir>/<run name>.yaml instead of standard output; fetch: a new folder for the merged reports and the shard-I/ folders; merge: the folder to collect into and merge in",
        ),
      )
      .option("--job <name>", "merge: the shard Job whose pods to collect from")
      .addOption(
        new Option(
          "--max-gib <n>",
          "merge: the most the shards' files may add up to, in GiB, refused beyond (render sets its volume's size; default: the free space in -o)",
        ).argParser(integer("k8s", "max-gib", 1, 1_000_000)),
      )
      .addOption(
        new Option(
          "--serve-results <duration>",
          "merge: serve the merged folder this long for `swarm k8s fetch`, then exit with the merge's code",
        )
          .default(3_600_000, "1h")
          .argParser(duration("k8s", "serve-results", 1000)),
      )
  );
}

export type K8sFlags = FlagsOf<typeof define>;
