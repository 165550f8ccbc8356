import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterDown } from "./cluster/down.js";
import { removeCpuGroup } from "./cpu-limit.js";
import { deleteNodeNetwork, namespaceExists } from "./netns.js";
import { isOurProcess, processesMentioning, processStartTime, terminate } from "./processes.js";
import { delayProcesses } from "./user-delay.js";
import { TestbedError } from "./errors.js";
import { stateFile, stoppedStateFile, type ProcessRecord, type RunState } from "./state.js";
import { readState } from "./state-reader.js";

export interface DownReport {
  readonly runDir: string;
  readonly stopped: readonly string[];
  readonly namespacesRemoved: readonly string[];
  /** A cluster testbed's: what was removed from the host and what could not be. */
  readonly cluster?: { readonly removed: readonly string[]; readonly left: readonly string[] };
}

export function liveProcesses(state: RunState): ProcessRecord[] {
  return state.processes.filter((p) => isOurProcess(p.pid, p.startTime));
}

/**
 * Ends every process the testbed started and removes its network namespaces. Works from the run
 * directory alone, so it also cleans up after a controller that was SIGKILLed. Idempotent.
 */
export async function down(runDir: string): Promise<DownReport> {
  let state: RunState | undefined;
  try {
    state = readState(runDir);
  } catch (err) {
    // a state that is not up's steers nothing; what names the folder in its command line is ours
    if (!(err instanceof TestbedError) || err.reason !== "bad-state") throw err;
    const stopped = await stopUnrecorded(runDir);
    throw new TestbedError(
      "bad-state",
      stopped.length > 0
        ? `${err.message} (stopped what names the folder: ${stopped.join(", ")})`
        : err.message,
    );
  }
  if (state === undefined) return { runDir, stopped: [], namespacesRemoved: [] };
  const stopped: string[] = [];
  // the cluster first: its pods run LiveKit and Redis, and only the API server tears them down cleanly
  const cluster = state.cluster !== undefined ? await clusterDown(state) : undefined;
  if (cluster !== undefined) stopped.push(...cluster.stopped);
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
  stopped.push(...(await stopUnrecorded(state.runDir)));
  // a delayer (net.delay in user space) lives inside a node's namespace and would keep it alive:
  // its drill normally stops it, and one whose drill died is stopped here
  for (const ns of state.namespaces)
    for (const pid of delayProcesses({ namespace: ns })) {
      await terminate(pid, processStartTime(pid), 2000);
      stopped.push(`delayer (pid ${pid})`);
    }
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
  for (const group of state.cpuGroups ?? []) await removeCpuGroup(group);
  if (existsSync(stateFile(runDir))) renameSync(stateFile(runDir), stoppedStateFile(runDir));
  // what made the keys is stopped: nothing left in the folder needs them
  forgetSecret(runDir, state.apiSecret);
  if (state.cluster !== undefined) forgetSecret(join(state.cluster.dir, "conf"), state.apiSecret);
  return {
    runDir,
    stopped,
    namespacesRemoved,
    ...(cluster !== undefined ? { cluster: { removed: cluster.removed, left: cluster.left } } : {}),
  };
}

/** Stops the processes whose command line names a file in `runDir` (every testbed process is given one). */
async function stopUnrecorded(runDir: string): Promise<string[]> {
  const stopped: string[] = [];
  await Promise.all(
    processesMentioning(runDir).map(async (p) => {
      await terminate(p.pid, p.startTime, 2000);
      stopped.push(`unrecorded process (pid ${p.pid})`);
    }),
  );
  return stopped;
}

/**
 * A testbed, down: its folder keeps the nodes' logs and its stopped state (what `up` checks the
 * folder against, what a reader checks a run against: processes, namespaces), but no longer any
 * file that holds the secret it made: the nodes' configs are removed and the stopped state's copy
 * reads REDACTED. Files directly in `dir` only; a folder gone meanwhile is no error.
 */
export function forgetSecret(dir: string, secret: string): void {
  if (secret === "" || secret === "REDACTED") return;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile() || !readFileSync(file, "utf8").includes(secret)) continue;
      if (name.startsWith("state"))
        writeFileSync(file, readFileSync(file, "utf8").split(secret).join("REDACTED"));
      else rmSync(file, { force: true });
    } catch {
      // gone meanwhile, or unreadable: left as it is
    }
  }
}
