import { Command, Option } from "@commander-js/extra-typings";
import { quoted } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { collect, integer, positive } from "../../flags.js";

/** The most livekit-server nodes one testbed starts. */
export const MAX_NODES = 16;

export const EXAMPLES = [
  "swarm testbed up                       # one node on a free port",
  "swarm testbed up --nodes 3 --prometheus",
  "sudo swarm testbed up --nodes 3 --netns --name chaos",
  "swarm testbed up --turn               # LiveKit's built-in TURN over UDP on each node",
  "sudo swarm testbed up --node-cpu 0.5 --name capped   # each livekit-server capped at half a core",
  'eval "$(swarm testbed env)"             # export LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET',
  "sudo swarm testbed up --kubernetes --nodes 2 --name k8s   # a one-node Kubernetes, LiveKit and Redis as pods",
  "swarm testbed status --json",
  "swarm testbed down --all",
];

/**
 * `--scrape host:port`, as Prometheus takes a target: a host name, an IPv4 address or a bracketed
 * IPv6 one, and a port from 1 to 65535 (it went into prometheus.yml as given: 'a b', ':99999').
 */
export function scrapeTarget(value: string, previous: string[] | undefined): string[] {
  const m = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port < 1 || port > 65535)
    throw new UsageError(
      `testbed: --scrape ${quoted(value)}: expected host:port (a host name or address, a port from 1 to 65535), e.g. 127.0.0.1:9464`,
    );
  return collect(value, previous);
}

export function define() {
  return new Command("testbed")
    .summary("start, inspect and stop a local LiveKit deployment")
    .description(
      "Starts a real LiveKit deployment on this machine (livekit-server nodes, Redis, HAProxy, optionally Prometheus), " +
        "reports what runs where, and stops it. The processes outlive this command; `down` ends them.",
    )
    .argument("[action]", "up, status, env or down")
    .allowExcessArguments(true)
    .option("--name <name>", "testbed name; several can run at once", "default")
    .addOption(
      new Option(
        "--nodes <n>",
        `livekit-server nodes, 1 to ${MAX_NODES} (Redis and HAProxy when more than 1)`,
      )
        .default(1)
        .argParser(integer("testbed", "nodes", 1, MAX_NODES)),
    )
    .option("--netns", "run each node in its own network namespace (root), for network faults")
    .addOption(
      new Option(
        "--node-cpu <cores>",
        "cap each livekit-server at this many cores (cgroup CPU quota, root), e.g. 0.5",
      ).argParser(positive("testbed", "node-cpu", 0.01, 256)),
    )
    .option(
      "--turn",
      "run LiveKit's built-in TURN over UDP on each node (relays to the node's own address only; no TURN/TLS, see docs/transport.md)",
    )
    .option(
      "--kubernetes",
      "run a single-node Kubernetes cluster (root; built by `bash scripts/setup --kubernetes`) with the nodes and Redis as host-network pods; `env` exports KUBECONFIG (docs/cluster.md)",
    )
    .option("--prometheus", "also start a Prometheus that scrapes the nodes")
    .addOption(
      new Option("--scrape <host:port>", "extra Prometheus scrape target (repeatable)").argParser(
        scrapeTarget,
      ),
    )
    .addOption(
      new Option(
        "--port <port>",
        "port clients connect to (balancer, or the single node), 1 to 65535; default a free one",
      ).argParser(integer("testbed", "port", 1, 65535)),
    )
    .option("--all", "with down: every testbed of this machine's run root")
    .option("--json", "print machine-readable JSON");
}

export type TestbedCommand = ReturnType<typeof define>;
export type TestbedFlags = ReturnType<TestbedCommand["opts"]>;
