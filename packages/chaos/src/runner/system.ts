/**
 * The system a drill runs against: a local testbed (attached, or started with the workload's client
 * namespaces) or a command-driven deployment, its target, its fault injector and what the journal
 * records of it.
 */
import { isDeploymentFault, type Drill } from "@livekit-swarm/schema";
import { clientTestbedTarget, type ClientNetworkPlace, type RunTarget } from "@livekit-swarm/load";
import { Testbed, startClientTestbed, type NetworkProfile } from "@livekit-swarm/testbed";
import type { FaultInjector } from "../backend.js";
import { LocalInjector } from "../backends/local.js";
import { commandInjector } from "./targets.js";

/** The deployment under test and how to break it. */
export interface System {
  readonly target: RunTarget;
  readonly injector: FaultInjector;
  readonly prometheusUrl: string | undefined;
  /** Stops what this drill started: its testbed, then its client namespaces. */
  readonly stopOwn: (() => Promise<void>) | undefined;
  /** Where each restrictive profile's participants run (the workload's network-profiles). */
  readonly networks: ReadonlyMap<NetworkProfile, ClientNetworkPlace>;
  readonly deployment: Readonly<Record<string, unknown>>;
}

/** The system under test: a local testbed (attached or started) or a command-driven deployment. */
export async function prepare(
  drill: Drill,
  log: (line: string) => void,
  profiles: readonly Exclude<NetworkProfile, "open">[],
): Promise<System> {
  const t = drill.target;
  if (t.backend !== "local") {
    const injector = commandInjector(t);
    await injector.preflight?.(drill.faults.filter(isDeploymentFault));
    return {
      target: { url: t.url, apiKey: t.apiKey, apiSecret: t.apiSecret },
      injector,
      prometheusUrl: undefined,
      stopOwn: undefined,
      networks: new Map(),
      deployment: { backend: t.backend, url: t.url, nodes: (await injector.nodes()).map((n) => n.name) },
    };
  }
  let testbed: Testbed;
  let stopOwn: (() => Promise<void>) | undefined;
  let url: string;
  let mediaHosts: readonly string[];
  let networks = new Map<NetworkProfile, ClientNetworkPlace>();
  let turnTls: RunTarget["turnTls"];
  if (t.testbed !== null) {
    testbed = Testbed.attach(t.testbed);
    ({ url } = testbed);
    mediaHosts = testbed.nodes.map((n) => n.ip);
    log(`attached to testbed ${testbed.name} (${testbed.nodes.length} node(s)) at ${testbed.url}`);
  } else {
    log(
      `starting a local testbed: ${t.nodes} node(s)${t.nodes > 1 ? ", redis, haproxy" : ""}${t.netns ? ", a network namespace per node" : ""}${t.prometheus ? ", prometheus" : ""}${t.turn ? ", LiveKit's built-in TURN on each node" : ""}${profiles.length > 0 ? `, client namespaces for ${profiles.join(", ")}` : ""}`,
    );
    const common = {
      name: `chaos-${process.pid}`,
      nodes: t.nodes,
      prometheus: t.prometheus,
      ...(t.turn ? { turn: true as const } : {}),
    };
    if (profiles.length > 0) {
      // schema: no netns with network profiles (the nodes share the client veths' host address)
      const bed = await startClientTestbed(profiles, common);
      testbed = bed.testbed;
      stopOwn = () => bed.stop();
      const placed = clientTestbedTarget(bed, log);
      ({ url, turnTls } = placed.target);
      mediaHosts = [bed.mediaHost];
      ({ networks } = placed);
    } else {
      const started = await Testbed.start({ ...common, netns: t.netns });
      testbed = started;
      ({ url } = started);
      mediaHosts = started.nodes.map((n) => n.ip);
      stopOwn = async () => {
        await started.stop();
      };
    }
  }
  log(
    `testbed ${testbed.name} (run dir ${testbed.runDir}); if this drill is killed, undo its faults with: swarm chaos rollback --testbed ${testbed.name}`,
  );
  return {
    target: {
      url,
      apiKey: testbed.apiKey,
      apiSecret: testbed.apiSecret,
      // the native engine's sockets stay on the interfaces reaching these (load's ice-scope)
      mediaHosts,
      ...(turnTls !== undefined ? { turnTls } : {}),
    },
    injector: new LocalInjector(testbed),
    prometheusUrl: testbed.prometheusUrl,
    stopOwn,
    networks,
    deployment: {
      backend: t.backend,
      url,
      testbed: testbed.name,
      runDir: testbed.runDir,
      nodes: testbed.nodes.map((n) => ({
        name: n.name,
        nodeId: n.nodeId,
        pid: n.pid,
        ip: n.ip,
        namespace: n.namespace,
        ...(n.turnUdpPort !== undefined ? { turnUdpPort: n.turnUdpPort } : {}),
      })),
      ...(networks.size > 0
        ? {
            clientNetworks: [...networks].map(([profile, place]) => ({
              profile,
              namespace: place.namespace,
            })),
          }
        : {}),
      redis: testbed.redis === undefined ? null : `${testbed.redis.host}:${testbed.redis.port}`,
      balancer:
        testbed.nodes.length > 1
          ? "haproxy 2.6: roundrobin, health GET / every 1 s (fall 2, rise 2), retries 2, option redispatch 1"
          : null,
    },
  };
}
