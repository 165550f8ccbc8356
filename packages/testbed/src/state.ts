import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

export function runDirFor(name: string, root = defaultRunRoot()): string {
  return join(root, name);
}

export function stateFile(runDir: string): string {
  return join(runDir, "state.json");
}

export function writeState(state: RunState): void {
  mkdirSync(state.runDir, { recursive: true });
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
