/**
 * The cluster testbed's LiveKit nodes and Redis, as pods: their configs (the local testbed's, with
 * the bridge's host address for media and signalling), the objects created through the API, and
 * the host process and pod log of each node, found again after a pod was replaced.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { livekitNodeConfig, type ConfigTree } from "../configs.js";
import { pickFreePort } from "../ports.js";
import { processStartTime, tailLines } from "../processes.js";
import { TestbedError } from "../errors.js";
import { writeState, type NodeRecord, type RunState } from "../state.js";
import { waitFor } from "../wait.js";
import { apiCreate, type ApiCredentials } from "./api.js";
import { BRIDGE, HOST_IP, TESTBED_NAMESPACE, type ClusterRecord } from "./config.js";
import { podList } from "./cluster.js";
import { NODE_MARKER_ENV, livekitObjects, redisDeployment } from "./pods.js";

/** The host process whose environment carries `marker` (a node's livekit-server inside its pod). */
export function markedProcess(marker: string): { pid: number; startTime: string | undefined } | undefined {
  const needle = `${NODE_MARKER_ENV}=${marker}\0`;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (`${readFileSync(`/proc/${entry}/environ`, "latin1")}\0`.includes(needle)) {
        const pid = Number(entry);
        return { pid, startTime: processStartTime(pid) };
      }
    } catch {
      // ended while we looked, or a kernel thread
    }
  }
  return undefined;
}

/** The newest pod log of a node's container (`<pod-logs>/<ns>_<pod>_<uid>/livekit/N.log`). */
export function podLogOf(cluster: ClusterRecord, nodeName: string): string | undefined {
  const root = join(cluster.dir, "pod-logs");
  // the newest written: a replaced pod's folder can outlive it a while, and pod names sort at random
  let best: { file: string; mtimeMs: number } | undefined;
  try {
    for (const dir of readdirSync(root)) {
      if (!dir.startsWith(`${TESTBED_NAMESPACE}_livekit-${nodeName}-`)) continue;
      for (const f of readdirSync(join(root, dir, "livekit"))) {
        if (!/^\d+\.log$/.test(f)) continue;
        const file = join(root, dir, "livekit", f);
        const { mtimeMs } = statSync(file);
        if (best === undefined || mtimeMs > best.mtimeMs) best = { file, mtimeMs };
      }
    }
  } catch {
    return best?.file;
  }
  return best?.file;
}

/** The last lines of every container log of `pod` (the runtime's prefix kept: it says stdout or stderr). */
function podLogTail(cluster: ClusterRecord, pod: string): string[] {
  const root = join(cluster.dir, "pod-logs");
  try {
    return readdirSync(root)
      .filter((d) => d.startsWith(`${TESTBED_NAMESPACE}_${pod}_`))
      .flatMap((d) =>
        readdirSync(join(root, d)).flatMap((container) =>
          readdirSync(join(root, d, container))
            .sort()
            .slice(-1)
            .flatMap((f) => tailLines(join(root, d, container, f), 5).map((l) => `${pod}: ${l}`)),
        ),
      );
  } catch {
    return [];
  }
}

/** Brings a cluster node's record up to date with its current pod (a kill makes a new one). */
export function refreshPodNode(cluster: ClusterRecord, node: NodeRecord): void {
  if (node.podMarker === undefined) return;
  const proc = markedProcess(node.podMarker);
  if (proc !== undefined) {
    node.pid = proc.pid;
    node.startTime = proc.startTime;
  }
  const log = podLogOf(cluster, node.name);
  if (log !== undefined) node.logFile = log;
}

export interface PodNodeOptions {
  readonly nodes: number;
  readonly redis: boolean;
  readonly serverConfig: ConfigTree | undefined;
  readonly readyTimeoutMs: number;
}

export async function startPodNodes(
  state: RunState,
  creds: ApiCredentials,
  options: PodNodeOptions,
): Promise<void> {
  const cluster = state.cluster;
  if (cluster?.images === undefined) throw new Error("startPodNodes: the cluster's images are not imported");
  const ns = TESTBED_NAMESPACE;
  if (options.redis) {
    const port = await pickFreePort();
    state.redis = { host: HOST_IP, port };
    writeState(state);
    await apiCreate(
      creds,
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      redisDeployment(cluster.images.redis, HOST_IP, port),
    );
  }
  for (let i = 0; i < options.nodes; i++) {
    const name = `node${i + 1}`;
    const addressing = {
      ip: HOST_IP,
      iface: BRIDGE,
      httpPort: await pickFreePort(),
      rtcTcpPort: await pickFreePort(),
      rtcUdpPort: await pickFreePort(),
      prometheusPort: await pickFreePort(),
    };
    const config = livekitNodeConfig({
      addressing,
      apiKey: state.apiKey,
      apiSecret: state.apiSecret,
      ...(state.redis !== undefined ? { redisAddress: `${state.redis.host}:${state.redis.port}` } : {}),
      overrides: options.serverConfig ?? {},
    });
    const configFile = join(cluster.dir, "conf", `livekit-${name}.yaml`);
    writeFileSync(configFile, config, { mode: 0o600 });
    const marker = `${state.runDir}#${name}`;
    const record: NodeRecord = {
      name,
      index: i,
      ...addressing,
      configFile,
      logFile: "",
      podMarker: marker,
      pid: -1,
    };
    state.nodes.push(record);
    writeState(state);
    const { configMap, deployment } = livekitObjects(
      { name, httpPort: addressing.httpPort, config, marker },
      cluster.images.livekit,
      HOST_IP,
    );
    await apiCreate(creds, `/api/v1/namespaces/${ns}/configmaps`, configMap);
    await apiCreate(creds, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment);
  }
  const expected = options.nodes + (options.redis ? 1 : 0);
  let last = "";
  let notReady: string[] = [];
  try {
    await waitFor(
      async () => {
        const pods = (await podList(creds)).filter((p) => p.namespace === ns);
        last = pods.map((p) => `${p.name} ${p.phase}${p.ready ? " ready" : ""}`).join(", ") || "no pod yet";
        notReady = pods.filter((p) => !p.ready).map((p) => p.name);
        return pods.filter((p) => p.ready).length >= expected;
      },
      {
        timeoutMs: Math.max(options.readyTimeoutMs, 60_000),
        debugName: () => `the testbed's pods ready (${last})`,
        intervalMs: 250,
      },
    );
  } catch (err) {
    // the pods' own last words say why (a config LiveKit refuses, a Redis it cannot reach): down removes the logs' pods
    throw new TestbedError(
      "not-ready",
      `${messageOf(err)}; the pods' logs are in ${join(cluster.dir, "pod-logs")}`,
      notReady.flatMap((pod) => podLogTail(cluster, pod)),
    );
  }
  for (const node of state.nodes) refreshPodNode(cluster, node);
  writeState(state);
}
