import { Command, Option } from "@commander-js/extra-typings";
import { duration, integer, type FlagsOf, outputOption } from "../../flags.js";

/** The most shards one render accepts: one room each at most, and a run holds at most 10 000 rooms. */
export const MAX_SHARDS = 10_000;

export const EXAMPLES = [
  "swarm k8s render --scenario scenarios/audio-radio.yaml --shards 8 --image registry.example.com/livekit-swarm:1.0 --url wss://livekit.example.com | kubectl apply -f -",
  "swarm k8s render --scenario scenarios/audio-lean.yaml --shards 64 --engine lean --image lkswarm:dev --url wss://lk.example.com --namespace load --storage-class nfs-client -o k8s/",
  "swarm k8s wait --job lkswarm-20261123-064000-ab12   # inside the merge Job: until the shards end",
];

export function define() {
  return new Command("k8s")
    .summary("render a sharded run as Kubernetes manifests (Indexed Job, PodMonitor, merge Job)")
    .description(
      "render: writes the Kubernetes objects of a swarm sharded over an Indexed Job: the scenario as a ConfigMap, a " +
        "ReadWriteMany volume for the shards' outputs, the Indexed Job (one pod per shard, CPU and memory sized from the " +
        "benchmark's per-participant figures), a headless Service and a PodMonitor for the Prometheus Operator, and a " +
        "merge Job that waits for the shards and gives one verdict. The API key and secret come from a Kubernetes Secret " +
        "(--secret, keys api-key and api-secret) and never appear in the output.\n" +
        "wait: run by the merge Job's init container; polls the shard Job until it is Complete or Failed.",
    )
    .usage("render --scenario FILE --shards N --image IMAGE --url URL [options] | wait --job NAME")
    .argument("[action]", "render, or wait (inside the merge Job)")
    .allowExcessArguments(true)
    .option("--scenario <file>", "render: the scenario file; the pods read it from a ConfigMap")
    .addOption(
      new Option(
        "--shards <n>",
        `render: shard pods, 1 to ${MAX_SHARDS} and at most the scenario's rooms`,
      ).argParser(integer("k8s", "shards", 1, MAX_SHARDS)),
    )
    .option("--image <image>", "render: the deploy/swarm image, e.g. registry.example.com/livekit-swarm:1.0")
    .addOption(
      new Option(
        "--engine <engine>",
        "render: the shards' engine, which also sizes their pods (default: the scenario's)",
      ).choices(["native", "lean"] as const),
    )
    .option("--namespace <ns>", "render: the namespace of every object", "default")
    .option("--secret <name>", "render: the Secret holding keys api-key and api-secret", "livekit-api")
    .option("--url <wss://host>", "render: the LiveKit server the shards load (env: LIVEKIT_URL)")
    .option(
      "--run-id <id>",
      "render: the run id every shard shares, in every object's name (default: a new one)",
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
      "--storage-class <name>",
      "render: a storage class that provisions ReadWriteMany volumes (default: the cluster's default)",
    )
    .addOption(outputOption("k8s", "render: write <dir>/<run name>.yaml instead of standard output"))
    .option("--job <name>", "wait: the shard Job to wait for");
}

export type K8sFlags = FlagsOf<typeof define>;
