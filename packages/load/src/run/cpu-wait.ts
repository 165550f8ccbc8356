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
import { readFileSync, readdirSync } from "node:fs";
import { parseCpuStat, type Throttling } from "@livekit-swarm/testbed";

export interface ThreadTimes {
  readonly cpuNs: number;
  readonly waitNs: number;
}

/** A schedstat file's first two fields (CPU and runnable wait, ns); undefined if unreadable or odd. */
function schedstat(path: string): ThreadTimes | undefined {
  try {
    const [cpu, wait] = readFileSync(path, "utf8").split(" ").map(Number);
    return cpu !== undefined && wait !== undefined && Number.isFinite(cpu) && Number.isFinite(wait)
      ? { cpuNs: cpu, waitNs: wait }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The main thread's CPU and wait so far; undefined off Linux or where the kernel does not say. */
export function mainThreadTimes(): ThreadTimes | undefined {
  return schedstat("/proc/self/schedstat");
}

/** The share of its runnable time between two readings the thread waited for a CPU; undefined when idle. */
export function waitShare(from: ThreadTimes | undefined, to: ThreadTimes | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const cpu = Math.max(0, to.cpuNs - from.cpuNs);
  const wait = Math.max(0, to.waitNs - from.waitNs);
  return cpu + wait > 0 ? wait / (cpu + wait) : undefined;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_S = 100;

/**
 * The CPU of this process's descendants (the browser engine's Chromium and its renderer, GPU and
 * utility processes; an encoder), which `process.cpuUsage()` does not see: a browser run's worker
 * read 0.01 cores while its Chromiums used the machine. Each call returns the CPU seconds its
 * descendants used since the last one: a process new since then counts whole (it started within
 * the window), one that ended since then loses its last part.
 */
export class DescendantsCpu {
  private last = new Map<number, number>();

  constructor(private readonly root = process.pid) {}

  /** CPU seconds since the previous call; undefined off Linux. */
  sample(): number | undefined {
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return undefined;
    }
    const children = new Map<number, number[]>();
    const ticks = new Map<number, number>();
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        // after "pid (comm) ": state ppid ... utime(14th field) stime(15th)
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const pid = Number(entry);
        const ppid = Number(fields[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), pid]);
        ticks.set(pid, Number(fields[11]) + Number(fields[12]));
      } catch {
        // it ended while we looked
      }
    }
    const now = new Map<number, number>();
    const queue = [...(children.get(this.root) ?? [])];
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      queue.push(...(children.get(pid) ?? []));
      const t = ticks.get(pid);
      if (t !== undefined && Number.isFinite(t)) now.set(pid, t);
    }
    let used = 0;
    for (const [pid, t] of now) used += Math.max(0, t - (this.last.get(pid) ?? 0));
    this.last = now;
    return used / TICKS_PER_S;
  }
}

/**
 * Pure: the cpu.stat files that can throttle a process, from its /proc/PID/cgroup: its own cpu
 * cgroup's and each ancestor's up to the root (a quota anywhere above throttles it too), under
 * cgroup v1's cpu controller (`N:cpu,cpuacct:/path`) or, without one, v2's unified hierarchy
 * (`0::/path`). In a container the path is its namespace's `/` and the mount is its own: the same rule.
 */
export function cpuStatPaths(procCgroup: string, root = "/sys/fs/cgroup"): string[] {
  const lines = procCgroup.split("\n").map((l) => l.split(":"));
  const v1 = lines.find((f) => f.length >= 3 && (f[1] ?? "").split(",").includes("cpu"));
  const v2 = lines.find((f) => f.length >= 3 && f[0] === "0" && f[1] === "");
  const found = v1 ?? v2;
  if (found === undefined) return [];
  const base = v1 !== undefined ? `${root}/${v1[1] ?? "cpu"}` : root;
  const path = found.slice(2).join(":");
  const parts = path.split("/").filter(Boolean);
  const paths: string[] = [];
  for (let n = parts.length; n >= 0; n--) paths.push([base, ...parts.slice(0, n), "cpu.stat"].join("/"));
  return paths;
}

/**
 * How often this process's CPU quota ran out: a cgroup CPU limit (a Kubernetes pod's, a container's,
 * a systemd slice's) stops every thread of the group until the next period (100 ms by default), so
 * a generator throttled in many periods sends, receives and times in bursts whatever its event loop
 * says. Each call returns, over the groups that can throttle it, the largest share of active periods
 * since the last call in which the quota ran out; undefined where no group has a quota or the
 * kernel does not say.
 */
export class CpuThrottling {
  private readonly paths: string[];
  private last = new Map<string, Throttling>();

  constructor(procCgroup = readOr("/proc/self/cgroup"), root = "/sys/fs/cgroup") {
    this.paths = cpuStatPaths(procCgroup, root);
    this.read();
  }

  sample(): number | undefined {
    const before = this.last;
    this.read();
    let worst: number | undefined;
    for (const [path, now] of this.last) {
      const then = before.get(path);
      if (then === undefined) continue;
      const periods = now.periods - then.periods;
      if (periods <= 0) continue;
      const share = Math.min(1, Math.max(0, (now.throttled - then.throttled) / periods));
      worst = Math.max(worst ?? 0, share);
    }
    return worst;
  }

  private read(): void {
    const now = new Map<string, Throttling>();
    for (const path of this.paths) {
      const text = readOr(path);
      if (text !== "") now.set(path, parseCpuStat(text));
    }
    this.last = now;
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** /proc/stat's first line: every CPU's time so far, in clock ticks, busy (steal included) and idle. */
export interface MachineTimes {
  readonly busy: number;
  readonly idle: number;
}

/**
 * Pure: the machine's times from /proc/stat's text; undefined when its `cpu` line is not there.
 * Idle is idle + iowait; busy is user, nice, system, irq, softirq and steal (a hypervisor that took
 * the vCPU is a core this machine did not have); guest time is already in user.
 */
export function parseMachineTimes(text: string): MachineTimes | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 5 || f.some((x) => !Number.isFinite(x))) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait };
}

/**
 * How busy the whole machine's cores were between calls (0-1): what a generator starved by other
 * processes (or by LiveKit beside it) meets, which its own figures cannot show. On a 2-core VM the
 * main thread's wait share could not tell a healthy run from one beside two busy loops (72% each);
 * the machine's busy share does: a voice-ai run beside two busy loops read its machine 100% busy
 * and exited 99, blaming LiveKit for 53 of 100 audio tracks that never came.
 */
export class MachineBusy {
  private last: MachineTimes | undefined;

  constructor(private readonly read: () => string = () => readOr("/proc/stat")) {
    this.last = parseMachineTimes(this.read());
  }

  /** The busy share since the previous call; undefined off Linux or when no time passed. */
  sample(): number | undefined {
    const now = parseMachineTimes(this.read());
    const then = this.last;
    this.last = now;
    if (now === undefined || then === undefined) return undefined;
    const busy = now.busy - then.busy;
    const all = busy + now.idle - then.idle;
    return all > 0 ? Math.min(1, Math.max(0, busy / all)) : undefined;
  }
}

/**
 * Every thread of this process together (rtc-node's media and network threads, the event loop):
 * CPU and runnable wait so far, summed from /proc/self/task/<tid>/schedstat; a thread that ended
 * since the last reading takes its share with it. Undefined off Linux.
 */
export function allThreadsTimes(): ThreadTimes | undefined {
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return undefined;
  }
  let cpuNs = 0;
  let waitNs = 0;
  for (const tid of tids) {
    // undefined: it ended while we looked
    const times = schedstat(`/proc/self/task/${tid}/schedstat`);
    if (times === undefined) continue;
    cpuNs += times.cpuNs;
    waitNs += times.waitNs;
  }
  return { cpuNs, waitNs };
}
