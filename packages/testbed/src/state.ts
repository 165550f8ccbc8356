import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { TestbedError } from "./errors.js";
import { tmpdir } from "node:os";
import type { NodeNetwork } from "./netns.js";
import type { TurnTlsListener } from "./configs.js";
import type { ClusterRecord } from "./cluster/config.js";

export type ProcessRole = "livekit" | "redis" | "haproxy" | "prometheus" | "kubernetes";

export interface ProcessRecord {
  readonly role: ProcessRole;
  readonly name: string;
  readonly pid: number;
  /** With pid, identifies the process (see processStartTime). */
  readonly startTime: string | undefined;
  readonly logFile: string;
}

export interface NodeRecord {
  readonly name: string;
  readonly index: number;
  readonly ip: string;
  readonly httpPort: number;
  readonly rtcTcpPort: number;
  readonly rtcUdpPort: number;
  readonly prometheusPort: number;
  readonly turnUdpPort?: number;
  readonly turnTls?: TurnTlsListener;
  readonly configFile: string;
  readonly network?: NodeNetwork;
  /** A cluster testbed's node: the value of its container's marker variable (cluster/pods.ts), by which its process is found. */
  readonly podMarker?: string;
  /** Its pod log (the pod's current one; a new pod after a kill has another). */
  logFile: string;
  pid: number;
  startTime?: string | undefined;
  nodeId?: string;
}

/**
 * Everything `down` needs to clean up after a controller that died: written before each process is
 * started, so that even a half-started testbed can be taken down.
 */
export interface RunState {
  readonly version: 1;
  readonly name: string;
  readonly runDir: string;
  readonly createdAt: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  url: string;
  readonly nodes: NodeRecord[];
  readonly processes: ProcessRecord[];
  readonly namespaces: string[];
  /** Cores each livekit-server may use (a cgroup per node); absent, no cap. */
  nodeCpu?: number;
  /** cpu cgroups created for the nodes, recorded before each is created so `down` removes them. */
  cpuGroups?: string[];
  redis?: { host: string; port: number };
  balancer?: { port: number; statsPort: number };
  prometheus?: { url: string };
  /** The pin of the TURN/TLS certificate (turn-tls.ts), when a node has a TLS listener. */
  turnTlsSpki?: string;
  /** A cluster testbed (`--kubernetes`): its components are processes of role "kubernetes", its nodes pods. */
  cluster?: ClusterRecord;
}

export function defaultRunRoot(): string {
  return process.env.LIVEKIT_SWARM_RUN_ROOT ?? join(tmpdir(), "livekit-swarm", "testbeds");
}

/** A testbed name becomes a folder under the run root, so it is held to a charset that cannot escape it. */
const NAME_CHARS = /^[A-Za-z0-9._-]$/;
const MAX_NAME = 64;
const RULE = `1 to ${MAX_NAME} letters, digits, ".", "_" or "-", starting with a letter or digit, no ".."`;

/**
 * A value in a message: as JSON (a name quoted), control characters and anything outside ASCII
 * (bidi overrides) escaped, cut at `max` characters; a field left out reads "nothing".
 */
export function shown(v: unknown, max = Infinity): string {
  let text: string;
  try {
    text = v === undefined ? "nothing" : JSON.stringify(v);
  } catch {
    text = String(v);
  }
  const escaped = text.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped;
}

/** What is wrong with a testbed name, or undefined when it is fine. */
function nameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  const chars = Array.from(name);
  if (chars.length > MAX_NAME) return `is ${chars.length} characters long`;
  const bad = chars.find((c) => !NAME_CHARS.test(c));
  if (bad !== undefined) return `contains ${shown(bad)}`;
  if (!/^[A-Za-z0-9]/.test(name)) return `starts with ${shown(chars[0] ?? "")}`;
  if (name.includes("..")) return 'contains ".."';
  return undefined;
}

export function checkTestbedName(name: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    const chars = Array.from(name);
    throw new TestbedError(
      "bad-name",
      `testbed name ${shown(chars.length > 40 ? `${chars.slice(0, 40).join("")}...` : name)} ${problem}: use ${RULE} (it names a folder under ${defaultRunRoot()})`,
    );
  }
  return name;
}

/** The run directory of a named testbed: always a direct child of the run root. */
export function runDirFor(name: string, root = defaultRunRoot()): string {
  checkTestbedName(name);
  const dir = resolve(root, name);
  const rel = relative(resolve(root), dir);
  if (rel === "" || rel.startsWith("..") || rel.includes(sep)) {
    throw new TestbedError(
      "bad-name",
      `testbed name ${JSON.stringify(name)} does not resolve inside ${root}`,
    );
  }
  return dir;
}

/** Run directories are private: their state holds the testbed's API secret. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** What `down` leaves of a testbed's state: the folder stays ours to reuse, with its logs. */
export function stoppedStateFile(runDir: string): string {
  return join(runDir, "state.stopped.json");
}

export function stateFile(runDir: string): string {
  return join(runDir, "state.json");
}

export function writeState(state: RunState): void {
  makePrivateDir(state.runDir);
  const file = stateFile(state.runDir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
