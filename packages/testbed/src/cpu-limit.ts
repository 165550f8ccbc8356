/**
 * CPU caps through cgroup v1's cpu controller (CFS quota), so that on a small machine the
 * livekit-server under test saturates before the load generator does. Groups are named
 * `lkswarm-...` and recorded in the run state before they are created, so `down` removes them.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TestbedError } from "./errors.js";

const CPU_ROOT = "/sys/fs/cgroup/cpu";
const PERIOD_US = 100_000;
/** Every group we create starts with this, so a leftover check can find them. */
export const CPU_GROUP_PREFIX = "lkswarm-";

export function cpuGroupPath(group: string): string {
  return join(CPU_ROOT, group);
}

/** Pure: a cores value (0.25 = a quarter of one core) as a CFS quota over a 100 ms period. */
export function quotaUs(cores: number): number {
  if (!Number.isFinite(cores) || cores < 0.01 || cores > 256) {
    throw new TestbedError(
      "bad-option",
      `a CPU cap must be between 0.01 and 256 cores, got ${String(cores)} (e.g. 0.5 for half a core)`,
    );
  }
  return Math.round(cores * PERIOD_US);
}

/** Refuses, before anything starts, a cap this host cannot apply: not root, or no cgroup v1 cpu controller. */
export function checkCpuCap(cores: number): number {
  const quota = quotaUs(cores);
  if (process.getuid?.() !== 0) {
    throw new TestbedError(
      "needs-root",
      "a CPU cap (--node-cpu) needs root (cgroups): run as root or drop it",
    );
  }
  if (!existsSync(join(CPU_ROOT, "cpu.cfs_quota_us"))) {
    throw new TestbedError(
      "bad-option",
      `a CPU cap needs the cgroup v1 cpu controller at ${CPU_ROOT}, which this host does not have: drop the CPU cap`,
    );
  }
  return quota;
}

/** Creates (or re-caps) a cpu cgroup of `cores` cores. */
export function createCpuGroup(group: string, cores: number): void {
  const quota = checkCpuCap(cores);
  const dir = cpuGroupPath(group);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
  writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
}

/** Moves a process (all its threads) into the group. */
export function moveToCpuGroup(group: string, pid: number): void {
  writeFileSync(join(cpuGroupPath(group), "cgroup.procs"), String(pid));
}

/**
 * Removes the group. Any process still in it is moved to the root group first, so a group never
 * outlives `down`. A process that has just been killed keeps its group busy (EBUSY) until it is
 * reaped, which for a detached node whose parent exited is up to its new parent: measured, a
 * moment after SIGTERM; so EBUSY is retried for a few seconds.
 */
export async function removeCpuGroup(group: string, timeoutMs = 10_000): Promise<void> {
  const dir = cpuGroupPath(group);
  const deadline = Date.now() + timeoutMs;
  while (existsSync(dir)) {
    for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
      try {
        writeFileSync(join(CPU_ROOT, "cgroup.procs"), pid);
      } catch {
        // it exited meanwhile
      }
    }
    try {
      rmdirSync(dir);
    } catch (err) {
      const busy = err instanceof Error && "code" in err && err.code === "EBUSY";
      if (!busy || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/** Our cpu groups present on this host now (a leftover check). */
export function cpuGroups(): string[] {
  if (!existsSync(CPU_ROOT)) return [];
  return readdirSync(CPU_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith(CPU_GROUP_PREFIX))
    .map((e) => e.name);
}

/** Pure: the cores a CFS quota allows, from cpu.cfs_quota_us and cpu.cfs_period_us; undefined when unlimited. */
export function coresOfQuota(quotaText: string, periodText: string): number | undefined {
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (!Number.isFinite(quota) || quota <= 0 || !Number.isFinite(period) || period <= 0) return undefined;
  return quota / period;
}

/** The tightest CPU quota over a process: its cpu cgroup's or an ancestor's. */
export interface CpuCap {
  readonly cores: number;
  /** The group's path under the cpu hierarchy, e.g. /lkswarm-x-node1. */
  readonly group: string;
}

/**
 * The cores a process may use under its cpu cgroup (and its ancestors'), or undefined when no
 * quota applies or cgroup v1 is absent. Reads /proc/PID/cgroup.
 */
export function cpuCapOf(pid: number | "self"): CpuCap | undefined {
  let path: string | undefined;
  try {
    const line = readFileSync(`/proc/${String(pid)}/cgroup`, "utf8")
      .split("\n")
      .find((l) => l.split(":")[1]?.split(",").includes("cpu") === true);
    path = line?.split(":")[2];
  } catch {
    return undefined;
  }
  if (path === undefined) return undefined;
  let cap: CpuCap | undefined;
  for (let dir = path; ; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
    try {
      const cores = coresOfQuota(
        readFileSync(join(CPU_ROOT, dir, "cpu.cfs_quota_us"), "utf8"),
        readFileSync(join(CPU_ROOT, dir, "cpu.cfs_period_us"), "utf8"),
      );
      if (cores !== undefined && (cap === undefined || cores < cap.cores)) cap = { cores, group: dir };
    } catch {
      // not mounted here, or the group went away
    }
    if (dir === "/") break;
  }
  return cap;
}

/** CFS periods of a group so far, and how many of them it was throttled in (its quota ran out). */
export interface Throttling {
  readonly periods: number;
  readonly throttled: number;
}

/** Pure: nr_periods and nr_throttled from a cpu.stat text. */
export function parseCpuStat(text: string): Throttling {
  const field = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return { periods: field("nr_periods"), throttled: field("nr_throttled") };
}

export function throttlingOf(group: string): Throttling | undefined {
  try {
    return parseCpuStat(readFileSync(join(CPU_ROOT, group, "cpu.stat"), "utf8"));
  } catch {
    return undefined;
  }
}
