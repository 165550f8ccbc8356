/**
 * Whether the swarm itself kept up: each worker process reports, every stats interval, how busy its
 * main thread's event loop was and how much CPU the process used. A worker whose event loop is full
 * runs its timers late: the lean pacer sends late and in bursts, received packets wait, stats polls
 * lag. Jitter, loss and join times then read worse (or the server, sent less, looks better) for
 * reasons that are the generator's, not the server's, and a verdict on them would blame the wrong
 * side. Pure: the worker measures, the orchestrator collects, this judges.
 */
import {
  WORKER_LATE_TICK_MS,
  WORKER_SATURATED_EVENT_LOOP,
  type WorkerLoadWindow,
} from "@livekit-swarm/schema";

/** One worker over one stats interval (the exporter's gauge reads the same windows). */
export type GeneratorWindow = WorkerLoadWindow;

/** A busier event loop than this is full (schema's WORKER_SATURATED_EVENT_LOOP). */
export const EVENT_LOOP_SATURATED = WORKER_SATURATED_EVENT_LOOP;

/** A worker is saturated when this share of its hold windows (and at least two) were full. */
export const SATURATED_SHARE = 0.25;

/**
 * A window in which a worker's main thread waited for a CPU at least as long as it ran (half its
 * runnable time or more) is a starved window: every timer it ran, ran late by about as long again.
 */
export const CPU_STARVED_WAIT_SHARE = 0.5;

/** A worker is starved when this share of its hold windows (and at least two) were starved. */
export const STARVED_SHARE = 0.5;

/**
 * A window in which the worker's CPU quota (a cgroup limit: a pod's, a container's) ran out in this
 * share of its CFS periods or more is a throttled window: each time, every thread of the worker
 * stood still until the next period (100 ms by default), media and timers alike. Measured: a worker
 * of 20 native participants capped at 0.2 cores ran out in all of its periods, joined in 4.6 s and
 * received none of its 32 tracks, with its event loop 35% busy; uncapped it used 0.75 cores.
 */
export const THROTTLED_PERIODS = 0.2;

/**
 * The swarm's processes together (workers, and the browser engine's Chromiums in their worker's
 * figure) using this share of the machine's cores or more, mean over the hold, used the machine up:
 * nothing was left for their own bursts, and every packet, timer and page waited its turn. Seen: 5
 * browser rooms of 1+1 on 2 cores used 1.83 of them; a participant still waiting for its Chromium when
 * the run ended read as LiveKit's "never joined" (exit 99), round trips 20 ms p50 on a wire of 0.1.
 */
export const MACHINE_FULL_SHARE = 0.85;

/**
 * A window in which the machine's cores were this busy or more (every process: LiveKit beside the
 * swarm, a neighbour, steal; cpu-wait.ts MachineBusy) is a crowded window. Crowding alone is not
 * starvation: a small run beside two busy loops got the CPU it needed (0.21 cores either way, every
 * track received, its event loop's p99 delay 16-20 ms against 15 alone). A worker is starved by the
 * machine when it is crowded in STARVED_SHARE of its hold windows (and at least two) and its event
 * loop ran what was due LATE_LOOP_MS late or more (p99) in as many: voice-ai beside two busy loops,
 * 100% busy, p99 delay 81 ms mean and 137 max, 36 of 100 audio tracks never came (alone: 92% busy,
 * 35 and 49 ms, every track). Crowded and on time, LiveKit's failures stay LiveKit's: a node
 * killed in a run beside a neighbour's image build (machine 100% busy, the loop late in one window
 * of three) is LiveKit's 99, not the generator's 2.
 */
export const MACHINE_CROWDED_BUSY = 0.95;

/** An event loop whose p99 delay over a window reached this ran late (see MACHINE_CROWDED_BUSY). */
export const LATE_LOOP_MS = 50;

/**
 * A worker on a crowded machine (MACHINE_CROWDED_BUSY in STARVED_SHARE of its windows after its
 * engines loaded) whose event loop's p99 delay, averaged over those crowded windows, reached this
 * is starved too, though no two windows reached LATE_LOOP_MS. Not judged in a run where a
 * participant's link broke (a reconnect, a drop): a node killed beside a busy neighbour stays
 * LiveKit's failure, as for rtc-node's stalls. Seen in clean-clone suite runs: voice-ai beside
 * four busy loops (2026-12-01: the machine 100% busy in 3 of 3 windows, the loop's p99 40 ms mean
 * and 67 max, one window late)
 * and beside two (2026-11-30: at most 42 ms) exited 0 with round trips of 126 ms p50 and 660 ms p95,
 * and 479 ms p95, on loopback, 0.79% loss and 7.65% concealed where none was injected; the same
 * four loops here read 33 ms mean, 38 max. Healthy crowded runs read 16-20 ms (a small run beside
 * two busy loops, 15 ms alone); voice-ai alone is not crowded (69-92% busy) whatever its loop
 * reads. 25 ms sits between, 1.25x above the one and 1.3x below the other.
 */
export const CROWDED_SLOW_LOOP_MS = 25;

/**
 * A window in which the native media thread (lean's native path) ran its ticks this late or more
 * (p99) is a late-ticks window: one tick in a hundred sent every native audio publisher's packets
 * at least half a 20 ms frame late, and the subscribers read the generator's lateness as the
 * network's jitter. The thread is woken by its own timer, so neither the event loop's delay nor the
 * machine's busy share shows it. Measured (bench/results.md, "the native media thread's late
 * ticks", 30 audio rooms of 1+4 on one worker): alone, p99 0 ms in 11 of 11 windows, the latest
 * 2 ms; beside three busy loops (100% busy), 10 ms or more in 4 of 11, mean 8.6 ms, the latest 33
 * (kept up, audio jitter p95 6.4 ms against 1.7 alone); a real-time neighbour holding its core 40 ms
 * of every 80 (starved.e2e), 36 ms mean, every window, the machine 28% busy. An idle thread during a
 * whole suite run read 1-7 ms in most 2 s windows and 10 or more in 7 of 50. The alert uses the same
 * line (schema's WORKER_LATE_TICK_MS).
 */
export const LATE_TICK_MS = WORKER_LATE_TICK_MS;

/**
 * Late-ticks windows a worker needs, beside half its windows with ticks, to be judged: a quiet
 * machine's thread has a window at the line now and then (10 ms or more in 7 of 50 idle windows
 * during a suite run), so a short run's two of three happen by chance: a clean-clone run, 5 audio
 * rooms for 20 s, the machine 17% busy, read 2 of 3 windows late (mean 11 ms) while its subscribers'
 * jitter p95 was 3.9 ms, and was called inconclusive. Three of three by chance is about 0.3%.
 */
export const LATE_TICK_WINDOWS = 3;

/**
 * rtc-node's own watchdog (livekit's rtc_session): a signal, WebRTC, engine or session event its Rust
 * side took over 10 s to handle, logged to the worker's stderr (workers.log). Alone not judged: 8
 * of them in a run of 60 native participants on one core, but also one in a healthy run of 8 behind
 * 50 ms +- 12 ms of delay (delay-fidelity.e2e, 2026-11-28), so some handler waits on the network
 * and a stall is not always the generator's. See STALLED_EVENTS for when they are.
 */
const SLOW_EVENT = /\b(signal_event|rtc_event is|engine_event is|session_event is) taking too much time\b/;

/**
 * This many rtc-node stalls (SLOW_EVENT) in a run whose machine was crowded (MACHINE_CROWDED_BUSY in
 * STARVED_SHARE of a worker's hold windows): the generator's own runtime stood still for over 10 s,
 * again and again, while other processes held the cores. Its event loop need not be late: voice-ai
 * beside two busy loops (2026-11-29, a clean-clone suite run and CI alike) read the machine 100% busy,
 * the loop's p99 delay at most 43 ms (under LATE_LOOP_MS; the same run alone read 49 ms), round trips
 * 253 ms p95 on loopback, 7 stalls, and 29 of 100 audio tracks never received: the run blamed
 * LiveKit (exit 99). A 0.15-core quota read 16 stalls; a healthy run behind 50 ms of delay, 1; of
 * the 8 other runs whose generator line that suite's log shows, none. Not judged in a run where a
 * participant's link broke (a reconnect, a drop): rtc-node's handlers wait on the reconnect, and a
 * node killed beside a busy neighbour is LiveKit's failure, not the generator's.
 */
export const STALLED_EVENTS = 2;

/** Pure: how many events rtc-node said it took over 10 s to handle, in a stretch of workers.log. */
export function slowEvents(log: string): number {
  let n = 0;
  for (const line of log.split("\n")) if (SLOW_EVENT.test(line)) n++;
  return n;
}

/**
 * Whether starvation fails the run. Not yet: on this project's 2-core VM, run delay is dominated by
 * waking an idle vCPU, so a healthy smoke run read 72% on its worker's main thread (46% summed over
 * its threads) against 72% with two busy loops pinned on its core: the figure is reported (the
 * generator line, summary.json) but cannot tell a starved generator from a healthy one here.
 * LKSWARM_JUDGE_CPU_WAIT=1 judges it, for a machine where it can.
 */
export const JUDGE_CPU_STARVATION = process.env.LKSWARM_JUDGE_CPU_WAIT === "1";

export interface WorkerLoad {
  /** The shard it ran in, in a merged sharded run (`swarm merge`). */
  readonly shard?: number;
  readonly worker: number;
  /** Windows after the ramp. */
  readonly windows: number;
  /**
   * The span of its windows after the ramp, epoch ms: the start of the first and the end of the
   * last, back to back, which `meanCpuCores` averages (the event loop's means leave out windows that
   * began while its engines loaded, the ticks' those without ticks). The hold's first seconds can
   * fall in a window that began in the ramp, which is left out (a browser run's Chromiums still
   * joining, at three times the cores of the rest); a figure held against another source is read
   * over this span. Absent with no window.
   */
  readonly fromMs?: number;
  readonly toMs?: number;
  /**
   * Of them, windows that began while its engines were still loading (the window's `starting`):
   * their CPU is judged (a quota, a crowded machine), their event loop is not (loading blocks it by
   * design); absent when none.
   */
  readonly startingWindows?: number;
  /**
   * Its engines had not finished loading when the run ended, so none of its participants began to
   * join: it did not keep up, whatever its windows say (a worker capped at 0.15 cores, CI).
   */
  readonly unstarted?: true;
  readonly meanEventLoop: number;
  readonly maxEventLoop: number;
  readonly saturatedWindows: number;
  readonly meanCpuCores: number;
  /** Its event loop full in SATURATED_SHARE of the hold's windows (`loopWindows`). */
  readonly saturated: boolean;
  /**
   * Share of its main thread's runnable time spent waiting for a CPU, mean over the hold's windows
   * (the windows' `cpuWait`); absent where the kernel does not say.
   */
  readonly meanCpuWait?: number;
  /** Windows in which it waited CPU_STARVED_WAIT_SHARE of its runnable time or more. */
  readonly starvedWindows?: number;
  /** Starved of CPU by the rest of the machine in STARVED_SHARE of the hold's windows. */
  readonly starved?: boolean;
  /** Mean over the hold's windows of the share of CFS periods its CPU quota ran out in; absent without a quota. */
  readonly meanThrottled?: number;
  /** Windows in which its quota ran out in THROTTLED_PERIODS of the periods or more. */
  readonly throttledWindows?: number;
  /** Held back by its CPU quota in STARVED_SHARE of the hold's windows (and at least two). */
  readonly throttled?: boolean;
  /**
   * The cores of the machine it ran on (the run's, its shard's) and whether the run's workers
   * together used MACHINE_FULL_SHARE of them or more, mean over the hold; absent where not known.
   */
  readonly machine?: { readonly cores: number; readonly usedCores: number; readonly full: boolean };
  /** Mean over the hold's windows of the machine's busy share; absent where not measured. */
  readonly meanMachineBusy?: number;
  /** Windows in which the machine was MACHINE_CROWDED_BUSY busy or more. */
  readonly crowdedWindows?: number;
  /** The machine crowded in STARVED_SHARE of the hold's windows (and at least two). */
  readonly crowded?: boolean;
  /** Crowded windows in which its event loop's p99 delay reached LATE_LOOP_MS. */
  readonly lateCrowdedWindows?: number;
  /**
   * Mean of the event loop's p99 delay over the crowded windows after its engines loaded (ms), and
   * how many there were; absent when none.
   */
  readonly meanCrowdedLoopDelayMs?: number;
  readonly crowdedLoopWindows?: number;
  /**
   * Crowded in STARVED_SHARE of the hold's `loopWindows` (and at least two), its loop's p99
   * CROWDED_SLOW_LOOP_MS late on their mean, and no participant's link broken: starved by the machine.
   */
  readonly crowdedSlow?: boolean;
  /** Crowded and late in STARVED_SHARE of the hold's `loopWindows` (and at least two): starved by the machine. */
  readonly crowdedLate?: boolean;
  /** Mean over the hold's windows of all its threads' CPU wait share; absent where not measured. */
  readonly meanThreadsWait?: number;
  /** Mean and max over the hold's windows of the event loop's p99 delay, ms; absent where not measured. */
  readonly meanLoopDelayMs?: number;
  readonly maxLoopDelayMs?: number;
  /**
   * Hold windows in which its native media thread ran ticks (`mediaTicks`), and of them those whose
   * p99 lateness reached LATE_TICK_MS; the mean of the windows' p99 and the latest tick, whole ms;
   * absent where no such thread ran.
   */
  readonly mediaTickWindows?: number;
  readonly lateTickWindows?: number;
  readonly meanTickLateP99Ms?: number;
  readonly maxTickLateMs?: number;
  /**
   * The thread's own send jitter (RFC 3550's estimator over its ticks' lateness, each window's at
   * its end), mean and max over the hold's windows that carry it, ms: what the subscribers' jitter
   * holds of the generator's own timing. Absent where no such thread ran.
   */
  readonly meanSendJitterMs?: number;
  readonly maxSendJitterMs?: number;
  /**
   * Its native media thread's ticks late in STARVED_SHARE of `mediaTickWindows` (and at least
   * LATE_TICK_WINDOWS): of the windows in which it ran ticks with a stream to send, not of the hold's.
   */
  readonly ticksLate?: boolean;
}

export interface GeneratorLoad {
  /** Per worker, in worker order; a worker with no window after the ramp is absent unless `unstarted`. */
  readonly workers: readonly WorkerLoad[];
  /**
   * Events rtc-node took over 10 s to handle (`slowEvents`), over every worker; absent where not
   * counted (a run of an older version).
   */
  readonly slowEvents?: number;
  /**
   * rtc-node stalled STALLED_EVENTS times or more while the machine was crowded (a worker's
   * `crowded`): absent when it did not.
   */
  readonly stalled?: true;
  /**
   * Share of the CFS periods over the whole run in which the CPU quota of the swarm's own cgroup
   * (the orchestrator's, which its workers share: a pod's, a container's) ran out, 0-1; absent
   * without a quota, and from merged runs. What held back a worker that never reported a window.
   */
  readonly quotaRanOut?: number;
  /**
   * Any worker unstarted, saturated (its event loop full), throttled, its machine used up or
   * crowded while its loop ran late (`crowdedLate`, `crowdedSlow`), or starved (when judged), or
   * rtc-node stalled: it did not keep up.
   */
  readonly saturated: boolean;
}

/** Whether rtc-node's stalls on a crowded machine count against the generator (STALLED_EVENTS). */
function stalledOn(workers: readonly WorkerLoad[], slow: number | undefined, linksLost: number): boolean {
  return linksLost === 0 && (slow ?? 0) >= STALLED_EVENTS && workers.some((w) => w.crowded === true);
}

/**
 * The hold's windows (those that end a whole window after `holdStartMs`), per worker. `linksLost`:
 * the participants' reconnects and drops over the run, which keep rtc-node's stalls from being
 * judged (STALLED_EVENTS). `unstarted`: workers whose engines had not loaded when the run ended;
 * `quotaRanOut`: the swarm's cgroup quota over the run (GeneratorLoad's).
 */
export function generatorLoad(
  windows: readonly GeneratorWindow[],
  holdStartMs: number,
  slow?: number,
  machineCores?: number,
  linksLost = 0,
  unstarted: readonly number[] = [],
  quotaRanOut?: number,
): GeneratorLoad {
  const fold = new GeneratorLoadFold(holdStartMs);
  for (const w of windows) fold.add(w);
  return fold.load(slow, machineCores, linksLost, unstarted, quotaRanOut);
}

/** A sum and a count: a mean over the windows that measured it. */
class Mean {
  n = 0;
  sum = 0;
  add(v: number | undefined): void {
    if (v === undefined) return;
    this.n += 1;
    this.sum += v;
  }
  get value(): number {
    return this.n === 0 ? 0 : this.sum / this.n;
  }
}

/** One worker's hold windows, folded: what its WorkerLoad is made of, in a few numbers. */
class WorkerFold {
  windows = 0;
  fromMs = Infinity;
  toMs = -Infinity;
  startingWindows = 0;
  readonly eventLoop = new Mean();
  maxEventLoop = -Infinity;
  saturatedWindows = 0;
  readonly cpuCores = new Mean();
  readonly cpuWait = new Mean();
  starvedWindows = 0;
  readonly throttled = new Mean();
  throttledWindows = 0;
  readonly machineBusy = new Mean();
  crowdedWindows = 0;
  lateCrowdedWindows = 0;
  readonly crowdedLoopDelayMs = new Mean();
  readonly threadsWait = new Mean();
  readonly loopDelayMs = new Mean();
  maxLoopDelayMs = -Infinity;
  readonly tickLateP99Ms = new Mean();
  lateTickWindows = 0;
  maxTickLateMs = 0;
  readonly sendJitterMs = new Mean();
  maxSendJitterMs = 0;

  add(w: GeneratorWindow): void {
    this.windows += 1;
    this.fromMs = Math.min(this.fromMs, w.t - w.windowMs);
    this.toMs = Math.max(this.toMs, w.t);
    // its CPU is the worker's whatever it was doing; its event loop, while engines load, is not judged
    const loop = w.starting !== true;
    if (!loop) this.startingWindows += 1;
    if (loop) {
      this.eventLoop.add(w.eventLoop);
      this.maxEventLoop = Math.max(this.maxEventLoop, w.eventLoop);
      if (w.eventLoop >= EVENT_LOOP_SATURATED) this.saturatedWindows += 1;
    }
    this.cpuCores.add(w.cpuCores);
    this.cpuWait.add(w.cpuWait);
    if (w.cpuWait !== undefined && w.cpuWait >= CPU_STARVED_WAIT_SHARE) this.starvedWindows += 1;
    this.throttled.add(w.throttled);
    if (w.throttled !== undefined && w.throttled >= THROTTLED_PERIODS) this.throttledWindows += 1;
    this.machineBusy.add(w.machineBusy);
    if (w.machineBusy !== undefined && w.machineBusy >= MACHINE_CROWDED_BUSY) {
      this.crowdedWindows += 1;
      if (loop && (w.loopDelayMs ?? 0) >= LATE_LOOP_MS) this.lateCrowdedWindows += 1;
      if (loop) this.crowdedLoopDelayMs.add(w.loopDelayMs);
    }
    this.threadsWait.add(w.threadsWait);
    if (loop) {
      this.loopDelayMs.add(w.loopDelayMs);
      if (w.loopDelayMs !== undefined) this.maxLoopDelayMs = Math.max(this.maxLoopDelayMs, w.loopDelayMs);
    }
    if (w.mediaTicks !== undefined) {
      this.tickLateP99Ms.add(w.mediaTicks.lateP99Ms);
      if (w.mediaTicks.lateP99Ms >= LATE_TICK_MS) this.lateTickWindows += 1;
      this.maxTickLateMs = Math.max(this.maxTickLateMs, w.mediaTicks.lateMaxMs);
      this.sendJitterMs.add(w.mediaTicks.sendJitterMs);
      if (w.mediaTicks.sendJitterMs !== undefined)
        this.maxSendJitterMs = Math.max(this.maxSendJitterMs, w.mediaTicks.sendJitterMs);
    }
  }

  /** `linksLost`: the run's reconnects and drops, which keep `crowdedSlow` from being judged. */
  load(worker: number, machine: WorkerLoad["machine"], unstarted: boolean, linksLost: number): WorkerLoad {
    const n = this.windows;
    // windows whose event loop is judged: not those of a worker still loading its engines
    const nLoop = n - this.startingWindows;
    return {
      worker,
      windows: n,
      ...(n > 0 ? { fromMs: this.fromMs, toMs: this.toMs } : {}),
      ...(this.startingWindows > 0 ? { startingWindows: this.startingWindows } : {}),
      ...(unstarted ? { unstarted: true as const } : {}),
      meanEventLoop: this.eventLoop.value,
      maxEventLoop: this.eventLoop.n > 0 ? this.maxEventLoop : 0,
      saturatedWindows: this.saturatedWindows,
      meanCpuCores: this.cpuCores.value,
      saturated: oftenIn(this.saturatedWindows, SATURATED_SHARE, nLoop),
      ...(this.cpuWait.n > 0
        ? {
            meanCpuWait: this.cpuWait.value,
            starvedWindows: this.starvedWindows,
            starved: oftenIn(this.starvedWindows, STARVED_SHARE, n),
          }
        : {}),
      ...(this.throttled.n > 0
        ? {
            meanThrottled: this.throttled.value,
            throttledWindows: this.throttledWindows,
            throttled: oftenIn(this.throttledWindows, STARVED_SHARE, n),
          }
        : {}),
      ...(machine !== undefined && n >= 2 ? { machine } : {}),
      ...(this.machineBusy.n > 0
        ? {
            meanMachineBusy: this.machineBusy.value,
            crowdedWindows: this.crowdedWindows,
            crowded: oftenIn(this.crowdedWindows, STARVED_SHARE, n),
            lateCrowdedWindows: this.lateCrowdedWindows,
            crowdedLate: oftenIn(this.lateCrowdedWindows, STARVED_SHARE, nLoop),
            ...(this.crowdedLoopDelayMs.n > 0
              ? {
                  meanCrowdedLoopDelayMs: this.crowdedLoopDelayMs.value,
                  crowdedLoopWindows: this.crowdedLoopDelayMs.n,
                  crowdedSlow:
                    linksLost === 0 &&
                    oftenIn(this.crowdedLoopDelayMs.n, STARVED_SHARE, nLoop) &&
                    this.crowdedLoopDelayMs.value >= CROWDED_SLOW_LOOP_MS,
                }
              : {}),
          }
        : {}),
      ...(this.threadsWait.n > 0 ? { meanThreadsWait: this.threadsWait.value } : {}),
      ...(this.loopDelayMs.n > 0
        ? { meanLoopDelayMs: this.loopDelayMs.value, maxLoopDelayMs: this.maxLoopDelayMs }
        : {}),
      ...(this.tickLateP99Ms.n > 0
        ? {
            mediaTickWindows: this.tickLateP99Ms.n,
            lateTickWindows: this.lateTickWindows,
            meanTickLateP99Ms: this.tickLateP99Ms.value,
            maxTickLateMs: this.maxTickLateMs,
            ...(this.sendJitterMs.n > 0
              ? { meanSendJitterMs: this.sendJitterMs.value, maxSendJitterMs: this.maxSendJitterMs }
              : {}),
            ticksLate:
              this.lateTickWindows >= LATE_TICK_WINDOWS &&
              oftenIn(this.lateTickWindows, STARVED_SHARE, this.tickLateP99Ms.n),
          }
        : {}),
    };
  }
}

/**
 * The workers' load windows folded as they come (the orchestrator's, a window per worker per stats
 * interval): the state is a few numbers a worker, so a week-long run keeps no list of windows.
 * Windows that began before `holdStartMs` (the ramp's) are left out.
 */
export class GeneratorLoadFold {
  private readonly byWorker = new Map<number, WorkerFold>();

  constructor(private readonly holdStartMs: number) {}

  add(w: GeneratorWindow): void {
    if (w.t - w.windowMs < this.holdStartMs) return;
    let fold = this.byWorker.get(w.worker);
    if (fold === undefined) {
      fold = new WorkerFold();
      this.byWorker.set(w.worker, fold);
    }
    fold.add(w);
  }

  /**
   * The generator's load over the hold so far; see `generatorLoad` for the arguments. `unstarted`:
   * workers whose engines had not loaded when the run ended (listed even with no window).
   */
  load(
    slow?: number,
    machineCores?: number,
    linksLost = 0,
    unstarted: readonly number[] = [],
    quotaRanOut?: number,
  ): GeneratorLoad {
    for (const worker of unstarted)
      if (!this.byWorker.has(worker)) this.byWorker.set(worker, new WorkerFold());
    const sorted = [...this.byWorker.entries()].sort(([a], [b]) => a - b);
    const usedCores = sorted.reduce((a, [, f]) => a + f.cpuCores.value, 0);
    const machine =
      machineCores !== undefined && machineCores > 0
        ? { cores: machineCores, usedCores, full: usedCores >= MACHINE_FULL_SHARE * machineCores }
        : undefined;
    const workers = sorted.map(([worker, f]) =>
      f.load(worker, machine, unstarted.includes(worker), linksLost),
    );
    const stalled = stalledOn(workers, slow, linksLost);
    return {
      workers,
      ...(slow !== undefined ? { slowEvents: slow } : {}),
      ...(stalled ? { stalled } : {}),
      ...(quotaRanOut !== undefined ? { quotaRanOut } : {}),
      saturated: stalled || workers.some(keptUpNot),
    };
  }
}

const crowdedSlow = (w: WorkerLoad): boolean => w.crowdedSlow === true;

/** A worker that did not keep up: its event loop full, its CPU quota run out, or its threads starved of a CPU. */
const keptUpNot = (w: WorkerLoad): boolean =>
  w.unstarted === true ||
  w.saturated ||
  w.throttled === true ||
  w.machine?.full === true ||
  w.crowdedLate === true ||
  crowdedSlow(w) ||
  w.ticksLate === true ||
  (JUDGE_CPU_STARVATION && w.starved === true);

/**
 * A worker that never started and whose own windows cannot say why (too few to judge), in a run
 * whose cgroup quota ran out in THROTTLED_PERIODS of the periods or more: that quota held it back.
 */
const heldByRunQuota = (load: GeneratorLoad, w: WorkerLoad): boolean =>
  w.unstarted === true && w.throttled !== true && (load.quotaRanOut ?? 0) >= THROTTLED_PERIODS;

/**
 * Still loading its engines in STARVED_SHARE of the hold's windows (and at least two): its
 * participants began late. Not a failure alone (a run whose every join and track was served is
 * fine); with joins unanswered or tracks never come, the generator's (health's starvedUnserved).
 */
export const startedLate = (w: WorkerLoad): boolean =>
  oftenIn(w.startingWindows ?? 0, STARVED_SHARE, w.windows);

/** `k` of `n` windows are at least two and `share` of them: one bad window is no verdict. */
function oftenIn(k: number, share: number, n: number): boolean {
  return k >= 2 && k >= share * n;
}

/** The windows whose event loop was judged: those after its engines loaded. */
const loopWindows = (w: WorkerLoad): number => w.windows - (w.startingWindows ?? 0);

export const percent = (x: number): string => `${Math.round(x * 100)}%`;

export const workerName = (w: WorkerLoad): string =>
  w.shard === undefined ? `worker ${w.worker}` : `shard ${w.shard} worker ${w.worker}`;

/**
 * A sharded run's generator: every shard's workers, named by shard (each shard measured its own,
 * written in its manifest); undefined when no shard measured it (shards of an older version).
 */
export function mergeGeneratorLoads(
  shards: readonly { readonly shard: number; readonly load: GeneratorLoad | undefined }[],
): GeneratorLoad | undefined {
  const measured = shards.filter((s) => s.load !== undefined);
  if (measured.length === 0) return undefined;
  const workers = measured.flatMap((s) => (s.load?.workers ?? []).map((w) => ({ ...w, shard: s.shard })));
  const counted = measured.flatMap((s) => (s.load?.slowEvents === undefined ? [] : [s.load.slowEvents]));
  const slow = counted.length === 0 ? undefined : counted.reduce((a, b) => a + b, 0);
  // each shard's stalls on its own crowded machine: a shard's count does not meet another's crowding
  const stalled = measured.some((s) => s.load?.stalled === true);
  return {
    workers,
    ...(slow !== undefined ? { slowEvents: slow } : {}),
    ...(stalled ? { stalled } : {}),
    saturated: stalled || workers.some(keptUpNot),
  };
}

/** What a reader must know when the generator was saturated; undefined when it was not. */
export function saturationMessage(load: GeneratorLoad): string | undefined {
  const behind = load.workers.filter(keptUpNot);
  const slow = load.slowEvents ?? 0;
  const stalled = load.stalled === true;
  if (behind.length === 0 && !stalled) return undefined;
  const why = (w: WorkerLoad): string =>
    [
      w.unstarted === true
        ? "its engines had not finished loading when the run ended, so none of its participants began to join"
        : undefined,
      heldByRunQuota(load, w)
        ? `the CPU quota of the swarm's cgroup ran out in ${percent(load.quotaRanOut ?? 0)} of the CFS periods over the run: a CPU limit (cgroup) held it back`
        : undefined,
      w.saturated
        ? `event loop >= ${percent(EVENT_LOOP_SATURATED)} busy in ${w.saturatedWindows} of ${loopWindows(w)} windows, mean ${percent(w.meanEventLoop)}`
        : undefined,
      w.throttled === true
        ? `its CPU quota ran out in >= ${percent(THROTTLED_PERIODS)} of the CFS periods in ${w.throttledWindows ?? 0} of ${w.windows} windows, mean ${percent(w.meanThrottled ?? 0)}: a CPU limit (cgroup) held it back`
        : undefined,
      w.machine?.full === true
        ? `the run's processes used ${w.machine.usedCores.toFixed(2)} of the machine's ${w.machine.cores} cores (>= ${percent(MACHINE_FULL_SHARE)}), mean over the hold: the machine was used up`
        : undefined,
      w.crowdedLate === true && w.machine?.full !== true
        ? `the machine's cores were >= ${percent(MACHINE_CROWDED_BUSY)} busy and its event loop ${LATE_LOOP_MS} ms late or more (p99) in ${w.lateCrowdedWindows ?? 0} of ${loopWindows(w)} windows, machine ${percent(w.meanMachineBusy ?? 0)} busy (mean)${w.machine !== undefined ? `, the run's processes using ${w.machine.usedCores.toFixed(2)} of its ${w.machine.cores} cores` : ""}, loop delay up to ${Math.round(w.maxLoopDelayMs ?? 0)} ms: other processes (LiveKit beside the swarm, other work) held the cores it needed`
        : undefined,
      crowdedSlow(w) && w.crowdedLate !== true && w.machine?.full !== true
        ? `the machine's cores were >= ${percent(MACHINE_CROWDED_BUSY)} busy in ${w.crowdedLoopWindows ?? 0} of ${loopWindows(w)} windows, machine ${percent(w.meanMachineBusy ?? 0)} busy (mean), and its event loop ran ${Math.round(w.meanCrowdedLoopDelayMs ?? 0)} ms late (p99, mean over those windows; >= ${CROWDED_SLOW_LOOP_MS} ms), up to ${Math.round(w.maxLoopDelayMs ?? 0)} ms, with no link broken: other processes (LiveKit beside the swarm, other work) held the cores it needed`
        : undefined,
      w.ticksLate === true
        ? `its native media thread ran its 20 ms ticks ${LATE_TICK_MS} ms late or more (p99) in ${w.lateTickWindows ?? 0} of ${w.mediaTickWindows ?? 0} windows, mean ${Math.round(w.meanTickLateP99Ms ?? 0)} ms, up to ${w.maxTickLateMs ?? 0} ms${(w.maxTickLateMs ?? 0) >= 100 ? " or more" : ""}: its audio left that late, which the subscribers read as the network's jitter`
        : undefined,
      JUDGE_CPU_STARVATION && w.starved === true
        ? `waited for a CPU >= ${percent(CPU_STARVED_WAIT_SHARE)} of its runnable time in ${w.starvedWindows ?? 0} of ${w.windows} windows, mean ${percent(w.meanCpuWait ?? 0)}: other processes held the cores`
        : undefined,
    ]
      .filter((x) => x !== undefined)
      .join("; ");
  const crowdedOne = load.workers.find((w) => w.crowded === true);
  const which = [
    ...behind.map((w) => `${workerName(w)} (${why(w)})`),
    ...(stalled && crowdedOne !== undefined
      ? [
          `rtc-node took over 10 s to handle ${slow} of its own events ("taking too much time" in workers.log) while the machine's cores were >= ${percent(MACHINE_CROWDED_BUSY)} busy in ${crowdedOne.crowdedWindows ?? 0} of ${crowdedOne.windows} windows (${workerName(crowdedOne)}, machine ${percent(crowdedOne.meanMachineBusy ?? 0)} busy, mean): other processes (LiveKit beside the swarm, other work) held the cores it needed`,
        ]
      : slow > 0
        ? [
            `rtc-node took over 10 s to handle ${slow} of its own events ("taking too much time" in workers.log)`,
          ]
        : []),
  ].join(", ");
  const starved = JUDGE_CPU_STARVATION && behind.some((w) => w.starved === true);
  const throttled = behind.some((w) => w.throttled === true || heldByRunQuota(load, w));
  const full = behind.some((w) => w.machine?.full === true);
  const unstarted = behind.some((w) => w.unstarted === true);
  const crowded =
    stalled ||
    behind.some(
      (w) => (w.crowdedLate === true || crowdedSlow(w) || w.ticksLate === true) && w.machine?.full !== true,
    );
  return (
    `the swarm's own ${behind.length > 1 ? "workers" : "worker"} did not keep up: ${which}. ` +
    "Figures may be the generator's, not the server's: " +
    (throttled
      ? "raise or lift the generator's CPU limit (a pod's resources.limits.cpu, a container's --cpus), "
      : "") +
    (unstarted ? "give the generator more CPU or the run a longer --duration, " : "") +
    (full
      ? "run fewer participants on this machine (fewer --rooms, or the lean engine), keep LiveKit off it"
      : "run fewer participants per worker (--workers)") +
    (starved || crowded
      ? ", keep other work off the generator's machine, or put LiveKit on another one"
      : "") +
    ", or spread the swarm over more machines (swarm k8s)"
  );
}

/** The terminal summary's line: every worker's mean event loop, and the warning when saturated. */
export function generatorLine(load: GeneratorLoad): string | undefined {
  if (load.workers.length === 0) return undefined;
  const warning = saturationMessage(load);
  // a worker still loading its engines at the end has no event loop figure: its zeros are none
  const reported = load.workers.filter((w) => loopWindows(w) > 0);
  if (reported.length === 0) {
    const head = `generator     ${load.workers.length} worker(s), none ran a window of the hold with its engines loaded`;
    return warning === undefined ? head : `${head}\nWARNING       ${warning}`;
  }
  const busiest = reported.reduce((a, b) => (b.meanEventLoop > a.meanEventLoop ? b : a));
  const waits = load.workers.flatMap((w) => (w.meanCpuWait === undefined ? [] : [w.meanCpuWait]));
  const wait =
    waits.length === 0 ? "" : `; waiting for a CPU at most ${percent(Math.max(...waits))} of runnable time`;
  const machineBusy = load.workers.flatMap((w) =>
    w.meanMachineBusy === undefined ? [] : [w.meanMachineBusy],
  );
  const delays = load.workers.flatMap((w) => (w.maxLoopDelayMs === undefined ? [] : [w.maxLoopDelayMs]));
  const machine =
    (machineBusy.length === 0
      ? ""
      : `; the machine's cores ${percent(Math.max(...machineBusy))} busy (mean)`) +
    (delays.length === 0
      ? ""
      : `; event loop late up to ${Math.round(Math.max(...delays))} ms (p99 of a window)`);
  const ticks = load.workers.flatMap((w) => (w.maxTickLateMs === undefined ? [] : [w.maxTickLateMs]));
  const latestTick = Math.max(...ticks);
  const jitters = load.workers.flatMap((w) => (w.maxSendJitterMs === undefined ? [] : [w.maxSendJitterMs]));
  const tickNote =
    ticks.length === 0
      ? ""
      : `; native media thread's ticks at most ${latestTick}${latestTick >= 100 ? "+" : ""} ms late` +
        (jitters.length === 0
          ? ""
          : `, its own send jitter up to ${Math.max(...jitters).toFixed(1)} ms (before the server and the network)`);
  const quotas = load.workers.flatMap((w) => (w.meanThrottled === undefined ? [] : [w.meanThrottled]));
  const quota =
    quotas.length === 0
      ? ""
      : `; its CPU quota ran out in at most ${percent(Math.max(...quotas))} of periods`;
  const slowNote =
    (load.slowEvents ?? 0) > 0
      ? `; rtc-node took over 10 s to handle ${String(load.slowEvents)} of its events (workers.log)`
      : "";
  const head = `generator     ${load.workers.length} worker(s), busiest event loop ${percent(busiest.meanEventLoop)} (${workerName(busiest)}, mean over the hold; max ${percent(busiest.maxEventLoop)}), ${busiest.meanCpuCores.toFixed(2)} cores${machine}${tickNote}${wait}${quota}${slowNote}`;
  return warning === undefined ? head : `${head}\nWARNING       ${warning}`;
}
