import { statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { messageOf, readHeadSync } from "@livekit-swarm/schema";
import { HOST_PATHS, HOST_SYSCTLS } from "./cluster/config.js";
import { CPU_GROUP_PREFIX } from "./cpu-limit.js";
import { TestbedError } from "./errors.js";
import { shown, stateFile, type RunState } from "./state.js";

/**
 * A testbed's state.json read back. `down` acts on what it names as root: it stops processes, deletes
 * network namespaces and interfaces, removes cgroups, puts sysctls back and removes paths a cluster
 * made. A file edited by hand (or not a testbed's) must not steer any of that, so every field is
 * held to what `up` writes: names to the patterns `up` makes them with, paths inside the run
 * directory or on the cluster's fixed list, numbers to their ranges. Anything else is refused in one
 * line naming the file and the field.
 */

/** Far above any state `up` writes (a 64-node testbed is ~60 KB): a bigger file is not one. */
export const STATE_MAX_BYTES = 4 << 20;
const MAX_NODES = 64;
const MAX_PROCESSES = 512;
const MAX_LIST = 4096;
const ROLES = ["livekit", "redis", "haproxy", "prometheus", "kubernetes"] as const;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,199}$/;
const IFACE_NAME = /^lks[0-9a-f]{1,8}[nhv]\d{1,3}$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const DIGITS = /^\d{1,20}$/;

class Bad extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

type Obj = Record<string, unknown>;

/** `o` without its undefined fields: optional fields are left out, as `up` writes them. */
function compact<T extends object>(o: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A value read from the file, in a message: at most 60 characters, nothing a terminal would act on. */
const shownValue = (v: unknown): string => shown(v, 60);

function object(v: unknown, field: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Bad(field, `expected an object, got ${shownValue(v)}`);
  return v as Obj;
}

function array(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new Bad(field, `expected a list, got ${shownValue(v)}`);
  if (v.length > max) throw new Bad(field, `holds ${v.length} entries, more than a testbed makes (${max})`);
  return v;
}

function text(v: unknown, field: string, max = 4096): string {
  if (typeof v !== "string") throw new Bad(field, `expected a string, got ${shownValue(v)}`);
  if (v.length > max) throw new Bad(field, `is ${v.length} characters long (at most ${max})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(v))
    throw new Bad(field, `holds a control character: ${shownValue(v)}`);
  return v;
}

function matching(v: unknown, field: string, pattern: RegExp, what: string): string {
  const s = text(v, field, 256);
  if (!pattern.test(s)) throw new Bad(field, `${shownValue(s)} is not ${what}`);
  return s;
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new Bad(field, `expected a whole number from ${min} to ${max}, got ${shownValue(v)}`);
  return v;
}

const port = (v: unknown, field: string): number => integer(v, field, 1, 65535);
/** A node's pid: -1 while its pod has none yet (cluster/pod-nodes.ts). */
const pid = (v: unknown, field: string): number => integer(v, field, -1, 1 << 22);

function optional<T>(
  o: Obj,
  key: string,
  field: string,
  read: (v: unknown, field: string) => T,
): T | undefined {
  return o[key] === undefined ? undefined : read(o[key], field === "" ? key : `${field}.${key}`);
}

/** A path inside `dir` (the run directory, or the cluster's), absolute, without "..". */
function inside(dir: string): (v: unknown, field: string) => string {
  return (v, field) => {
    const p = text(v, field);
    const rel = relative(dir, resolve(p));
    if (!isAbsolute(p) || rel.startsWith("..") || isAbsolute(rel))
      throw new Bad(field, `${shownValue(p)} is not inside the testbed's folder ${shownValue(dir)}`);
    return p;
  };
}

function startTime(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : matching(v, field, DIGITS, "a process start time (clock ticks)");
}

function network(v: unknown, field: string): RunState["nodes"][number]["network"] {
  const o = object(v, field);
  const iface = (key: string): string =>
    matching(o[key], `${field}.${key}`, IFACE_NAME, "a name the testbed gives (lks<tag>n|h|v<index>)");
  return {
    namespace: iface("namespace"),
    hostInterface: iface("hostInterface"),
    nodeInterface: iface("nodeInterface"),
    hostIp: matching(
      o.hostIp,
      `${field}.hostIp`,
      /^10\.201\.\d{1,3}\.\d{1,3}$/,
      "a testbed address (10.201.x.y)",
    ),
    nodeIp: matching(
      o.nodeIp,
      `${field}.nodeIp`,
      /^10\.201\.\d{1,3}\.\d{1,3}$/,
      "a testbed address (10.201.x.y)",
    ),
  };
}

function node(v: unknown, field: string, runDir: string): RunState["nodes"][number] {
  const o = object(v, field);
  const tls = optional(o, "turnTls", field, (t, f) => {
    const to = object(t, f);
    return {
      port: port(to.port, `${f}.port`),
      certFile: inside(runDir)(to.certFile, `${f}.certFile`),
      keyFile: inside(runDir)(to.keyFile, `${f}.keyFile`),
    };
  });
  const turnUdpPort = optional(o, "turnUdpPort", field, port);
  const net = optional(o, "network", field, network);
  const name = matching(o.name, `${field}.name`, SAFE_NAME, "a node name");
  const podMarker = optional(o, "podMarker", field, (m, f) => {
    if (m !== `${runDir}#${name}`)
      throw new Bad(f, `expected ${shownValue(`${runDir}#${name}`)}, got ${shownValue(m)}`);
    return m;
  });
  const nodeId = optional(o, "nodeId", field, (m, f) => matching(m, f, SAFE_NAME, "a LiveKit node id"));
  return compact<RunState["nodes"][number]>({
    name,
    index: integer(o.index, `${field}.index`, 0, MAX_NODES - 1),
    ip: matching(o.ip, `${field}.ip`, IPV4, "an IPv4 address"),
    httpPort: port(o.httpPort, `${field}.httpPort`),
    rtcTcpPort: port(o.rtcTcpPort, `${field}.rtcTcpPort`),
    rtcUdpPort: port(o.rtcUdpPort, `${field}.rtcUdpPort`),
    prometheusPort: port(o.prometheusPort, `${field}.prometheusPort`),
    configFile: inside(runDir)(o.configFile, `${field}.configFile`),
    logFile: text(o.logFile, `${field}.logFile`),
    pid: pid(o.pid, `${field}.pid`),
    startTime: startTime(o.startTime, `${field}.startTime`),
    turnUdpPort,
    turnTls: tls,
    network: net,
    podMarker,
    nodeId,
  });
}

function processRecord(v: unknown, field: string): RunState["processes"][number] {
  const o = object(v, field);
  const role = o.role;
  if (!ROLES.includes(role as (typeof ROLES)[number]))
    throw new Bad(`${field}.role`, `expected one of ${ROLES.join(", ")}, got ${shownValue(role)}`);
  return {
    role: role as (typeof ROLES)[number],
    name: matching(o.name, `${field}.name`, SAFE_NAME, "a process name"),
    pid: integer(o.pid, `${field}.pid`, 1, 1 << 22),
    startTime: startTime(o.startTime, `${field}.startTime`),
    logFile: text(o.logFile, `${field}.logFile`),
  };
}

function cluster(v: unknown, field: string, runDir: string): NonNullable<RunState["cluster"]> {
  const o = object(v, field);
  const dir = join(runDir, "cluster");
  if (o.dir !== dir)
    throw new Bad(
      `${field}.dir`,
      `expected ${shownValue(dir)} (the run folder's cluster), got ${shownValue(o.dir)}`,
    );
  const p = object(o.ports, `${field}.ports`);
  const ports = {
    api: port(p.api, `${field}.ports.api`),
    etcdClient: port(p.etcdClient, `${field}.ports.etcdClient`),
    etcdPeer: port(p.etcdPeer, `${field}.ports.etcdPeer`),
    kubelet: port(p.kubelet, `${field}.ports.kubelet`),
    kubeletHealthz: port(p.kubeletHealthz, `${field}.ports.kubeletHealthz`),
    controllerManager: port(p.controllerManager, `${field}.ports.controllerManager`),
    scheduler: port(p.scheduler, `${field}.ports.scheduler`),
  };
  const sysctls = object(o.sysctlsBefore, `${field}.sysctlsBefore`);
  const sysctlsBefore: Record<string, string> = {};
  for (const [name, value] of Object.entries(sysctls)) {
    const f = `${field}.sysctlsBefore.${name}`;
    if (!(HOST_SYSCTLS as readonly string[]).includes(name))
      throw new Bad(f, `is not a setting up changes (${HOST_SYSCTLS.join(", ")})`);
    sysctlsBefore[name] = matching(value, f, /^-?\d{1,20}$/, "a number as /proc/sys holds it");
  }
  const createdPaths = array(o.createdPaths, `${field}.createdPaths`, HOST_PATHS.length).map((c, i) => {
    const f = `${field}.createdPaths[${i}]`;
    if (!(HOST_PATHS as readonly unknown[]).includes(c))
      throw new Bad(f, `${shownValue(c)} is not a path up makes (${HOST_PATHS.join(", ")})`);
    return c as string;
  });
  const flag = (key: string): true | undefined =>
    optional(o, key, field, (b, f) => {
      if (b !== true) throw new Bad(f, `expected true or nothing, got ${shownValue(b)}`);
      return true as const;
    });
  const netnsBefore = optional(o, "netnsBefore", field, (n, f) =>
    array(n, f, MAX_LIST).map((s, i) => matching(s, `${f}[${i}]`, SAFE_NAME, "a network namespace name")),
  );
  const images = optional(o, "images", field, (im, f) => {
    const io = object(im, f);
    return {
      livekit: matching(io.livekit, `${f}.livekit`, SAFE_NAME, "an image name"),
      redis: matching(io.redis, `${f}.redis`, SAFE_NAME, "an image name"),
    };
  });
  const bridge = flag("bridge");
  const runtimeDir = flag("runtimeDir");
  const nftTable = flag("nftTable");
  return compact<NonNullable<RunState["cluster"]>>({
    dir,
    ports,
    server: matching(
      o.server,
      `${field}.server`,
      /^https:\/\/[0-9.]+:\d{1,5}$/,
      "the API server's https://address:port",
    ),
    kubeconfig: inside(dir)(o.kubeconfig, `${field}.kubeconfig`),
    sysctlsBefore,
    createdPaths,
    netnsBefore,
    bridge,
    runtimeDir,
    nftTable,
    images,
  });
}

/** The state `up` wrote in `runDir`, checked field by field; throws Bad naming the first field at fault. */
function runState(v: unknown, runDir: string): RunState {
  const o = object(v, "the file");
  if (o.version !== 1) throw new Bad("version", `expected 1, got ${shownValue(o.version)}`);
  if (typeof o.runDir !== "string" || resolve(o.runDir) !== resolve(runDir))
    throw new Bad(
      "runDir",
      `expected the folder it is in (${shownValue(runDir)}), got ${shownValue(o.runDir)}`,
    );
  const nodes = array(o.nodes, "nodes", MAX_NODES).map((n, i) => node(n, `nodes[${i}]`, runDir));
  const processes = array(o.processes, "processes", MAX_PROCESSES).map((p, i) =>
    processRecord(p, `processes[${i}]`),
  );
  const namespaces = array(o.namespaces, "namespaces", MAX_NODES).map((n, i) =>
    matching(n, `namespaces[${i}]`, IFACE_NAME, "a namespace the testbed makes (lks<tag>n<index>)"),
  );
  const cpuGroups = optional(o, "cpuGroups", "", (g, f) =>
    array(g, f, MAX_NODES).map((s, i) =>
      matching(
        s,
        `cpuGroups[${i}]`,
        new RegExp(`^${CPU_GROUP_PREFIX}[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`),
        `a cpu group the testbed makes (${CPU_GROUP_PREFIX}...)`,
      ),
    ),
  );
  if (cpuGroups?.some((g) => g.includes(".."))) throw new Bad("cpuGroups", 'a group name holds ".."');
  const nodeCpu = optional(o, "nodeCpu", "", (c, f) => {
    if (typeof c !== "number" || !Number.isFinite(c) || c < 0.01 || c > 256)
      throw new Bad(f, `expected cores from 0.01 to 256, got ${shownValue(c)}`);
    return c;
  });
  const redis = optional(o, "redis", "", (r) => {
    const ro = object(r, "redis");
    return {
      host: matching(ro.host, "redis.host", IPV4, "an IPv4 address"),
      port: port(ro.port, "redis.port"),
    };
  });
  const balancer = optional(o, "balancer", "", (b) => {
    const bo = object(b, "balancer");
    return { port: port(bo.port, "balancer.port"), statsPort: port(bo.statsPort, "balancer.statsPort") };
  });
  const prometheus = optional(o, "prometheus", "", (p) => ({
    url: matching(
      object(p, "prometheus").url,
      "prometheus.url",
      /^http:\/\/[0-9.]+:\d{1,5}\/?$/,
      "a Prometheus http://address:port",
    ),
  }));
  const turnTlsSpki = optional(o, "turnTlsSpki", "", (s) =>
    matching(s, "turnTlsSpki", /^[A-Za-z0-9+/=]{1,128}$/, "a certificate pin (base64)"),
  );
  const clusterRecord = optional(o, "cluster", "", (c) => cluster(c, "cluster", runDir));
  return compact<RunState>({
    version: 1,
    name: matching(o.name, "name", /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "a testbed name"),
    runDir: o.runDir,
    createdAt: text(o.createdAt, "createdAt", 64),
    apiKey: text(o.apiKey, "apiKey", 256),
    apiSecret: text(o.apiSecret, "apiSecret", 256),
    url: matching(
      o.url,
      "url",
      /^(?:wss?:\/\/\S{1,250})?$/,
      "a ws:// or wss:// URL (or none, before the nodes are up)",
    ),
    nodes,
    processes,
    namespaces,
    nodeCpu,
    cpuGroups,
    redis,
    balancer,
    prometheus,
    turnTlsSpki,
    cluster: clusterRecord,
  });
}

/** Pure: a state file's text as `up` wrote it in `runDir`, or a TestbedError ("bad-state") naming the field. */
export function parseRunState(content: string, runDir: string, file = join(runDir, "state.json")): RunState {
  const fail = (problem: string): TestbedError =>
    new TestbedError(
      "bad-state",
      `${file}: ${problem}: it is not a testbed's state as \`swarm testbed up\` writes it (edited by hand?); nothing it names was stopped or removed: put the file back or remove what the testbed left by hand (docs/guide/security.md "Hostile files")`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (err) {
    throw fail(`not JSON (${err instanceof Error ? err.message.slice(0, 80) : "unreadable"})`);
  }
  try {
    return runState(parsed, runDir);
  } catch (err) {
    if (err instanceof Bad) throw fail(err.message);
    throw err;
  }
}

/** The text of a state file, refused past STATE_MAX_BYTES; undefined when there is none. */
export function readStateText(file: string): string | undefined {
  let bytes: Buffer;
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new TestbedError("bad-state", `${file}: is not a regular file`);
    size = stat.size;
    bytes = readHeadSync(file, STATE_MAX_BYTES);
  } catch (err) {
    if (err instanceof TestbedError) throw err;
    if (err instanceof Error && "code" in err && err.code === "ENOENT") return undefined;
    throw new TestbedError("bad-state", `${file}: cannot be read (${messageOf(err)})`);
  }
  if (bytes.length > STATE_MAX_BYTES)
    throw new TestbedError(
      "bad-state",
      `${file}: is ${Math.max(size, bytes.length)} bytes, larger than a testbed's state can be (${STATE_MAX_BYTES / (1 << 20)} MiB)`,
    );
  return bytes.toString("utf8");
}

/**
 * The state of the testbed in `runDir`, undefined when it has none. A state file that is not one `up`
 * wrote (too big, not JSON, a field out of its range, a path outside the folder) is refused with a
 * TestbedError ("bad-state") naming the field: `down` acts on what it names as root (state-reader.ts).
 */
export function readState(runDir: string): RunState | undefined {
  const file = stateFile(runDir);
  const text = readStateText(file);
  return text === undefined ? undefined : parseRunState(text, runDir, file);
}
