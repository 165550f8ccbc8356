import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { processStartTime } from "@livekit-swarm/testbed";

/** A process seen by a test: enough to tell later whether that same process is still there. */
export interface SeenProcess {
  readonly pid: number;
  readonly startTime: string;
  /** Its command line, NULs as spaces. */
  readonly cmdline: string;
}

/**
 * Every live descendant of `root` (children, their children...), read from /proc at one moment: the
 * processes a CLI under test started, so a test can check each of them is gone after it exits
 * without counting processes of other tests or engineers on the machine.
 */
export function descendants(root: number): SeenProcess[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // it ended while we looked
    }
  }
  const found: SeenProcess[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    queue.push(...(children.get(pid) ?? []));
    const startTime = processStartTime(pid);
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${String(pid)}/cmdline`, "utf8")
        .replaceAll("\0", " ")
        .trim();
    } catch {
      continue;
    }
    if (startTime !== undefined) found.push({ pid, startTime, cmdline });
  }
  return found;
}

/** The processes of process group `pgid` (a Chromium puppeteer started detached leads its own). */
export function processGroup(pgid: number): number[] {
  try {
    return execFileSync("pgrep", ["-g", String(pgid)], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Chromium's browser processes among `processes` (its renderers and helpers are `--type=` children). */
export function chromiumBrowsers(processes: readonly SeenProcess[]): SeenProcess[] {
  return processes.filter((p) => /chromium/.test(p.cmdline) && !/--type=/.test(p.cmdline));
}
