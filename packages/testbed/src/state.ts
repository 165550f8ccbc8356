import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { TestbedError } from "./errors.js";
import { tmpdir } from "node:os";
import type { NodeNetwork } from "./netns.js";

export type ProcessRole = "livekit" | "redis" | "haproxy" | "prometheus";

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
  readonly configFile: string;
  readonly logFile: string;
  readonly network?: NodeNetwork;
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
  redis?: { host: string; port: number };
  balancer?: { port: number; statsPort: number };
  prometheus?: { url: string };
}

export function defaultRunRoot(): string {
  return process.env.LIVEKIT_SWARM_RUN_ROOT ?? join(tmpdir(), "livekit-swarm", "testbeds");
}

/** A testbed name becomes a folder under the run root, so it is held to a charset that cannot escape it. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkTestbedName(name: string): string {
  if (!NAME.test(name) || name.includes("..")) {
    const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
    throw new TestbedError(
      "bad-name",
      `testbed name ${shown} is not allowed: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (it names a folder under ${defaultRunRoot()})`,
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
    throw new TestbedError("bad-name", `testbed name ${JSON.stringify(name)} does not resolve inside ${root}`);
  }
  return dir;
}

/** Run directories are private: their state holds the testbed's API secret. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
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

export function readState(runDir: string): RunState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(runDir), "utf8")) as RunState;
  } catch {
    return undefined;
  }
}
