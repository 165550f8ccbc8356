import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync, readdirSync } from "node:fs";

export interface SpawnedProcess {
  readonly pid: number;
  /** Resolves with the exit code (or signal name) if the process ends while we are watching. */
  readonly exited: Promise<number | string>;
}

/**
 * Starts a process in its own session so that it outlives the controlling process (the testbed's
 * `down` ends it later from the run directory's state), with stdout and stderr appended to `logFile`.
 */
export function spawnDetached(
  command: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): SpawnedProcess {
  // 0600: a log can name rooms, identities and ports; nothing in it is for other local users
  const fd = openSync(logFile, "a", 0o600);
  try {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd], env });
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => {
        resolve(code ?? signal ?? "unknown");
      });
      child.once("error", (err) => {
        resolve(err.message);
      });
    });
    child.unref();
    if (child.pid === undefined) {
      return { pid: -1, exited };
    }
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/**
 * The kernel's start time of `pid` (clock ticks since boot, /proc/PID/stat field 22). With the pid it
 * identifies one process for good: a pid reused later has another start time. Command lines will not
 * do, since redis-server rewrites its own.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the process is alive and running, stopped (SIGSTOP: state T), or gone. */
export function processRunState(pid: number, startTime: string | undefined): "running" | "stopped" | "gone" {
  if (!isOurProcess(pid, startTime)) return "gone";
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state === "T" || state === "t" ? "stopped" : "running";
  } catch {
    return "gone";
  }
}

/** True when the process that had `startTime` is still alive (not a zombie) under `pid`. */
export function isOurProcess(pid: number, startTime: string | undefined): boolean {
  return startTime !== undefined && pid > 0 && processStartTime(pid) === startTime;
}

/**
 * Processes whose command line names a file inside `dir` (every testbed process is given its config
 * or data path there). Finds what a controller started but died before recording: a spawn and the
 * state write that follows it are not atomic.
 */
export function processesMentioning(dir: string): { pid: number; startTime: string | undefined }[] {
  const marker = `${dir.replace(/\/$/, "")}/`;
  const found: { pid: number; startTime: string | undefined }[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(marker)) {
        const startTime = processStartTime(pid);
        if (startTime !== undefined) found.push({ pid, startTime });
      }
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends SIGTERM, waits up to `graceMs` for the process to go, then SIGKILLs it. A process that is not
 * ours any more (gone, or its pid reused by something else) is left alone.
 */
export async function terminate(pid: number, startTime: string | undefined, graceMs: number): Promise<void> {
  if (!isOurProcess(pid, startTime)) return;
  signal(pid, "SIGCONT"); // a frozen (SIGSTOPped) process cannot act on SIGTERM
  signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(pid, startTime)) return;
    await sleep(50);
  }
  signal(pid, "SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && isOurProcess(pid, startTime)) await sleep(20);
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** The last `n` non-empty lines of a log file, for error messages. */
export function tailLines(file: string, n: number): string[] {
  try {
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    return lines.slice(-n);
  } catch {
    return [];
  }
}
