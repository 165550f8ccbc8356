import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RoomServiceClient } from "livekit-server-sdk";
import { startBalancer, balancerServerStates } from "./balancer.js";
import { findBinary } from "./binaries.js";
import { ensureLivekitServer } from "./install.js";
import type { ConfigTree, TurnOption, TurnTlsListener } from "./configs.js";
import { makeTurnCertificate } from "./turn-tls.js";
import { checkCpuCap } from "./cpu-limit.js";
import { down, liveProcesses, type DownReport } from "./down.js";
import { TestbedError } from "./errors.js";
import { DEFAULT_READY_TIMEOUT_MS } from "./launch.js";
import { createNodeNetwork, nodeNetwork, pickSubnetOctet, requireRoot, type NodeNetwork } from "./netns.js";
import { lastNodeId, nodeView, startNodeProcess, startNodes, waitForNode, type NodeView } from "./nodes.js";
import { isTcpPortFree, pickFreePort } from "./ports.js";
import { isOurProcess, signal, processRunState } from "./processes.js";
import { startPrometheus } from "./prometheus.js";
import { redisCommand } from "./redis.js";
import { startRedis } from "./redis-server.js";
import { statusOf, type TestbedStatus } from "./status.js";
import {
  checkTestbedName,
  makePrivateDir,
  runDirFor,
  stoppedStateFile,
  writeState,
  type NodeRecord,
  type ProcessRecord,
  type RunState,
} from "./state.js";
import { readState } from "./state-reader.js";
import { waitFor } from "./wait.js";
import { checkClusterPrerequisites, startCluster } from "./cluster/cluster.js";
import { HOST_IP } from "./cluster/config.js";
import { refreshPodNode, startPodNodes } from "./cluster/pod-nodes.js";

export interface TestbedOptions {
  /** Names the run directory; two testbeds with different names run side by side. Default "default". */
  readonly name?: string;
  readonly runDir?: string;
  /** livekit-server processes; default 1. */
  readonly nodes?: number;
  /** Default: on when nodes > 1 (multi-node routing needs it). */
  readonly redis?: boolean;
  /** HAProxy in front of the nodes; default: on when nodes > 1. */
  readonly balancer?: boolean;
  /** A Prometheus scraping the nodes (and `scrapeTargets`). */
  readonly prometheus?: boolean;
  readonly scrapeTargets?: readonly string[];
  readonly ruleFiles?: readonly string[];
  /** Each node in its own network namespace (root), so faults can target one node. */
  readonly netns?: boolean;
  /**
   * Addresses of this host the balancer listens on besides 127.0.0.1, such as the host end of a
   * client namespace's veth, so that clients there reach it.
   */
  readonly balancerHosts?: readonly string[];
  /** The port clients connect to (the balancer's, or the single node's). Default: a free one. */
  readonly port?: number;
  readonly serverBin?: string;
  /** Merged into every node's livekit-server config. */
  readonly serverConfig?: ConfigTree;
  readonly readyTimeoutMs?: number;
  /** Cores each livekit-server may use (cgroup v1 CFS quota, root), so the server saturates first. */
  readonly nodeCpu?: number;
  /**
   * LiveKit's built-in TURN over UDP on every node (docs/transport.md): `true` picks each node a
   * free port; given `udpPorts` (one per node) are for callers that must know them first, such as a
   * client firewall that lets it out.
   */
  readonly turn?: TurnOption;
  /**
   * TURN over TLS too, on this TCP port of the one node, behind a self-signed certificate for
   * turn.lkswarm.test made for this testbed (turn-tls.ts): the `turns:` URL of the join response
   * says port 443, so clients need 443 sent here (a client namespace's redirect does it).
   */
  readonly turnTls?: { readonly port: number };
  /**
   * A single-node Kubernetes cluster (built by `scripts/setup --kubernetes`), with the LiveKit nodes
   * and Redis as pods on the host's network (src/cluster/, docs/cluster.md). Root only; one per machine.
   */
  readonly kubernetes?: boolean;
}

/**
 * A real LiveKit deployment on this machine: livekit-server nodes, Redis, an HAProxy balancer and
 * optionally Prometheus, every process detached and recorded in the run directory so that `down`
 * can end them even after the controlling process died.
 */
export class Testbed {
  private constructor(private state: RunState) {}

  static async start(options: TestbedOptions = {}): Promise<Testbed> {
    const nodeCount = options.nodes ?? 1;
    if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 16) {
      throw new TestbedError(
        "bad-option",
        `nodes: expected an integer from 1 to 16, got ${String(options.nodes)}`,
      );
    }
    const useRedis = options.redis ?? nodeCount > 1;
    const useBalancer = options.balancer ?? nodeCount > 1;
    if (nodeCount > 1 && !useRedis) {
      throw new TestbedError("bad-option", "several nodes need Redis to share rooms: drop redis: false");
    }
    const bins = {
      livekit: await ensureLivekitServer(options.serverBin),
      redis: useRedis ? findBinary("redis-server") : undefined,
      haproxy: useBalancer ? findBinary("haproxy") : undefined,
      prometheus: options.prometheus === true ? findBinary("prometheus") : undefined,
    };
    if (options.nodeCpu !== undefined) checkCpuCap(options.nodeCpu);
    if (options.turn !== undefined && options.turn !== true && options.turn.udpPorts.length !== nodeCount) {
      throw new TestbedError(
        "bad-option",
        `turn: ${options.turn.udpPorts.length} TURN UDP port(s) for ${nodeCount} node(s): give each node its own, or pass turn: true to pick them`,
      );
    }
    if (options.turnTls !== undefined && (options.turn === undefined || nodeCount !== 1)) {
      throw new TestbedError(
        "bad-option",
        "turnTls: TURN over TLS needs TURN on (turn) and one node: every node's join response names the same turns: URL on port 443",
      );
    }
    if (options.netns === true) {
      requireRoot("--netns");
      findBinary("ip");
    }
    if (options.kubernetes === true) {
      if (
        options.netns === true ||
        options.turn !== undefined ||
        options.nodeCpu !== undefined ||
        options.port !== undefined
      )
        throw new TestbedError(
          "bad-option",
          "--kubernetes runs LiveKit as pods on the cluster's bridge: --netns, --turn, --node-cpu and --port are for the local testbed; drop them",
        );
      checkClusterPrerequisites();
    }
    if (options.port !== undefined && !(await isTcpPortFree(options.port))) {
      throw new TestbedError(
        "port-in-use",
        `port ${options.port} on 127.0.0.1 is in use: stop what listens there, pass another --port, or omit --port to pick a free one`,
      );
    }

    const name = checkTestbedName(options.name ?? "default");
    const runDir = options.runDir ?? runDirFor(name);
    const previous = readState(runDir);
    if (previous !== undefined && liveProcesses(previous).length > 0) {
      throw new TestbedError(
        "already-running",
        `testbed "${previous.name}" is already running in ${runDir}: run \`swarm testbed down --name ${previous.name}\` first, or pass another --name`,
      );
    }
    if (previous !== undefined) await down(runDir);
    else if (existsSync(runDir) && readdirSync(runDir).length > 0 && !existsSync(stoppedStateFile(runDir))) {
      // Only a folder that holds a testbed's state (running, or stopped by `down`) is ours to
      // empty: a name or path pointing at anything else is refused before a file is touched.
      throw new TestbedError(
        "bad-name",
        `${runDir} exists and is not a testbed's run directory: pass another --name (nothing was changed)`,
      );
    }
    rmSync(runDir, { recursive: true, force: true });
    makePrivateDir(runDir);

    const state: RunState = {
      version: 1,
      name,
      runDir,
      createdAt: new Date().toISOString(),
      apiKey: `API${randomBytes(6).toString("hex")}`,
      apiSecret: randomBytes(24).toString("hex"),
      url: "",
      nodes: [],
      processes: [],
      namespaces: [],
      ...(options.nodeCpu !== undefined ? { nodeCpu: options.nodeCpu } : {}),
    };
    writeState(state);
    const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    let turnTls: TurnTlsListener | undefined;
    if (options.turnTls !== undefined) {
      const cert = makeTurnCertificate(runDir);
      turnTls = { port: options.turnTls.port, certFile: cert.certFile, keyFile: cert.keyFile };
      state.turnTlsSpki = cert.spki;
      writeState(state);
    }

    try {
      const networks: NodeNetwork[] = [];
      if (options.netns === true) {
        const octet = pickSubnetOctet();
        const tag = randomBytes(2).toString("hex");
        for (let i = 0; i < nodeCount; i++) {
          const net = nodeNetwork(tag, i + 1, octet);
          state.namespaces.push(net.namespace);
          writeState(state);
          createNodeNetwork(net);
          networks.push(net);
        }
      }

      if (options.kubernetes === true) {
        const creds = await startCluster(state, {
          readyTimeoutMs,
          livekitBin: bins.livekit,
          redisBin: bins.redis,
        });
        await startPodNodes(state, creds, {
          nodes: nodeCount,
          redis: useRedis,
          serverConfig: options.serverConfig,
          readyTimeoutMs,
        });
      } else {
        if (bins.redis !== undefined) {
          const port = await pickFreePort();
          const bind = ["127.0.0.1", ...networks.map((n) => n.hostIp)];
          mkdirSync(join(runDir, "redis"));
          state.redis = { host: "127.0.0.1", port };
          await startRedis(state, bins.redis, port, bind, readyTimeoutMs, "redis PING");
        }

        const singleNodeUrlPort = !useBalancer ? options.port : undefined;
        await startNodes(
          state,
          {
            livekitBin: bins.livekit,
            networks,
            userHttpPort: singleNodeUrlPort,
            serverConfig: options.serverConfig,
            readyTimeoutMs,
            turn: options.turn,
            turnTls,
          },
          nodeCount,
        );
      }

      if (bins.haproxy !== undefined) {
        // a cluster's balancer stays a host process, on the bridge's address too so that pods reach it
        const hosts = [...(options.balancerHosts ?? []), ...(options.kubernetes === true ? [HOST_IP] : [])];
        await startBalancer(state, bins.haproxy, options.port, readyTimeoutMs, hosts);
        if (options.kubernetes === true) {
          state.url = `ws://${HOST_IP}:${state.balancer?.port ?? 0}`;
          writeState(state);
        }
      } else {
        const only = state.nodes[0];
        if (only === undefined) throw new Error("no node started");
        state.url = `ws://${only.ip}:${only.httpPort}`;
        writeState(state);
      }

      const testbed = new Testbed(state);
      await waitFor(
        async () => {
          await testbed.roomService().listRooms();
          return true;
        },
        { timeoutMs: readyTimeoutMs, debugName: `RoomService.ListRooms through ${state.url}` },
      );
      if (options.kubernetes === true) {
        // a pod's node id is in its pod log, read once the node answers
        testbed.refreshNodeIds();
        writeState(state);
      }

      if (bins.prometheus !== undefined) {
        await startPrometheus(
          state,
          bins.prometheus,
          options.scrapeTargets ?? [],
          options.ruleFiles ?? [],
          readyTimeoutMs,
        );
      }
      return testbed;
    } catch (err) {
      await down(runDir);
      throw err;
    }
  }

  /** A handle on a testbed started elsewhere (e.g. by `swarm testbed up`). */
  static attach(nameOrRunDir: string): Testbed {
    const runDir = nameOrRunDir.includes("/") ? nameOrRunDir : runDirFor(nameOrRunDir);
    const state = readState(runDir);
    if (state === undefined) {
      throw new TestbedError("not-running", `no testbed in ${runDir}: start one with \`swarm testbed up\``);
    }
    return new Testbed(state);
  }

  get name(): string {
    return this.state.name;
  }
  get runDir(): string {
    return this.state.runDir;
  }
  get url(): string {
    return this.state.url;
  }
  get httpUrl(): string {
    return this.state.url.replace(/^ws/, "http");
  }
  get apiKey(): string {
    return this.state.apiKey;
  }
  get apiSecret(): string {
    return this.state.apiSecret;
  }
  get prometheusUrl(): string | undefined {
    return this.state.prometheus?.url;
  }
  get redis(): { host: string; port: number } | undefined {
    return this.state.redis;
  }

  /** The TURN/TLS listener of the one node and its certificate's pin; undefined without. */
  get turnTls(): { readonly port: number; readonly spki: string } | undefined {
    const port = this.state.nodes[0]?.turnTls?.port;
    const spki = this.state.turnTlsSpki;
    return port === undefined || spki === undefined ? undefined : { port, spki };
  }

  /** A cluster testbed's admin kubeconfig (what `swarm testbed env` exports as KUBECONFIG); undefined otherwise. */
  get kubeconfig(): string | undefined {
    return this.state.cluster?.kubeconfig;
  }

  /** Cores each livekit-server may use; undefined when uncapped. */
  get nodeCpu(): number | undefined {
    return this.state.nodeCpu;
  }

  get nodes(): readonly NodeView[] {
    const cluster = this.state.cluster;
    // a cluster's pod replaced since up (a drill, kubectl delete) runs under another pid
    if (cluster !== undefined) for (const node of this.state.nodes) refreshPodNode(cluster, node);
    return this.state.nodes.map((n) => nodeView(n));
  }

  roomService(): RoomServiceClient {
    return new RoomServiceClient(this.httpUrl, this.apiKey, this.apiSecret);
  }

  /**
   * The node hosting `room`, from Redis `room_node_map` (single node: that node). Undefined when the
   * room is not placed, or placed on a node id no current process has (a node that died).
   */
  async roomNode(room: string): Promise<NodeView | undefined> {
    if (this.state.redis === undefined) return this.nodes[0];
    const nodeId = await redisCommand(this.state.redis.host, this.state.redis.port, [
      "HGET",
      "room_node_map",
      room,
    ]);
    if (typeof nodeId !== "string") return undefined;
    this.refreshNodeIds();
    return this.nodes.find((n) => n.nodeId === nodeId);
  }

  /** Re-reads each node's LiveKit node id from its log (it changes at every process start). */
  refreshNodeIds(): void {
    const cluster = this.state.cluster;
    for (const node of this.state.nodes) {
      if (cluster !== undefined) refreshPodNode(cluster, node);
      const id = lastNodeId(node.logFile);
      if (id !== undefined) node.nodeId = id;
    }
  }

  status(): TestbedStatus {
    return statusOf(this.state);
  }

  /** The process ids of a node and of Redis, as recorded (the current process after a restart). */
  nodePid(index: number): number {
    return this.nodeRecord(index).pid;
  }

  /** Sends `sig` to node `index` (0-based); false when it is not running (or not ours any more). */
  signalNode(index: number, sig: NodeJS.Signals): boolean {
    const node = this.nodeRecord(index);
    return isOurProcess(node.pid, node.startTime) && signal(node.pid, sig);
  }

  /** Whether node `index`'s recorded process is alive, and whether it is stopped (SIGSTOP). */
  nodeProcessState(index: number): "running" | "stopped" | "gone" {
    const node = this.nodeRecord(index);
    return processRunState(node.pid, node.startTime);
  }

  /**
   * Starts node `index` again (after a kill) with its own config, and waits until it answers its
   * health check and has registered itself in Redis under its new node id.
   */
  async restartNode(index: number, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<NodeView> {
    const node = this.nodeRecord(index);
    if (isOurProcess(node.pid, node.startTime)) {
      throw new TestbedError(
        "already-running",
        `${node.name} is still running (pid ${node.pid}): stop it first`,
      );
    }
    const previousId = node.nodeId;
    const proc = startNodeProcess(this.state, node, findBinary("livekit-server"));
    await waitForNode(this.state, node, proc, timeoutMs);
    const redis = this.state.redis;
    if (redis !== undefined) {
      await waitFor(
        async () =>
          node.nodeId !== undefined &&
          node.nodeId !== previousId &&
          (await redisCommand(redis.host, redis.port, ["HEXISTS", "nodes", node.nodeId])) === 1,
        { timeoutMs, debugName: `${node.name} registered in redis after restart` },
      );
    }
    return nodeView(node);
  }

  /** Redis's process, for faults; undefined without Redis. */
  private redisRecord(): ProcessRecord | undefined {
    return this.state.processes.findLast((p) => p.role === "redis");
  }

  redisProcessState(): "running" | "stopped" | "gone" {
    const record = this.redisRecord();
    return record === undefined ? "gone" : processRunState(record.pid, record.startTime);
  }

  signalRedis(sig: NodeJS.Signals): boolean {
    const record = this.redisRecord();
    return record !== undefined && isOurProcess(record.pid, record.startTime) && signal(record.pid, sig);
  }

  /** Starts Redis again on its port (empty: the testbed keeps no persistence) and waits for PING. */
  async restartRedis(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    const redis = this.state.redis;
    if (redis === undefined) throw new TestbedError("bad-option", "this testbed has no Redis");
    if (this.redisProcessState() !== "gone") {
      throw new TestbedError("already-running", "redis is still running: stop it first");
    }
    const bind = ["127.0.0.1", ...this.state.nodes.flatMap((n) => (n.network ? [n.network.hostIp] : []))];
    await startRedis(
      this.state,
      findBinary("redis-server"),
      redis.port,
      bind,
      timeoutMs,
      "redis PING after restart",
    );
  }

  /** HAProxy's UP/DOWN view of each node; empty without a balancer. */
  async balancerStates(): Promise<{ name: string; status: string }[]> {
    const balancer = this.state.balancer;
    return balancer === undefined ? [] : balancerServerStates(balancer.statsPort);
  }

  /** The node's side of its veth pair (for tc), when it has a namespace. */
  nodeInterface(index: number): string | undefined {
    return this.nodeRecord(index).network?.nodeInterface;
  }

  /** The host's side of the node's veth pair (what the node sends arrives on it), when it has a namespace. */
  hostInterface(index: number): string | undefined {
    return this.nodeRecord(index).network?.hostInterface;
  }

  private nodeRecord(index: number): NodeRecord {
    const node = this.state.nodes[index];
    if (node === undefined) {
      throw new TestbedError(
        "bad-option",
        `no node ${index + 1}: this testbed has ${this.state.nodes.length}`,
      );
    }
    return node;
  }

  async stop(): Promise<DownReport> {
    return down(this.state.runDir);
  }
}
