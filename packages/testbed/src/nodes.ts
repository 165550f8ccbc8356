import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  livekitNodeConfig,
  type ConfigTree,
  type NodeAddressing,
  type TurnOption,
  type TurnTlsListener,
} from "./configs.js";
import { TestbedError } from "./errors.js";
import { CPU_GROUP_PREFIX, createCpuGroup, moveToCpuGroup } from "./cpu-limit.js";
import { launch } from "./launch.js";
import type { NodeNetwork } from "./netns.js";
import { pickFreePort } from "./ports.js";
import { isOurProcess, processRunState, processStartTime, type SpawnedProcess } from "./processes.js";
import { redisCommand } from "./redis.js";
import { writeState, type NodeRecord, type RunState } from "./state.js";
import { waitFor } from "./wait.js";

export interface NodeView {
  readonly name: string;
  readonly index: number;
  readonly pid: number;
  readonly alive: boolean;
  /** "stopped": alive but frozen (SIGSTOP, process state T). */
  readonly state: "running" | "stopped" | "gone";
  readonly nodeId: string | undefined;
  readonly ip: string;
  readonly httpPort: number;
  readonly rtcTcpPort: number;
  readonly rtcUdpPort: number;
  readonly prometheusPort: number;
  /** UDP port of the node's built-in TURN; absent with TURN off. */
  readonly turnUdpPort?: number;
  /** TCP port of its TLS listener; absent without. */
  readonly turnTlsPort?: number;
  readonly metricsUrl: string;
  readonly namespace: string | undefined;
  readonly logFile: string;
}

export function nodeView(n: NodeRecord): NodeView {
  return {
    name: n.name,
    index: n.index,
    pid: n.pid,
    alive: isOurProcess(n.pid, n.startTime),
    state: processRunState(n.pid, n.startTime),
    nodeId: n.nodeId,
    ip: n.ip,
    httpPort: n.httpPort,
    rtcTcpPort: n.rtcTcpPort,
    rtcUdpPort: n.rtcUdpPort,
    prometheusPort: n.prometheusPort,
    ...(n.turnUdpPort !== undefined ? { turnUdpPort: n.turnUdpPort } : {}),
    ...(n.turnTls !== undefined ? { turnTlsPort: n.turnTls.port } : {}),
    metricsUrl: `http://${n.ip}:${n.prometheusPort}/metrics`,
    namespace: n.network?.namespace,
    logFile: n.logFile,
  };
}

/** What every node of one testbed is started with. */
export interface NodeSetup {
  readonly livekitBin: string;
  /** One per node when nodes run in namespaces; empty otherwise. */
  readonly networks: readonly NodeNetwork[];
  /** The single node's HTTP port when clients reach it directly on a port the user chose. */
  readonly userHttpPort: number | undefined;
  readonly serverConfig: ConfigTree | undefined;
  readonly readyTimeoutMs: number;
  /** LiveKit's built-in TURN over UDP on every node: on a port picked free, or the one given. */
  readonly turn: TurnOption | undefined;
  /** Its TLS listener, on the one node. */
  readonly turnTls?: TurnTlsListener | undefined;
}

function givenTurnPort(turn: { readonly udpPorts: readonly number[] }, i: number): number {
  const port = turn.udpPorts[i];
  if (port === undefined) throw new Error(`turn.udpPorts has no port for node ${i + 1}: this is a bug`);
  return port;
}

/** Picks a node's ports and writes its livekit-server config; the process is not started. */
async function prepareNode(state: RunState, setup: NodeSetup, i: number): Promise<NodeRecord> {
  const net = setup.networks[i];
  const addressing: NodeAddressing = {
    ip: net?.nodeIp ?? "127.0.0.1",
    iface: net?.nodeInterface ?? "lo",
    httpPort: i === 0 && setup.userHttpPort !== undefined ? setup.userHttpPort : await pickFreePort(),
    rtcTcpPort: await pickFreePort(),
    rtcUdpPort: await pickFreePort(),
    prometheusPort: await pickFreePort(),
    ...(setup.turn !== undefined
      ? { turnUdpPort: setup.turn === true ? await pickFreePort() : givenTurnPort(setup.turn, i) }
      : {}),
    ...(setup.turn !== undefined && setup.turnTls !== undefined ? { turnTls: setup.turnTls } : {}),
  };
  const nodeName = `node${i + 1}`;
  const configFile = join(state.runDir, `${nodeName}.yaml`);
  const redisHost = net?.hostIp ?? "127.0.0.1";
  writeFileSync(
    configFile,
    livekitNodeConfig({
      addressing,
      apiKey: state.apiKey,
      apiSecret: state.apiSecret,
      ...(state.redis !== undefined ? { redisAddress: `${redisHost}:${state.redis.port}` } : {}),
      ...(setup.serverConfig !== undefined ? { overrides: setup.serverConfig } : {}),
    }),
    { mode: 0o600 },
  );
  return {
    name: nodeName,
    index: i,
    ...addressing,
    configFile,
    logFile: join(state.runDir, `${nodeName}.log`),
    ...(net !== undefined ? { network: net } : {}),
    pid: -1,
  };
}

/**
 * Starts `count` nodes and waits until each answers its health check and, with Redis, until all
 * of them registered there. A node that lost a port picked free to another process before binding
 * it is given new ports and started again (up to three attempts).
 */
export async function startNodes(state: RunState, setup: NodeSetup, count: number): Promise<void> {
  for (let i = 0; i < count; i++) state.nodes.push(await prepareNode(state, setup, i));
  // start all nodes first, then wait: they boot in parallel
  const booting = state.nodes.map((node) => ({
    node,
    proc: startNodeProcess(state, node, setup.livekitBin),
  }));
  for (const { node, proc } of booting) {
    for (let attempt = 1; ; attempt++) {
      const current = state.nodes[node.index] ?? node;
      try {
        await waitForNode(
          state,
          current,
          attempt === 1 ? proc : startNodeProcess(state, current, setup.livekitBin),
          setup.readyTimeoutMs,
        );
        break;
      } catch (err) {
        // a port picked free can still be taken before the node binds it; a user-given one cannot be re-picked
        const userPort = current.index === 0 && setup.userHttpPort !== undefined;
        if (!(err instanceof TestbedError && err.reason === "port-in-use") || userPort || attempt >= 3)
          throw err;
        state.nodes[current.index] = await prepareNode(state, setup, current.index);
        writeState(state);
      }
    }
  }
  if (state.redis !== undefined) {
    const redis = state.redis;
    await waitFor(
      async () => Number(await redisCommand(redis.host, redis.port, ["HLEN", "nodes"])) >= count,
      { timeoutMs: setup.readyTimeoutMs, debugName: `${count} nodes registered in redis` },
    );
  }
}

/** Starts (or restarts) one node's livekit-server, in its namespace when it has one. */
export function startNodeProcess(state: RunState, node: NodeRecord, livekitBin: string): SpawnedProcess {
  const args = ["--config", node.configFile];
  const [command, fullArgs] =
    node.network !== undefined
      ? ["ip", ["netns", "exec", node.network.namespace, livekitBin, ...args]]
      : [livekitBin, args];
  const group = state.nodeCpu !== undefined ? `${CPU_GROUP_PREFIX}${state.name}-${node.name}` : undefined;
  if (group !== undefined && state.nodeCpu !== undefined) {
    if (state.cpuGroups?.includes(group) !== true) (state.cpuGroups ??= []).push(group);
    writeState(state);
    createCpuGroup(group, state.nodeCpu);
  }
  const proc = launch(state, "livekit", node.name, command, fullArgs, node.logFile);
  node.pid = proc.pid;
  node.startTime = processStartTime(proc.pid);
  writeState(state);
  // its first milliseconds run uncapped; everything after, all threads included, is capped
  if (group !== undefined) moveToCpuGroup(group, proc.pid);
  return proc;
}

/** Waits for a node's health check to answer 200, then records the node id it logged at startup. */
export async function waitForNode(
  state: RunState,
  node: NodeRecord,
  proc: SpawnedProcess,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitFor(
      async () => {
        const res = await fetch(`http://${node.ip}:${node.httpPort}/`);
        return res.status === 200;
      },
      { timeoutMs, debugName: `${node.name} health GET /`, exited: proc.exited, logFile: node.logFile },
    );
  } catch (err) {
    if (err instanceof TestbedError && err.reason === "server-exited") {
      const log = err.details.join("\n");
      if (/address already in use/i.test(log)) {
        throw new TestbedError(
          "port-in-use",
          `${node.name} could not bind its ports (address already in use): another process holds one of ${node.httpPort}, ${node.rtcTcpPort}, ${node.rtcUdpPort}, ${node.prometheusPort}; stop it or pass another --port`,
          err.details,
        );
      }
    }
    throw err;
  }
  const id = lastNodeId(node.logFile);
  if (id !== undefined) node.nodeId = id;
  writeState(state);
}

/** The LiveKit node id (`ND_...`) of the node's latest start, from its log; it changes at every start. */
export function lastNodeId(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return undefined;
  }
  let id: string | undefined;
  for (const line of text.split("\n")) {
    if (!line.includes("starting LiveKit server")) continue;
    try {
      // a pod log's line is the container's, behind the runtime's "<time> stdout F " prefix
      const parsed = JSON.parse(line.slice(line.indexOf("{"))) as { nodeID?: unknown };
      if (typeof parsed.nodeID === "string") id = parsed.nodeID;
    } catch {
      // a non-JSON line (e.g. a panic trace) carries no node id
    }
  }
  return id;
}
