/**
 * A run in a child process of its own, as a bench point and a capacity step both run one: spawned
 * with its spec as its one argument and the server's secrets in its environment, its standard
 * error kept in a log, its point events (progress.ts) followed, and ended with SIGINT (it drains and
 * reports) then SIGKILL after a grace. One runner, so the two measure their runs alike.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunSummary } from "@livekit-swarm/load";
import { parsePointEvent } from "./progress.js";

/** Where the run's participants go; the secrets reach the child through its environment only. */
export interface RunProcessTarget {
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

export interface RunExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** How a run ended, in one word for a message: its exit code, else the signal that ended it. */
export function exitWord(exit: RunExit): string {
  return String(exit.code ?? exit.signal ?? "?");
}

/** What the run has said so far, from its point events. */
export class RunWatch {
  /** Epoch ms at which its clock started (the first progress event's). */
  startedAtMs: number | undefined;
  rampMs: number | undefined;
  /** Participants the run planned (its `started` event). */
  participants = 0;
  workers: number | undefined;
  /** When joins plus failures first reached the plan (this process's clock). */
  allInAtMs: number | undefined;
  joined = 0;
  summary: RunSummary | undefined;

  onLine(line: string): void {
    const event = parsePointEvent(line);
    if (event === undefined) return;
    switch (event.type) {
      case "started":
        this.rampMs = event.rampMs;
        this.participants = event.participants;
        this.workers = event.workers;
        break;
      case "progress":
        this.startedAtMs ??= event.startedAtMs;
        this.joined = event.joined;
        if (this.allInAtMs === undefined && event.joined + event.failed >= event.planned)
          this.allInAtMs = Date.now();
        break;
      case "ended":
        this.workers = event.workers;
        this.summary = event.summary;
        break;
    }
  }
}

export class RunProcess {
  readonly watch = new RunWatch();
  /** Set once it exited. */
  exit: RunExit | undefined;
  readonly exited: Promise<RunExit>;
  private readonly logs: WriteStream[];

  private constructor(
    private readonly child: ChildProcess & { readonly pid: number },
    stderrLog: string,
    progressLog: string | undefined,
  ) {
    const stderr = createWriteStream(stderrLog);
    child.stderr?.pipe(stderr);
    const progress = progressLog !== undefined ? createWriteStream(progressLog) : undefined;
    this.logs = progress !== undefined ? [stderr, progress] : [stderr];
    if (child.stdout !== null)
      createInterface({ input: child.stdout }).on("line", (line) => {
        progress?.write(`${line}\n`);
        this.watch.onLine(line);
      });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /**
   * Starts `script` with `spec` (JSON) as its argument; undefined when no process started. Its
   * standard error goes to `stderrLog`, its stdout's lines to `progressLog` when given.
   */
  static start(
    script: string,
    spec: unknown,
    target: RunProcessTarget,
    logs: { readonly stderr: string; readonly progress?: string },
  ): RunProcess | undefined {
    const child = spawn(process.execPath, [script, JSON.stringify(spec)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        LIVEKIT_URL: target.url,
        LIVEKIT_API_KEY: target.apiKey,
        LIVEKIT_API_SECRET: target.apiSecret,
      },
    });
    const pid = child.pid;
    if (pid === undefined) return undefined;
    return new RunProcess(Object.assign(child, { pid }), logs.stderr, logs.progress);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Waits, polling every 200 ms, until `cond` holds, the run exits, `signal` aborts or the deadline passes. */
  async until(cond: () => boolean, deadlineMs: number, signal: AbortSignal): Promise<void> {
    while (!cond() && this.exit === undefined && !signal.aborted && Date.now() < deadlineMs) await sleep(200);
  }

  /** SIGINT (it drains and reports), SIGKILL if it has not exited within `graceMs`; resolves once it exited. */
  async end(graceMs: number): Promise<RunExit> {
    if (this.exit === undefined) this.child.kill("SIGINT");
    const killer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(killer);
    return exit;
  }

  /** Closes its logs (once it exited, or is about to be left). */
  closeLogs(): void {
    for (const log of this.logs) log.end();
  }
}
