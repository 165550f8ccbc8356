import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RoomServiceClient } from "livekit-server-sdk";
import { findBinary } from "./binaries.js";
import {
  haproxyConfig,
  livekitNodeConfig,
  prometheusConfig,
  type ConfigTree,
  type NodeAddressing,
} from "./configs.js";
import { TestbedError } from "./errors.js";
import { faultQdiscs, faultTables } from "./faults.js";
import { readFaultLedger, type LedgerEntry } from "./ledger.js";
import {
  createNodeNetwork,
  deleteNodeNetwork,
  namespaceExists,
  nodeNetwork,
  pickSubnetOctet,
  requireRoot,
  type NodeNetwork,
} from "./netns.js";
import { isTcpPortFree, pickFreePort } from "./ports.js";
import {
  isOurProcess,
  signal,
  processesMentioning,
  processRunState,
  processStartTime,
  sleep,
  spawnDetached,
  tailLines,
  terminate,
  type SpawnedProcess,
} from "./processes.js";
import { redisCommand } from "./redis.js";
import {
  checkTestbedName,
  defaultRunRoot,
  makePrivateDir,
  readState,
  runDirFor,
  stateFile,
  writeState,
  type NodeRecord,
  type ProcessRecord,
  type RunState,
} from "./state.js";

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
  /** The port clients connect to (the balancer's, or the single node's). Default: a free one. */
  readonly port?: number;
  readonly serverBin?: string;
  /** Merged into every node's livekit-server config. */
  readonly serverConfig?: ConfigTree;
  readonly readyTimeoutMs?: number;
}

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
  readonly metricsUrl: string;
  readonly namespace: string | undefined;
  readonly logFile: string;
}

export interface TestbedStatus {
  readonly name: string;
  readonly runDir: string;
  readonly url: string;
  readonly apiKey: string;
  readonly nodes: readonly NodeView[];
  readonly redis: string | undefined;
  readonly balancer: string | undefined;
  readonly prometheus: string | undefined;
  readonly processes: readonly (ProcessRecord & { alive: boolean })[];
  /** Fault nftables tables and qdiscs found in the nodes' namespaces, and the fault ledger's entries. */
  readonly faults: { readonly active: readonly string[]; readonly ledger: readonly LedgerEntry[] };
}

export interface DownReport {
  readonly runDir: string;
  readonly stopped: readonly string[];
  readonly namespacesRemoved: readonly string[];
}

const DEFAULT_READY_TIMEOUT_MS = 30_000;

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
      livekit: findBinary("livekit-server", options.serverBin),
      redis: useRedis ? findBinary("redis-server") : undefined,
      haproxy: useBalancer ? findBinary("haproxy") : undefined,
      prometheus: options.prometheus === true ? findBinary("prometheus") : undefined,
    };
    if (options.netns === true) {
      requireRoot("--netns");
      findBinary("ip");
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
    else if (existsSync(runDir) && readdirSync(runDir).length > 0) {
      // Only a folder that holds a testbed's state is ours to empty: a name or path pointing at
      // anything else is refused before a file is touched.
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
    };
    writeState(state);
    const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

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

      if (bins.redis !== undefined) {
        const port = await pickFreePort();
        const bind = ["127.0.0.1", ...networks.map((n) => n.hostIp)];
        mkdirSync(join(runDir, "redis"));
        const proc = launch(state, "redis", "redis", bins.redis, redisArgs(runDir, port, bind));
        state.redis = { host: "127.0.0.1", port };
        writeState(state);
        await waitFor(
          async () => (await redisCommand("127.0.0.1", port, ["PING"]).catch(() => null)) === "PONG",
          {
            timeoutMs: readyTimeoutMs,
            debugName: "redis PING",
            exited: proc.exited,
            logFile: join(runDir, "redis.log"),
          },
        );
      }

      const singleNodeUrlPort = !useBalancer ? options.port : undefined;
      const prepare = async (i: number): Promise<NodeRecord> => {
        const net = networks[i];
        const addressing: NodeAddressing = {
          ip: net?.nodeIp ?? "127.0.0.1",
          iface: net?.nodeInterface ?? "lo",
          httpPort: i === 0 && singleNodeUrlPort !== undefined ? singleNodeUrlPort : await pickFreePort(),
          rtcTcpPort: await pickFreePort(),
          rtcUdpPort: await pickFreePort(),
          prometheusPort: await pickFreePort(),
        };
        const nodeName = `node${i + 1}`;
        const configFile = join(runDir, `${nodeName}.yaml`);
        const redisHost = net?.hostIp ?? "127.0.0.1";
        writeFileSync(
          configFile,
          livekitNodeConfig({
            addressing,
            apiKey: state.apiKey,
            apiSecret: state.apiSecret,
            ...(state.redis !== undefined ? { redisAddress: `${redisHost}:${state.redis.port}` } : {}),
            ...(options.serverConfig !== undefined ? { overrides: options.serverConfig } : {}),
          }),
          { mode: 0o600 },
        );
        return {
          name: nodeName,
          index: i,
          ...addressing,
          configFile,
          logFile: join(runDir, `${nodeName}.log`),
          ...(net !== undefined ? { network: net } : {}),
          pid: -1,
        };
      };
      for (let i = 0; i < nodeCount; i++) state.nodes.push(await prepare(i));
      // start all nodes first, then wait: they boot in parallel
      const booting = state.nodes.map((node) => ({
        node,
        proc: startNodeProcess(state, node, bins.livekit),
      }));
      for (const { node, proc } of booting) {
        for (let attempt = 1; ; attempt++) {
          const current = state.nodes[node.index] ?? node;
          try {
            await waitForNode(
              state,
              current,
              attempt === 1 ? proc : startNodeProcess(state, current, bins.livekit),
              readyTimeoutMs,
            );
            break;
          } catch (err) {
            // a port picked free can still be taken before the node binds it; a user-given one cannot be re-picked
            const userPort = current.index === 0 && singleNodeUrlPort !== undefined;
            if (!(err instanceof TestbedError && err.reason === "port-in-use") || userPort || attempt >= 3)
              throw err;
            state.nodes[current.index] = await prepare(current.index);
            writeState(state);
          }
        }
      }
      if (state.redis !== undefined) {
        const redis = state.redis;
        await waitFor(
          async () => Number(await redisCommand(redis.host, redis.port, ["HLEN", "nodes"])) >= nodeCount,
          { timeoutMs: readyTimeoutMs, debugName: `${nodeCount} nodes registered in redis` },
        );
      }

      if (bins.haproxy !== undefined) {
        const port = options.port ?? (await pickFreePort());
        const statsPort = await pickFreePort();
        const cfg = join(runDir, "haproxy.cfg");
        writeFileSync(
          cfg,
          haproxyConfig({
            listenPort: port,
            statsPort,
            backends: state.nodes.map((n) => ({ name: n.name, ip: n.ip, port: n.httpPort })),
          }),
        );
        const proc = launch(state, "haproxy", "haproxy", bins.haproxy, ["-db", "-f", cfg]);
        state.balancer = { port, statsPort };
        state.url = `ws://127.0.0.1:${port}`;
        writeState(state);
        // every backend must be UP (2 health checks at 1 s) before clients are pointed at it
        await waitFor(async () => (await balancerServerStates(statsPort)).every((s) => s.status === "UP"), {
          timeoutMs: readyTimeoutMs,
          debugName: "haproxy marks every node UP",
          exited: proc.exited,
          logFile: join(runDir, "haproxy.log"),
        });
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

      if (bins.prometheus !== undefined) {
        const port = await pickFreePort();
        const cfg = join(runDir, "prometheus.yml");
        writeFileSync(
          cfg,
          prometheusConfig({
            nodes: state.nodes.map((n) => ({ name: n.name, ip: n.ip, port: n.prometheusPort })),
            extraTargets: options.scrapeTargets ?? [],
            ruleFiles: options.ruleFiles ?? [],
          }),
        );
        const proc = launch(state, "prometheus", "prometheus", bins.prometheus, [
          `--config.file=${cfg}`,
          `--storage.tsdb.path=${join(runDir, "prometheus-data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--web.enable-lifecycle",
        ]);
        state.prometheus = { url: `http://127.0.0.1:${port}` };
        writeState(state);
        await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, {
          timeoutMs: readyTimeoutMs,
          debugName: "prometheus /-/ready",
          exited: proc.exited,
          logFile: join(runDir, "prometheus.log"),
        });
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

  get nodes(): readonly NodeView[] {
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
    for (const node of this.state.nodes) {
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
    const proc = launch(
      this.state,
      "redis",
      "redis",
      findBinary("redis-server"),
      redisArgs(this.state.runDir, redis.port, bind),
    );
    await waitFor(
      async () => (await redisCommand(redis.host, redis.port, ["PING"]).catch(() => null)) === "PONG",
      {
        timeoutMs,
        debugName: "redis PING after restart",
        exited: proc.exited,
        logFile: join(this.state.runDir, "redis.log"),
      },
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

function redisArgs(runDir: string, port: number, bind: readonly string[]): string[] {
  const redisDir = join(runDir, "redis");
  return [
    "--port",
    String(port),
    "--bind",
    ...bind,
    "--save",
    "",
    "--appendonly",
    "no",
    "--protected-mode",
    "no",
    "--dir",
    redisDir,
    // redis rewrites its title: keep the run dir in it, so `down` can find an unrecorded one
    "--proc-title-template",
    `{title} {listen-addr} ${redisDir}/`,
  ];
}

function nodeView(n: NodeRecord): NodeView {
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
    metricsUrl: `http://${n.ip}:${n.prometheusPort}/metrics`,
    namespace: n.network?.namespace,
    logFile: n.logFile,
  };
}

function statusOf(state: RunState): TestbedStatus {
  return {
    name: state.name,
    runDir: state.runDir,
    url: state.url,
    apiKey: state.apiKey,
    nodes: state.nodes.map((n) => nodeView(n)),
    redis: state.redis !== undefined ? `${state.redis.host}:${state.redis.port}` : undefined,
    balancer: state.balancer !== undefined ? `127.0.0.1:${state.balancer.port}` : undefined,
    prometheus: state.prometheus?.url,
    processes: state.processes.map((p) => ({ ...p, alive: isOurProcess(p.pid, p.startTime) })),
    faults: {
      active: state.nodes.flatMap((n) => {
        const ns = n.network?.namespace;
        if (ns === undefined) return [];
        return [
          ...faultTables(ns).map((t) => `nftables table ${t} in ${ns}`),
          ...faultQdiscs(ns).map((q) => `qdisc ${q.kind} on ${q.device} in ${ns}`),
        ];
      }),
      ledger: readFaultLedger(state.runDir),
    },
  };
}

function launch(
  state: RunState,
  role: ProcessRecord["role"],
  name: string,
  command: string,
  args: readonly string[],
  logFile = join(state.runDir, `${name}.log`),
): SpawnedProcess {
  const proc = spawnDetached(command, args, logFile);
  if (proc.pid < 0)
    throw new TestbedError("server-exited", `${command} could not be started`, tailLines(logFile, 10));
  state.processes.push({ role, name, pid: proc.pid, startTime: processStartTime(proc.pid), logFile });
  writeState(state);
  return proc;
}

/** Starts (or restarts) one node's livekit-server, in its namespace when it has one. */
export function startNodeProcess(state: RunState, node: NodeRecord, livekitBin: string): SpawnedProcess {
  const args = ["--config", node.configFile];
  const [command, fullArgs] =
    node.network !== undefined
      ? ["ip", ["netns", "exec", node.network.namespace, livekitBin, ...args]]
      : [livekitBin, args];
  const proc = launch(state, "livekit", node.name, command, fullArgs, node.logFile);
  node.pid = proc.pid;
  node.startTime = processStartTime(proc.pid);
  writeState(state);
  return proc;
}

async function waitForNode(
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

function lastNodeId(logFile: string): string | undefined {
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
      const parsed = JSON.parse(line) as { nodeID?: unknown };
      if (typeof parsed.nodeID === "string") id = parsed.nodeID;
    } catch {
      // a non-JSON line (e.g. a panic trace) carries no node id
    }
  }
  return id;
}

/** HAProxy's view of each backend server, from its stats CSV. */
export async function balancerServerStates(statsPort: number): Promise<{ name: string; status: string }[]> {
  const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`);
  const rows = (await res.text()).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  return rows
    .map((l) => l.split(","))
    .filter((cols) => cols[0] === "livekit_nodes" && cols[1] !== "BACKEND" && cols[1] !== "FRONTEND")
    .map((cols) => ({ name: cols[1] ?? "", status: cols[17] ?? "" }));
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** What is awaited, for the timeout's message; a function is read when the wait fails, so it can tell what was last seen. */
  readonly debugName: string | (() => string);
  /** Between attempts; 100 ms unless each attempt is costly (a Prometheus query, a scrape). */
  readonly intervalMs?: number;
  /** When this resolves, the process we wait on has exited: fail at once with its log's tail. */
  readonly exited?: Promise<number | string | null>;
  readonly logFile?: string;
}

/** Polls `condition` until it returns true; a thrown error counts as "not yet". */
export async function waitFor(condition: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const debugName = (): string =>
    typeof options.debugName === "string" ? options.debugName : options.debugName();
  let exitCode: number | string | null | undefined;
  void options.exited?.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "";
  for (;;) {
    if (exitCode !== undefined) {
      const tail = options.logFile !== undefined ? tailLines(options.logFile, 15) : [];
      throw new TestbedError(
        "server-exited",
        `${debugName()}: the process exited (${String(exitCode)}) while starting; its last log lines follow${options.logFile !== undefined ? ` (${options.logFile})` : ""}`,
        tail,
      );
    }
    try {
      if (await condition()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const tail = options.logFile !== undefined ? tailLines(options.logFile, 15) : [];
      throw new TestbedError(
        "not-ready",
        `${debugName()} not ready after ${options.timeoutMs} ms${lastError !== "" ? ` (last error: ${lastError})` : ""}`,
        tail,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

function liveProcesses(state: RunState): ProcessRecord[] {
  return state.processes.filter((p) => isOurProcess(p.pid, p.startTime));
}

/**
 * Ends every process the testbed started and removes its network namespaces. Works from the run
 * directory alone, so it also cleans up after a controller that was SIGKILLed. Idempotent.
 */
export async function down(runDir: string): Promise<DownReport> {
  const state = readState(runDir);
  if (state === undefined) return { runDir, stopped: [], namespacesRemoved: [] };
  const stopped: string[] = [];
  const byRole = (roles: readonly string[]): ProcessRecord[] =>
    state.processes.filter((p) => roles.includes(p.role));
  // nodes and the balancer first, so nothing writes to Redis while it goes away
  for (const group of [byRole(["livekit", "haproxy", "prometheus"]), byRole(["redis"])]) {
    await Promise.all(
      group.map(async (p) => {
        if (!isOurProcess(p.pid, p.startTime)) return;
        await terminate(p.pid, p.startTime, p.role === "livekit" ? 3000 : 2000);
        stopped.push(`${p.name} (pid ${p.pid})`);
      }),
    );
  }
  // processes started but never recorded (the controller died between spawn and state write)
  await Promise.all(
    processesMentioning(state.runDir).map(async (p) => {
      await terminate(p.pid, p.startTime, 2000);
      stopped.push(`unrecorded process (pid ${p.pid})`);
    }),
  );
  const namespacesRemoved: string[] = [];
  for (const node of state.nodes) {
    if (node.network === undefined) continue;
    if (namespaceExists(node.network.namespace)) namespacesRemoved.push(node.network.namespace);
    deleteNodeNetwork(node.network);
  }
  for (const ns of state.namespaces) {
    if (namespaceExists(ns)) {
      deleteNodeNetwork({ namespace: ns, hostInterface: ns.replace(/n(\d+)$/, "h$1") });
      namespacesRemoved.push(ns);
    }
  }
  if (existsSync(stateFile(runDir))) renameSync(stateFile(runDir), join(runDir, "state.stopped.json"));
  return { runDir, stopped, namespacesRemoved };
}

/** Testbeds with a state file under `root` (running or crashed, not yet taken down). */
export function listTestbeds(root = defaultRunRoot()): TestbedStatus[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: TestbedStatus[] = [];
  for (const name of names) {
    const state = readState(join(root, name));
    if (state !== undefined) out.push(statusOf(state));
  }
  return out;
}
