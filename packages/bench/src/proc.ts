/** CPU and memory accounting from /proc (Linux). */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

interface Stat {
  readonly comm: string;
  readonly ppid: number;
  /** utime + stime, all threads of a process (or one thread, read from task/). */
  readonly ticks: number;
  /** Start time in ticks since boot: with the pid, identifies a process across pid reuse. */
  readonly start: string;
}

/** A process's or thread's stat line; undefined once it is gone. */
function readStat(path: string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  // fields counted from 3 (state): ppid is 4, utime 14, stime 15, starttime 22
  return { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: f[19] ?? "" };
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** A `Name:   N kB` line of a /proc file, in KiB; 0 when the process is gone. */
function kiBIn(file: string, name: string): number {
  try {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"));
    return m?.[1] !== undefined ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function rssKiB(pid: number): number {
  return kiBIn(`/proc/${pid}/status`, "VmRSS");
}

/**
 * Proportional set size: each shared page divided among the processes mapping it. Chromium's dozen
 * processes per browser share most of their pages, which RSS counts once in each (about 4.5 times
 * too much for a browser participant, docs/browser-engine.md); PSS sums to what the tree holds.
 */
function pssKiB(pid: number): number {
  return kiBIn(`/proc/${pid}/smaps_rollup`, "Pss");
}

/** A process and all its descendants now, found through every process's ppid. */
function processTree(rootPid: number): (Stat & { pid: number })[] {
  const children = new Map<number, number[]>();
  const stats = new Map<number, Stat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(`/proc/${name}/stat`);
    if (s === undefined) continue;
    const pid = Number(name);
    stats.set(pid, s);
    const siblings = children.get(s.ppid) ?? [];
    siblings.push(pid);
    children.set(s.ppid, siblings);
  }
  const tree: (Stat & { pid: number })[] = [];
  const queue = stats.has(rootPid) ? [rootPid] : [];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const s = stats.get(pid);
    if (s !== undefined) tree.push({ pid, ...s });
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Machine-wide busy and steal ticks from /proc/stat (busy excludes idle, iowait and steal). */
function readMachine(): { busy: number; steal: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: user + nice + system + irq + softirq, steal };
}

/** A process's first thread: Node's JavaScript (event loop) thread. */
const MAIN_THREAD = "main (JS)";

/** Thread names as the kernel keeps them (15 chars), numbered pool threads folded into one group. */
export function threadLabel(pid: number, tid: number, comm: string): string {
  if (tid === pid) return MAIN_THREAD;
  return comm.replace(/[-_ #]?\d+$/, "").trim() || comm;
}

export type Role = "orchestrator" | "worker" | (string & {});

export interface ThreadGroup {
  readonly role: Role;
  readonly thread: string;
  readonly threads: number;
  readonly cpuS: number;
}

/** What a Sampler saw over its window. */
export interface WindowMeasure {
  readonly windowS: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly treeCpuS: number;
  readonly byRole: Readonly<Record<string, number>>;
  /** Sorted by CPU, most first. */
  readonly threads: readonly ThreadGroup[];
  /**
   * CPU of the busiest single worker's JavaScript thread, seconds: one event loop cannot use more
   * than one core, so a worker can be saturated while the tree's total leaves cores idle.
   */
  readonly busiestWorkerJsCpuS: number;
  readonly serverCpuS: number;
  /** What the rest of the machine used meanwhile (other engineers' tests, mostly), cores. */
  readonly otherCores: number;
  readonly stealCores: number;
}

interface Span {
  from: number;
  to: number;
}

/**
 * CPU of a process tree (and, apart, the server) over a window. Polled every second so that a
 * process or thread that exits mid-window still counts up to its last sighting, and one born
 * mid-window counts from zero. Entries are keyed by pid and start time: pids get reused.
 */
export class Sampler {
  private polls = 0;
  private readonly processes = new Map<string, Span & { role: Role }>();
  private readonly threads = new Map<string, Span & { role: Role; name: string }>();
  private server: Span | undefined;
  private machine: { from: { busy: number; steal: number }; to: { busy: number; steal: number } } | undefined;
  private self: Span | undefined;
  private startMs = 0;
  private endMs = 0;

  constructor(
    private readonly rootPid: number,
    private readonly serverPid: number,
  ) {}

  get pollCount(): number {
    return this.polls;
  }

  poll(): void {
    const first = this.polls === 0;
    const now = Date.now();
    for (const p of processTree(this.rootPid)) {
      const key = `${p.pid}:${p.start}`;
      let entry = this.processes.get(key);
      if (entry === undefined) {
        const role =
          p.pid === this.rootPid ? "orchestrator" : /worker\.js/.test(readCmdline(p.pid)) ? "worker" : p.comm;
        entry = { role, from: first ? p.ticks : 0, to: p.ticks };
        this.processes.set(key, entry);
      }
      entry.to = p.ticks;
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${p.pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        const t = readStat(`/proc/${p.pid}/task/${tid}/stat`);
        if (t === undefined) continue;
        const tkey = `${key}/${tid}:${t.start}`;
        let th = this.threads.get(tkey);
        if (th === undefined) {
          th = {
            role: entry.role,
            name: threadLabel(p.pid, Number(tid), t.comm),
            from: first ? t.ticks : 0,
            to: t.ticks,
          };
          this.threads.set(tkey, th);
        }
        th.to = t.ticks;
      }
    }
    const server = readStat(`/proc/${this.serverPid}/stat`);
    if (server !== undefined) {
      this.server ??= { from: server.ticks, to: server.ticks };
      this.server.to = server.ticks;
    }
    const machine = readMachine();
    this.machine ??= { from: machine, to: machine };
    this.machine.to = machine;
    const usage = process.cpuUsage();
    const self = usage.user + usage.system;
    this.self ??= { from: self, to: self };
    this.self.to = self;
    if (first) this.startMs = now;
    this.endMs = now;
    this.polls++;
  }

  /** Sum of PSS over the tree now, MiB (what the generator's processes hold between them). */
  pssMiB(): number {
    return processTree(this.rootPid).reduce((sum, p) => sum + pssKiB(p.pid), 0) / 1024;
  }

  /** Sum of VmRSS over the tree now, MiB. */
  rssMiB(): number {
    return processTree(this.rootPid).reduce((sum, p) => sum + rssKiB(p.pid), 0) / 1024;
  }

  /** The window between the first and the last poll; undefined before two polls. */
  result(): WindowMeasure | undefined {
    if (this.polls < 2 || this.machine === undefined || this.self === undefined) return undefined;
    const windowS = (this.endMs - this.startMs) / 1000;
    const s = (ticks: number): number => ticks / CLK_TCK;
    const byRole: Record<string, number> = {};
    let tree = 0;
    for (const p of this.processes.values()) {
      const cpu = s(p.to - p.from);
      tree += cpu;
      byRole[p.role] = (byRole[p.role] ?? 0) + cpu;
    }
    const groups = new Map<string, { role: Role; thread: string; threads: number; cpuS: number }>();
    let busiestWorkerJs = 0;
    for (const t of this.threads.values()) {
      if (t.role === "worker" && t.name === MAIN_THREAD)
        busiestWorkerJs = Math.max(busiestWorkerJs, s(t.to - t.from));
      const k = `${t.role}\0${t.name}`;
      const g = groups.get(k) ?? { role: t.role, thread: t.name, threads: 0, cpuS: 0 };
      g.threads++;
      g.cpuS += s(t.to - t.from);
      groups.set(k, g);
    }
    const server = this.server === undefined ? 0 : s(this.server.to - this.server.from);
    const self = (this.self.to - this.self.from) / 1e6;
    const machineBusy = s(this.machine.to.busy - this.machine.from.busy);
    const steal = s(this.machine.to.steal - this.machine.from.steal);
    return {
      windowS,
      startMs: this.startMs,
      endMs: this.endMs,
      treeCpuS: tree,
      byRole,
      threads: [...groups.values()].sort((a, b) => b.cpuS - a.cpuS),
      busiestWorkerJsCpuS: busiestWorkerJs,
      serverCpuS: server,
      otherCores: windowS > 0 ? Math.max(0, machineBusy - tree - server - self) / windowS : 0,
      stealCores: windowS > 0 ? steal / windowS : 0,
    };
  }
}
