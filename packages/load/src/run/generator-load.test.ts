import { describe, expect, it } from "vitest";
import {
  generatorLine,
  generatorLoad,
  GeneratorLoadFold,
  JUDGE_CPU_STARVATION,
  LATE_TICK_MS,
  LATE_TICK_WINDOWS,
  mergeGeneratorLoads,
  saturationMessage,
  slowEvents,
  STALLED_EVENTS,
  type GeneratorWindow,
} from "./generator-load.js";
import { MachineBusy, parseMachineTimes } from "./cpu-wait.js";

const HOLD = 10_000;

/** Windows of 2 s for `worker`, ending at HOLD + 2 s, + 4 s, ..., with these event loop shares. */
function windows(worker: number, loops: readonly number[], cpuCores = 0.5): GeneratorWindow[] {
  return loops.map((eventLoop, k) => ({
    worker,
    t: HOLD + 2000 * (k + 1),
    windowMs: 2000,
    eventLoop,
    cpuCores,
  }));
}

describe("generatorLoad", () => {
  it("judges each worker over the hold's windows only (a busy ramp is not saturation), and says the span they cover", () => {
    const ramp: GeneratorWindow[] = [
      { worker: 0, t: HOLD, windowMs: 2000, eventLoop: 1, cpuCores: 1 },
      { worker: 0, t: HOLD + 1000, windowMs: 2000, eventLoop: 1, cpuCores: 1 },
    ];
    const load = generatorLoad([...ramp, ...windows(0, [0.2, 0.4])], HOLD);
    expect(load.workers).toEqual([
      {
        worker: 0,
        windows: 2,
        // the window that ended 1 s into the hold began in the ramp: out, and out of the span
        fromMs: HOLD,
        toMs: HOLD + 4000,
        meanEventLoop: expect.closeTo(0.3, 9) as number,
        maxEventLoop: 0.4,
        saturatedWindows: 0,
        meanCpuCores: 0.5,
        saturated: false,
      },
    ]);
    expect(load.saturated).toBe(false);
  });

  it("is saturated from a quarter of the windows full, and never on one window", () => {
    // 2 of 8 full: a quarter
    expect(generatorLoad(windows(0, [0.95, 0.92, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]), HOLD).saturated).toBe(true);
    // 2 of 9: under a quarter
    expect(generatorLoad(windows(0, [0.95, 0.92, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]), HOLD).saturated).toBe(
      false,
    );
    // one window of one: a spike, not a state
    expect(generatorLoad(windows(0, [1]), HOLD).saturated).toBe(false);
    // 0.9 itself is full; 0.89 is not
    expect(generatorLoad(windows(0, [0.9, 0.9]), HOLD).workers[0]?.saturatedWindows).toBe(2);
    expect(generatorLoad(windows(0, [0.89, 0.89]), HOLD).saturated).toBe(false);
  });

  it("names the saturated worker among others, in worker order", () => {
    const load = generatorLoad([...windows(1, [0.97, 0.99, 0.95]), ...windows(0, [0.3, 0.2, 0.25])], HOLD);
    expect(load.workers.map((w) => [w.worker, w.saturated])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(saturationMessage(load)).toMatch(
      /^the swarm's own worker did not keep up: worker 1 \(event loop >= 90% busy in 3 of 3 windows, mean 97%\)\. .*--workers/,
    );
  });

  it("folds a week of 1 s windows a worker as it goes: no list of them, no spread of one into Math.max", () => {
    const fold = new GeneratorLoadFold(HOLD);
    const week = 7 * 24 * 3600;
    for (let k = 1; k <= week; k++)
      fold.add({
        worker: 0,
        t: HOLD + 1000 * k,
        windowMs: 1000,
        eventLoop: k === 4242 ? 0.99 : 0.25,
        cpuCores: 0.5,
        loopDelayMs: k % 1000 === 0 ? 80 : 2,
      });
    const [w] = fold.load().workers;
    expect(w?.windows).toBe(week);
    expect(w?.maxEventLoop).toBe(0.99);
    expect(w?.saturatedWindows).toBe(1);
    expect(w?.saturated).toBe(false);
    expect(w?.maxLoopDelayMs).toBe(80);
    expect(w?.meanLoopDelayMs).toBeCloseTo(2 + (78 * Math.floor(week / 1000)) / week, 9);
  });

  it("has no workers, no line and no check without a window after the ramp", () => {
    const load = generatorLoad([{ worker: 0, t: HOLD, windowMs: 2000, eventLoop: 1, cpuCores: 1 }], HOLD);
    expect(load).toEqual({ workers: [], saturated: false });
    expect(generatorLine(load)).toBeUndefined();
    expect(saturationMessage(load)).toBeUndefined();
  });
});

describe.skipIf(!JUDGE_CPU_STARVATION)(
  `generatorLoad: a worker starved of CPU${JUDGE_CPU_STARVATION ? "" : " [SKIPPED: CPU starvation is measured, not judged yet (JUDGE_CPU_STARVATION)]"}`,
  () => {
    /** Windows with an idle event loop whose main thread waited these shares of its runnable time. */
    const starving = (worker: number, waits: readonly number[]): GeneratorWindow[] =>
      windows(
        worker,
        waits.map(() => 0.2),
        0.3,
      ).map((w, k) => ({ ...w, cpuWait: waits[k] }));

    it("is starved when it waited at least as long as it ran in half the hold's windows, its event loop idle", () => {
      // 67% of runnable time, as one core shared with two busy loops gives
      const load = generatorLoad(starving(0, [0.67, 0.67, 0.05, 0.67]), HOLD);
      expect(load.workers[0]).toMatchObject({ saturated: false, starved: true, starvedWindows: 3 });
      expect(load.workers[0]?.meanCpuWait).toBeCloseTo((3 * 0.67 + 0.05) / 4, 9);
      expect(load.saturated).toBe(true);
      expect(saturationMessage(load)).toMatch(
        /^the swarm's own worker did not keep up: worker 0 \(waited for a CPU >= 50% of its runnable time in 3 of 4 windows, mean 52%: other processes held the cores\)\. .*keep other work off/,
      );
    });

    it("keeps up when starved in fewer than half its windows, or in one window only, or at 0 and unmeasured", () => {
      expect(generatorLoad(starving(0, [0.67, 0.1, 0.1, 0.1, 0.1]), HOLD).saturated).toBe(false);
      expect(generatorLoad(starving(0, [0.67]), HOLD).saturated).toBe(false);
      // waited exactly as long as it ran: 50%, starved; just under: not
      expect(generatorLoad(starving(0, [0.5, 0.5]), HOLD).workers[0]?.starved).toBe(true);
      expect(generatorLoad(starving(0, [0.49, 0.49]), HOLD).workers[0]?.starved).toBe(false);
      const idle = generatorLoad(starving(0, [0, 0]), HOLD);
      expect(idle.workers[0]).toMatchObject({ starved: false, starvedWindows: 0, meanCpuWait: 0 });
      const unmeasured = generatorLoad(windows(0, [0.2, 0.2]), HOLD);
      expect(unmeasured.workers[0]?.starved).toBeUndefined();
      expect(unmeasured.saturated).toBe(false);
    });
  },
);

describe("generatorLoad: a worker still loading its engines", () => {
  const starting = (ws: GeneratorWindow[]): GeneratorWindow[] => ws.map((w) => ({ ...w, starting: true }));

  it("judges a starting window's CPU but not its event loop (loading blocks it by design)", () => {
    const load = generatorLoad([...starting(windows(0, [1, 1, 0.98])), ...windows(0, [0.2, 0.3], 0.4)], HOLD);
    const w = load.workers[0];
    expect(w).toMatchObject({ windows: 5, startingWindows: 3, saturatedWindows: 0, saturated: false });
    expect(w?.meanEventLoop).toBeCloseTo(0.25, 6);
    expect(w?.maxEventLoop).toBe(0.3);
    // CPU over every window, the loading ones too: (3 x 0.5 + 2 x 0.4) / 5
    expect(w?.meanCpuCores).toBeCloseTo(0.46, 6);
    expect(load.saturated).toBe(false);
    // the same windows not flagged: a full event loop in 3 of 5
    expect(generatorLoad([...windows(0, [1, 1, 0.98]), ...windows(0, [0.2, 0.3], 0.4)], HOLD).saturated).toBe(
      true,
    );
  });

  it("counts its CPU quota running out while loading, and the event loop's windows in the message", () => {
    const quota = (ws: GeneratorWindow[]): GeneratorWindow[] => ws.map((w) => ({ ...w, throttled: 1 }));
    const load = generatorLoad(
      [...quota(starting(windows(0, [1, 1]))), ...quota(windows(0, [0.95, 0.96, 0.2, 0.3]))],
      HOLD,
    );
    expect(load.workers[0]).toMatchObject({ throttled: true, throttledWindows: 6, saturatedWindows: 2 });
    expect(saturationMessage(load)).toContain("event loop >= 90% busy in 2 of 4 windows");
    expect(saturationMessage(load)).toContain(
      "its CPU quota ran out in >= 20% of the CFS periods in 6 of 6 windows",
    );
  });

  it("gives finite figures for a worker with only starting windows (a summary.json holds no -Infinity)", () => {
    const w = generatorLoad(starting(windows(0, [1, 1])), HOLD).workers[0];
    expect(w).toMatchObject({ windows: 2, startingWindows: 2, meanEventLoop: 0, maxEventLoop: 0 });
    expect(JSON.parse(JSON.stringify(w))).toEqual(w);
  });

  it("did not keep up when its engines had not loaded by the run's end, listed with no window at all", () => {
    const load = generatorLoad(windows(0, [0.2, 0.3]), HOLD, undefined, undefined, 0, [1]);
    expect(load.workers.map((w) => [w.worker, w.unstarted, w.windows])).toEqual([
      [0, undefined, 2],
      [1, true, 0],
    ]);
    expect(load.workers[1]?.maxEventLoop).toBe(0);
    // no window, no span (a shard.json with one is refused)
    expect(load.workers[1]).not.toHaveProperty("fromMs");
    expect(load.workers[1]).not.toHaveProperty("toMs");
    expect(load.saturated).toBe(true);
    expect(saturationMessage(load)).toMatch(
      /^the swarm's own worker did not keep up: worker 1 \(its engines had not finished loading when the run ended, so none of its participants began to join\)\. .*give the generator more CPU or the run a longer --duration/,
    );
    // with no window of its own, the swarm's cgroup quota over the run says what held it back
    const quotaHeld = generatorLoad([], HOLD, undefined, undefined, 0, [0], 1);
    expect(quotaHeld.quotaRanOut).toBe(1);
    expect(saturationMessage(quotaHeld)).toMatch(
      /worker 0 \(its engines had not finished loading .*; the CPU quota of the swarm's cgroup ran out in 100% of the CFS periods over the run: a CPU limit \(cgroup\) held it back\)\. .*raise or lift the generator's CPU limit/,
    );
    // under THROTTLED_PERIODS, or absent: not named
    expect(saturationMessage(generatorLoad([], HOLD, undefined, undefined, 0, [0], 0.19))).not.toContain(
      "quota",
    );
    // a worker that started is judged on its own windows, not the run's quota
    expect(
      saturationMessage(generatorLoad(windows(0, [0.2, 0.3]), HOLD, undefined, undefined, 0, [], 1)),
    ).toBeUndefined();
    // the terminal line reads no figure from a worker that reported none
    const none = generatorLoad([], HOLD, undefined, undefined, 0, [0]);
    expect(generatorLine(none)?.split("\n")[0]).toBe(
      "generator     1 worker(s), none ran a window of the hold with its engines loaded",
    );
    // nor from one whose only windows were its engines loading
    const loading = generatorLoad(starting(windows(0, [1, 1])), HOLD);
    expect(generatorLine(loading)?.split("\n")[0]).toBe(
      "generator     1 worker(s), none ran a window of the hold with its engines loaded",
    );
    expect(generatorLine(none)?.split("\n")[1]).toMatch(
      /^WARNING {7}the swarm's own worker did not keep up: worker 0 \(its engines/,
    );
    expect(generatorLine(load)?.split("\n")[0]).toMatch(/busiest event loop 25% \(worker 0,/);
    // and with its starting windows: what held it back is named beside it
    const capped = generatorLoad(
      starting(windows(1, [1, 1, 1])).map((w) => ({ ...w, throttled: 1 })),
      HOLD,
      undefined,
      undefined,
      0,
      [1],
    );
    expect(saturationMessage(capped)).toMatch(
      /worker 1 \(its engines had not finished loading .*; its CPU quota ran out in >= 20% of the CFS periods in 3 of 3 windows/,
    );
  });
});

describe("generatorLine", () => {
  it("prints the busiest worker, and a warning only when saturated", () => {
    const calm = generatorLoad([...windows(0, [0.2, 0.3]), ...windows(1, [0.5, 0.6], 1.25)], HOLD);
    expect(generatorLine(calm)).toBe(
      "generator     2 worker(s), busiest event loop 55% (worker 1, mean over the hold; max 60%), 1.25 cores",
    );
    const full = generatorLoad(windows(0, [0.95, 0.96]), HOLD);
    expect(generatorLine(full)?.split("\n")[1]).toMatch(/^WARNING {7}the swarm's own worker did not keep up/);
  });
});

describe("mergeGeneratorLoads", () => {
  it("names every worker by its shard, saturated when any shard's worker was", () => {
    const merged = mergeGeneratorLoads([
      { shard: 0, load: generatorLoad(windows(0, [0.3, 0.4]), HOLD) },
      { shard: 1, load: undefined },
      { shard: 2, load: generatorLoad(windows(0, [0.95, 0.97]), HOLD) },
    ]);
    expect(merged?.workers.map((w) => [w.shard, w.worker, w.saturated])).toEqual([
      [0, 0, false],
      [2, 0, true],
    ]);
    expect(merged?.saturated).toBe(true);
    expect(saturationMessage(merged ?? { workers: [], saturated: false })).toMatch(
      /^the swarm's own worker did not keep up: shard 2 worker 0 \(/,
    );
  });

  it("is undefined when no shard measured it (shards of an older version)", () => {
    expect(mergeGeneratorLoads([{ shard: 0, load: undefined }])).toBeUndefined();
  });
});

describe("generatorLoad: CPU wait, measured", () => {
  it("keeps each worker's mean main-thread CPU wait and starved windows, whether or not they fail the run", () => {
    const load = generatorLoad(
      windows(0, [0.2, 0.2, 0.2], 0.3).map((w, k) => ({ ...w, cpuWait: [0.72, 0.7, 0.1][k] })),
      HOLD,
    );
    expect(load.workers[0]).toMatchObject({ starvedWindows: 2, starved: true });
    expect(load.workers[0]?.meanCpuWait).toBeCloseTo(0.5067, 3);
    expect(load.saturated).toBe(JUDGE_CPU_STARVATION);
    expect(generatorLine(load)?.split("\n")[0]).toContain("waiting for a CPU at most 51% of runnable time");
  });
});

describe("generatorLoad: a CPU quota that ran out", () => {
  /** Windows with an idle event loop whose cgroup quota ran out in these shares of its periods. */
  const capped = (throttled: readonly number[]): GeneratorWindow[] =>
    windows(
      0,
      throttled.map(() => 0.35),
      0.18,
    ).map((w, k) => ({ ...w, throttled: throttled[k] }));

  it("did not keep up when its quota ran out in a fifth of the periods in half the hold's windows, its event loop idle", () => {
    // 20 participants under 0.2 cores: the quota ran out in every period
    const load = generatorLoad(capped([1, 1, 1, 1]), HOLD);
    expect(load.workers[0]).toMatchObject({
      saturated: false,
      throttled: true,
      throttledWindows: 4,
      meanThrottled: 1,
    });
    expect(load.saturated).toBe(true);
    expect(saturationMessage(load)).toMatch(
      /^the swarm's own worker did not keep up: worker 0 \(its CPU quota ran out in >= 20% of the CFS periods in 4 of 4 windows, mean 100%: a CPU limit \(cgroup\) held it back\)\. Figures may be the generator's, not the server's: raise or lift the generator's CPU limit/,
    );
  });

  it("keeps up when throttled in fewer than half its windows, or below a fifth of the periods, or without a quota", () => {
    expect(generatorLoad(capped([0.9, 0.1, 0.1, 0.1]), HOLD).saturated).toBe(false);
    expect(generatorLoad(capped([0.19, 0.19, 0.19]), HOLD).workers[0]).toMatchObject({
      throttled: false,
      throttledWindows: 0,
    });
    expect(generatorLoad(capped([0.2, 0.2]), HOLD).workers[0]?.throttled).toBe(true);
    expect(generatorLoad(capped([0.6]), HOLD).saturated).toBe(false);
    expect(generatorLoad(windows(0, [0.2, 0.2]), HOLD).workers[0]?.throttled).toBeUndefined();
  });
});

describe("slowEvents: rtc-node's own watchdog", () => {
  // lines as a run of 60 native participants on one core wrote them (cut)
  const log = [
    '[2026-11-28T16:04:23Z ERROR livekit::rtc_engine::rtc_session] signal_event taking too much time: Answer(SessionDescription { r#type: "answer"',
    "[2026-11-28T16:04:35Z ERROR livekit::rtc_engine::rtc_session] rtc_event is taking too much time: IceCandidate { ice_candidate: IceCandidate {",
    "[2026-11-28T16:04:36Z WARN  livekit::room] something else",
    "a participant's own log line",
  ].join("\n");

  it("counts the events rtc-node took over 10 s to handle, and nothing else", () => {
    expect(slowEvents(log)).toBe(2);
    expect(slowEvents("")).toBe(0);
  });

  it("counts slow events and shows them, without failing the generator: a delayed network caused one", () => {
    const load = generatorLoad(windows(0, [0.3, 0.3]), HOLD, 2);
    expect(load).toMatchObject({ slowEvents: 2, saturated: false });
    expect(saturationMessage(load)).toBeUndefined();
    expect(generatorLine(load)).toContain(
      "; rtc-node took over 10 s to handle 2 of its events (workers.log)",
    );
    expect(generatorLoad(windows(0, [0.3, 0.3]), HOLD).slowEvents).toBeUndefined();
  });

  it("adds up the shards' slow events in a merge, absent when no shard counted them", () => {
    const shard = (n: number | undefined) => generatorLoad(windows(0, [0.3, 0.3]), HOLD, n);
    const merged = mergeGeneratorLoads([
      { shard: 0, load: shard(1) },
      { shard: 1, load: shard(undefined) },
      { shard: 2, load: shard(2) },
    ]);
    expect(merged).toMatchObject({ slowEvents: 3, saturated: false });
    expect(mergeGeneratorLoads([{ shard: 0, load: shard(undefined) }])?.slowEvents).toBeUndefined();
  });
});

describe("generatorLoad: the machine used up", () => {
  it("did not keep up when the run's workers together used 85% of the machine's cores or more, mean over the hold", () => {
    // two workers on 2 cores: 0.9 + 0.85 = 1.75 of 2 (88%), event loops idle
    const load = generatorLoad(
      [...windows(0, [0.1, 0.1, 0.1], 0.9), ...windows(1, [0.1, 0.1, 0.1], 0.85)],
      HOLD,
      0,
      2,
    );
    expect(load.saturated).toBe(true);
    expect(load.workers[0]?.machine).toEqual({ cores: 2, usedCores: 1.75, full: true });
    const message = saturationMessage(load) ?? "";
    expect(message).toContain("the run's processes used 1.75 of the machine's 2 cores (>= 85%)");
    expect(message).toContain("fewer --rooms");
    expect(message).not.toContain("--workers");
  });

  it("keeps up below 85%, where the cores are not known, and on fewer than two hold windows", () => {
    expect(generatorLoad(windows(0, [0.1, 0.1, 0.1], 1.68), HOLD, 0, 2).saturated).toBe(false);
    expect(generatorLoad(windows(0, [0.1, 0.1, 0.1], 1.7), HOLD, 0, 2).saturated).toBe(true);
    expect(generatorLoad(windows(0, [0.1, 0.1, 0.1], 1.9), HOLD, 0).saturated).toBe(false);
    expect(generatorLoad(windows(0, [0.1], 1.9), HOLD, 0, 2).saturated).toBe(false);
  });

  it("judges each shard's machine on its own in a merge", () => {
    const full = generatorLoad(windows(0, [0.1, 0.1], 3.6), HOLD, 0, 4);
    const light = generatorLoad(windows(0, [0.1, 0.1], 1), HOLD, 0, 4);
    const merged = mergeGeneratorLoads([
      { shard: 0, load: light },
      { shard: 1, load: full },
    ]);
    expect(merged?.saturated).toBe(true);
    expect(saturationMessage(merged ?? { workers: [], saturated: false })).toContain(
      "shard 1 worker 0 (the run's processes used 3.60 of the machine's 4 cores",
    );
  });
});

describe("generatorLoad: the machine crowded by other processes", () => {
  const crowding = (busy: readonly number[], delayMs: readonly number[], cpuCores = 0.5): GeneratorWindow[] =>
    busy.map((machineBusy, k) => ({
      worker: 0,
      t: HOLD + 2000 * (k + 1),
      windowMs: 2000,
      eventLoop: 0.2,
      cpuCores,
      machineBusy,
      loopDelayMs: delayMs[k] ?? 15,
    }));

  it("did not keep up when crowded (95% busy) and late (event loop p99 50 ms) in half the hold's windows, and says who held the cores", () => {
    const load = generatorLoad(crowding([1, 0.99, 0.96, 0.5], [80, 137, 60, 20]), HOLD, 0, 2);
    expect(load.saturated).toBe(true);
    expect(load.workers[0]).toMatchObject({
      crowdedWindows: 3,
      crowded: true,
      lateCrowdedWindows: 3,
      crowdedLate: true,
    });
    const message = saturationMessage(load) ?? "";
    expect(message).toContain(
      "the machine's cores were >= 95% busy and its event loop 50 ms late or more (p99) in 3 of 4 windows, machine 86% busy (mean), the run's processes using 0.50 of its 2 cores, loop delay up to 137 ms: other processes",
    );
    expect(message).toContain("keep other work off the generator's machine, or put LiveKit on another one");
    expect(generatorLine(load)).toContain(
      "the machine's cores 86% busy (mean); event loop late up to 137 ms (p99 of a window)",
    );
  });

  it("did not keep up when crowded and its loop 25 ms late on the hold's mean, no two windows at 50 ms (voice-ai beside four busy loops, CI)", () => {
    // 2026-12-01: 3 windows, 100% busy, p99 40 ms mean and 67 max: exit 0 with 660 ms round trips p95
    const load = generatorLoad(crowding([1, 1, 1], [67, 30, 23], 1.02), HOLD, 0, 2);
    expect(load.saturated).toBe(true);
    expect(load.workers[0]).toMatchObject({ crowded: true, crowdedLate: false, lateCrowdedWindows: 1 });
    const message = saturationMessage(load) ?? "";
    expect(message).toContain(
      "worker 0 (the machine's cores were >= 95% busy in 3 of 3 windows, machine 100% busy (mean), and its event loop ran 40 ms late (p99, mean over those windows; >= 25 ms), up to 67 ms, with no link broken: other processes",
    );
    expect(message).toContain("keep other work off the generator's machine, or put LiveKit on another one");
    // the same loop on a machine not crowded (voice-ai alone reads 49-72 ms at 87-92% busy): kept up
    expect(generatorLoad(crowding([0.9, 0.9, 0.9], [67, 30, 23], 1.4), HOLD, 0, 2).saturated).toBe(false);
    // the 2026-11-29 stalls' loop, 43 ms: starved by the loop alone, stalls or none
    expect(generatorLoad(crowding([1, 1, 1, 1], [43, 43, 43, 43]), HOLD, 0, 2).saturated).toBe(true);
    // a link broke (a node killed beside a busy neighbour): LiveKit's failure stays LiveKit's
    const killed = generatorLoad(crowding([1, 1, 1, 1], [43, 43, 43, 43]), HOLD, 0, 2, 3);
    expect(killed.saturated).toBe(false);
    expect(killed.workers[0]).toMatchObject({ crowdedSlow: false, meanCrowdedLoopDelayMs: 43 });
    // the mean is over the crowded windows: a late window on a machine not crowded does not count,
    // and one crowded window of four is no crowding
    expect(generatorLoad(crowding([0.5, 1, 1, 1], [90, 20, 20, 20]), HOLD, 0, 2).saturated).toBe(false);
    expect(generatorLoad(crowding([1, 0.5, 0.5, 0.5], [40, 40, 40, 40]), HOLD, 0, 2).saturated).toBe(false);
  });

  it("keeps up when crowded but on time (a small run beside busy loops got what it needed), crowded in under half the windows, or below 95%", () => {
    const onTime = generatorLoad(crowding([1, 1, 1, 1], [16, 20, 18, 15]), HOLD, 0, 2);
    expect(onTime.saturated).toBe(false);
    expect(onTime.workers[0]).toMatchObject({ crowded: true, crowdedLate: false });
    expect(generatorLoad(crowding([1, 0.9, 0.9, 0.9, 1], [90, 90, 90, 90, 90]), HOLD, 0, 2).saturated).toBe(
      false,
    );
    expect(generatorLoad(crowding([1], [200]), HOLD, 0, 2).saturated).toBe(false);
    expect(generatorLoad(crowding([0.94, 0.94, 0.94], [200, 200, 200]), HOLD, 0, 2).saturated).toBe(false);
  });
});

describe("generatorLoad: the native media thread's ticks", () => {
  /** Hold windows whose media thread ran its ticks these p99s late (ms), on a machine that is not crowded. */
  const ticking = (p99s: readonly (number | undefined)[], maxMs = 0): GeneratorWindow[] =>
    p99s.map((lateP99Ms, k) => ({
      worker: 0,
      t: HOLD + 2000 * (k + 1),
      windowMs: 2000,
      eventLoop: 0.1,
      cpuCores: 0.1,
      machineBusy: 0.5,
      loopDelayMs: 12,
      ...(lateP99Ms === undefined
        ? {}
        : { mediaTicks: { ticks: 100, lateP99Ms, lateMaxMs: Math.max(maxMs, lateP99Ms) } }),
    }));

  it(`did not keep up when its ticks ran ${LATE_TICK_MS} ms late (p99) in half the windows, its event loop on time and the machine not crowded`, () => {
    const load = generatorLoad(ticking([LATE_TICK_MS, 30, 12, 2, 1, 1], 60), HOLD, 0, 2);
    expect(load.saturated).toBe(true);
    expect(load.workers[0]).toMatchObject({
      mediaTickWindows: 6,
      lateTickWindows: 3,
      maxTickLateMs: 60,
      ticksLate: true,
      crowded: false,
    });
    expect(load.workers[0]?.meanTickLateP99Ms).toBeCloseTo((LATE_TICK_MS + 46) / 6, 9);
    const message = saturationMessage(load) ?? "";
    expect(message).toContain(
      `worker 0 (its native media thread ran its 20 ms ticks ${LATE_TICK_MS} ms late or more (p99) in 3 of 6 windows, mean ${Math.round((LATE_TICK_MS + 46) / 6)} ms, up to 60 ms: its audio left that late, which the subscribers read as the network's jitter)`,
    );
    expect(message).toContain("keep other work off the generator's machine");
    expect(generatorLine(load)).toContain("native media thread's ticks at most 60 ms late");
  });

  it(`keeps up with late ticks in under half its windows, under the line, or in fewer than ${LATE_TICK_WINDOWS} windows; counts only windows with ticks`, () => {
    expect(generatorLoad(ticking([30, 30, 2, 2, 2, 2, 2]), HOLD, 0, 2).saturated).toBe(false);
    expect(
      generatorLoad(ticking([LATE_TICK_MS - 1, LATE_TICK_MS - 1, LATE_TICK_MS - 1]), HOLD, 0, 2).saturated,
    ).toBe(false);
    expect(generatorLoad(ticking([100]), HOLD, 0, 2).saturated).toBe(false);
    // a short run on a quiet machine (a clean-clone run: 2 of 3, mean 11 ms, jitter p95 3.9 ms):
    // chance, not a thread held off its core
    const short = generatorLoad(ticking([13, 20, 1], 40), HOLD, 0, 2);
    expect(short.workers[0]).toMatchObject({ mediaTickWindows: 3, lateTickWindows: 2, ticksLate: false });
    expect(short.saturated).toBe(false);
    // the thread ran in three windows of six (the TypeScript path in the others): all late is half
    const some = generatorLoad(ticking([undefined, 40, undefined, 40, undefined, 40]), HOLD, 0, 2);
    expect(some.workers[0]).toMatchObject({ mediaTickWindows: 3, lateTickWindows: 3, ticksLate: true });
    // no thread at all: no figure, none of its fields
    const none = generatorLoad(ticking([undefined, undefined]), HOLD, 0, 2);
    expect(none.workers[0]?.mediaTickWindows).toBeUndefined();
    expect(generatorLine(none)).not.toContain("native media thread");
  });

  it("prints 100 ms, the last bucket, as 100+ and '100 ms or more'", () => {
    const load = generatorLoad(ticking([100, 100, 100]), HOLD, 0, 2);
    expect(generatorLine(load)).toContain("ticks at most 100+ ms late");
    expect(saturationMessage(load)).toContain("up to 100 ms or more: its audio");
  });

  it("keeps the thread's own send jitter, mean and max over the windows that carry it, and prints the max; judges nothing by it", () => {
    const windows = ticking([1, 2, 1, 1]).map((w, k) =>
      w.mediaTicks === undefined || k === 1
        ? w
        : { ...w, mediaTicks: { ...w.mediaTicks, sendJitterMs: [0.5, 0, 18.25, 0.75][k] } },
    );
    const load = generatorLoad(windows, HOLD, 0, 2);
    expect(load.workers[0]).toMatchObject({ mediaTickWindows: 4, maxSendJitterMs: 18.25, ticksLate: false });
    expect(load.workers[0]?.meanSendJitterMs).toBeCloseTo((0.5 + 18.25 + 0.75) / 3, 9);
    expect(load.saturated).toBe(false);
    expect(generatorLine(load)).toContain(
      "native media thread's ticks at most 2 ms late, its own send jitter up to 18.3 ms (before the server and the network)",
    );
    // windows without it (an addon of an older version): neither field, and the line as before
    const none = generatorLoad(ticking([1, 2]), HOLD, 0, 2);
    expect(none.workers[0]?.meanSendJitterMs).toBeUndefined();
    expect(none.workers[0]?.maxSendJitterMs).toBeUndefined();
    expect(generatorLine(none)).not.toContain("send jitter");
  });
});

describe("generatorLoad: rtc-node stalled on a crowded machine", () => {
  // voice-ai beside two busy loops (2026-11-29): machine 100% busy, 7 stalls; its loop read 43 ms
  // (p99), which CROWDED_SLOW_LOOP_MS now judges by itself, so these stalls come with a loop on time
  const crowded = (busy: number, loopDelayMs = 20): GeneratorWindow[] =>
    [1, 2, 3, 4].map((k) => ({
      worker: 0,
      t: HOLD + 5000 * k,
      windowMs: 5000,
      eventLoop: 0.13,
      cpuCores: 1.19,
      machineBusy: busy,
      loopDelayMs,
    }));

  it("did not keep up: rtc-node took over 10 s on 2 or more of its events while the machine was crowded", () => {
    const load = generatorLoad(crowded(1), HOLD, 7, 2);
    expect(load).toMatchObject({ stalled: true, saturated: true, slowEvents: 7 });
    expect(load.workers[0]).toMatchObject({ crowded: true, crowdedLate: false });
    const message = saturationMessage(load) ?? "";
    expect(message).toContain(
      `the swarm's own worker did not keep up: rtc-node took over 10 s to handle 7 of its own events ("taking too much time" in workers.log) while the machine's cores were >= 95% busy in 4 of 4 windows (worker 0, machine 100% busy, mean): other processes`,
    );
    expect(message).toContain("keep other work off the generator's machine, or put LiveKit on another one");
  });

  it(`keeps up with one stall, or stalls on a machine that was not crowded (a delayed network's handler waits on it)`, () => {
    expect(generatorLoad(crowded(1), HOLD, STALLED_EVENTS - 1, 2)).toMatchObject({ saturated: false });
    expect(generatorLoad(crowded(0.9), HOLD, 7, 2)).toMatchObject({ saturated: false });
    expect(generatorLoad(crowded(0.9), HOLD, 7, 2).stalled).toBeUndefined();
  });

  it("does not judge stalls in a run where a link broke: a node killed beside a busy neighbour stays LiveKit's", () => {
    const load = generatorLoad(crowded(1), HOLD, 7, 2, 2);
    expect(load).toMatchObject({ saturated: false, slowEvents: 7 });
    expect(load.stalled).toBeUndefined();
    expect(saturationMessage(load)).toBeUndefined();
  });

  it("a merge keeps a shard's stall, judged on that shard's machine", () => {
    const merged = mergeGeneratorLoads([
      { shard: 0, load: generatorLoad(crowded(0.5), HOLD, 0, 2) },
      { shard: 1, load: generatorLoad(crowded(1), HOLD, 3, 2) },
    ]);
    expect(merged).toMatchObject({ stalled: true, saturated: true, slowEvents: 3 });
    // stalls on one machine and crowding on another are not a stall
    const apart = mergeGeneratorLoads([
      { shard: 0, load: generatorLoad(crowded(0.5), HOLD, 3, 2) },
      { shard: 1, load: generatorLoad(crowded(1), HOLD, 0, 2) },
    ]);
    expect(apart).toMatchObject({ saturated: false });
  });
});

describe("MachineBusy and parseMachineTimes", () => {
  it("reads /proc/stat's cpu line (steal busy, iowait idle) and the busy share between calls", () => {
    expect(parseMachineTimes("cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 1 2 3 4\n")).toEqual({
      busy: 170,
      idle: 820,
    });
    expect(parseMachineTimes("intr 1 2\n")).toBeUndefined();
    expect(parseMachineTimes("cpu  a b c d e\n")).toBeUndefined();
    const texts = [
      "cpu  100 0 0 100 0 0 0 0\n",
      "cpu  250 0 0 150 0 0 0 0\n",
      "cpu  250 0 0 150 0 0 0 0\n",
      "gone",
    ];
    const busy = new MachineBusy(() => texts.shift() ?? "");
    expect(busy.sample()).toBeCloseTo(0.75, 9);
    expect(busy.sample()).toBeUndefined();
    expect(busy.sample()).toBeUndefined();
  });
});
