import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cpuGroups, isOurProcess, processesMentioning, type RunState } from "@livekit-swarm/testbed";

/** What a stopped testbed left behind: live processes it had started, its network namespaces and cpu cgroups. */
export function leftovers(runDir: string): string[] {
  const state = JSON.parse(readFileSync(join(runDir, "state.stopped.json"), "utf8")) as RunState;
  const alive = [
    ...state.processes,
    ...state.nodes.map((n) => ({ name: n.name, pid: n.pid, startTime: n.startTime })),
  ]
    .filter((p) => isOurProcess(p.pid, p.startTime))
    .map((p) => `process ${p.name} (pid ${p.pid})`);
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  const nsLeft = state.namespaces.filter((ns) => namespaces.includes(ns)).map((ns) => `netns ${ns}`);
  // also what was started but never recorded: anything still naming a file in the run directory
  const unrecorded = processesMentioning(runDir).map((p) => `unrecorded process (pid ${p.pid})`);
  const groups = cpuGroups();
  const groupsLeft = (state.cpuGroups ?? []).filter((g) => groups.includes(g)).map((g) => `cpu cgroup ${g}`);
  return [...alive, ...unrecorded, ...nsLeft, ...groupsLeft];
}
