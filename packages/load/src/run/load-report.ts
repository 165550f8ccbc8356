/**
 * A worker process's own load, measured on its side and sent every stats interval as a `load`
 * message (generator-load.ts judges the windows). It runs from the moment the worker has its plan,
 * while its engines load too (those windows flagged `starting`): a worker starved before it could
 * start shows what held it back instead of nothing. Seen in CI, 2026-11-30: a worker capped at 0.15
 * cores had not loaded rtc-node when its 33 s run ended, reported no window, and the run blamed
 * LiveKit for 16 participants that never reached it.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import {
  CpuThrottling,
  DescendantsCpu,
  MachineBusy,
  allThreadsTimes,
  mainThreadTimes,
  waitShare,
} from "./cpu-wait.js";
import type { MediaTicksWindow } from "@livekit-swarm/schema";
import type { WorkerMessage } from "./messages.js";

export class LoadReport {
  private readonly timer: NodeJS.Timeout;
  private starting = true;
  /** Its engines' own media threads (lean's native path), once they are loaded. */
  private mediaTicks: () => MediaTicksWindow | undefined = () => undefined;

  constructor(worker: number, intervalMs: number, send: (message: WorkerMessage) => void) {
    // Chromium (browser engine) and any other child process: their CPU is the generator's too
    const children = new DescendantsCpu();
    children.sample();
    // a CPU limit (a pod's, a container's) starves every thread at once, whatever the event loop says
    const quota = new CpuThrottling();
    // and so do other processes (LiveKit beside it, a busy neighbour) when the machine is full
    const machine = new MachineBusy();
    // how late the event loop runs what is due: a starved process's timers fire late
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    // a window is a starting one if the engines were still loading when it began
    const snapshot = () => ({
      at: Date.now(),
      eventLoop: performance.eventLoopUtilization(),
      cpu: process.cpuUsage(),
      thread: mainThreadTimes(),
      threads: allThreadsTimes(),
      starting: this.starting,
    });
    let load = snapshot();
    this.timer = setInterval(() => {
      const now = snapshot();
      const threadsWait = waitShare(load.threads, now.threads);
      const loopDelayMs = delay.count > 0 ? delay.percentile(99) / 1e6 : undefined;
      delay.reset();
      const windowMs = now.at - load.at;
      const cpuUs =
        now.cpu.user - load.cpu.user + now.cpu.system - load.cpu.system + (children.sample() ?? 0) * 1e6;
      const cpuWait = waitShare(load.thread, now.thread);
      const throttled = quota.sample();
      const machineBusy = machine.sample();
      const mediaTicks = this.mediaTicks();
      send({
        type: "load",
        window: {
          worker,
          t: now.at,
          windowMs,
          eventLoop: performance.eventLoopUtilization(now.eventLoop, load.eventLoop).utilization,
          cpuCores: windowMs > 0 ? cpuUs / 1000 / windowMs : 0,
          ...(cpuWait !== undefined ? { cpuWait } : {}),
          ...(throttled !== undefined ? { throttled } : {}),
          ...(machineBusy !== undefined ? { machineBusy } : {}),
          ...(threadsWait !== undefined ? { threadsWait } : {}),
          ...(loopDelayMs !== undefined ? { loopDelayMs } : {}),
          ...(mediaTicks !== undefined ? { mediaTicks } : {}),
          ...(load.starting ? { starting: true as const } : {}),
        },
      });
      load = now;
    }, intervalMs);
  }

  /**
   * Its engines are loaded: windows that begin from now on are the running worker's, and carry
   * `mediaTicks`' figures (one engine's media thread: lean's; the process has one at most).
   */
  ready(mediaTicks?: () => MediaTicksWindow | undefined): void {
    this.starting = false;
    if (mediaTicks !== undefined) this.mediaTicks = mediaTicks;
  }

  /** The drain has begun: no more windows. */
  stop(): void {
    clearInterval(this.timer);
  }
}
