/**
 * How long this process's main thread (the event loop that runs every timer, join and stats poll)
 * has run and has waited, runnable, for a CPU: the first two fields of /proc/self/schedstat (ns;
 * the kernel's sched_info, kept whether or not kernel.sched_schedstats is on). A generator starved
 * by other processes shows here first: its event loop may look idle between timers while each
 * timer runs late because another process holds the core. The main thread, not the sum over
 * threads: rtc-node's many short-lived wake-ups wait a few microseconds each for a core even on an
 * idle machine (summed, 46% of their runnable time in a healthy run here), where the main thread
 * waited 2-10% idle and 67% beside two busy loops on its core.
 */
import { readFileSync } from "node:fs";

export interface ThreadTimes {
  readonly cpuNs: number;
  readonly waitNs: number;
}

/** The main thread's CPU and wait so far; undefined off Linux or where the kernel does not say. */
export function mainThreadTimes(): ThreadTimes | undefined {
  try {
    const [cpu, wait] = readFileSync("/proc/self/schedstat", "utf8").split(" ").map(Number);
    return cpu !== undefined && wait !== undefined && Number.isFinite(cpu) && Number.isFinite(wait)
      ? { cpuNs: cpu, waitNs: wait }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The share of its runnable time between two readings the thread waited for a CPU; undefined when idle. */
export function waitShare(from: ThreadTimes | undefined, to: ThreadTimes | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const cpu = Math.max(0, to.cpuNs - from.cpuNs);
  const wait = Math.max(0, to.waitNs - from.waitNs);
  return cpu + wait > 0 ? wait / (cpu + wait) : undefined;
}
