import { describe, expect, it } from "vitest";
import { ExitCode } from "@livekit-swarm/schema";
import type { RunSummary } from "./aggregate.js";
import { generatorLoad, mergeGeneratorLoads, type GeneratorLoad } from "./generator-load.js";
import {
  exitCodeOf,
  failedCode,
  healthLines,
  judgedExitCode,
  runHealth,
  withExitCode,
  type RunHealth,
} from "./health.js";

function summary(over: {
  planned?: number;
  joined?: number;
  connectedAtEnd?: number;
  reconnectingAtEndS?: number[];
  disconnects?: Record<string, number>;
  owed?: number;
  never?: number;
  undelivered?: string[];
  generator?: GeneratorLoad;
  joinFailures?: Record<string, number>;
}): RunSummary {
  const joined = over.joined ?? 4;
  return {
    participants: {
      planned: over.planned ?? 4,
      joined,
      connectedAtEnd: over.connectedAtEnd ?? joined,
      ...(over.reconnectingAtEndS !== undefined ? { reconnectingAtEndS: over.reconnectingAtEndS } : {}),
      joinFailures: over.joinFailures ?? {},
      disconnects: over.disconnects ?? {},
      reconnects: 0,
    },
    tracks: {
      expected: { audio: 4, video: 0 },
      receiving: { audio: 4, video: 0 },
      everReceived: { audio: 4, video: 0 },
      decodingVideo: 0,
      owed: { audio: over.owed ?? 4, video: 0 },
      neverReceived: { audio: over.never ?? 0, video: 0 },
      undelivered: over.undelivered ?? [],
    },
    ...(over.generator !== undefined ? { generator: over.generator } : {}),
  } as unknown as RunSummary;
}

const worker = {
  worker: 0,
  windows: 4,
  meanEventLoop: 0.1,
  maxEventLoop: 0.2,
  saturatedWindows: 0,
  meanCpuCores: 0.3,
};
const keptUp: GeneratorLoad = {
  workers: [{ ...worker, saturated: false, starved: false, starvedWindows: 0 }],
  saturated: false,
};
const behind: GeneratorLoad = {
  workers: [{ ...worker, saturated: true, saturatedWindows: 4, meanEventLoop: 0.96 }],
  saturated: true,
};

/** One worker on a machine crowded by others (>= 95% busy) with its event loop on time. */
const crowdedOnTime = (over: Partial<GeneratorLoad["workers"][number]>): GeneratorLoad => ({
  workers: [
    { ...worker, saturated: false, crowded: true, crowdedLate: false, lateCrowdedWindows: 0, ...over },
  ],
  saturated: false,
});

describe("runHealth", () => {
  it("is healthy when everyone joined and stayed, every owed track arrived and the generator kept up: exit 0", () => {
    const h = runHealth(summary({ generator: keptUp }), 0);
    expect(h.status).toBe("healthy");
    expect(h.checks.map((c) => [c.name, c.ok])).toEqual([
      ["participants", true],
      ["tracks", true],
      ["workers", true],
      ["generator", true],
    ]);
    expect(judgedExitCode(h, undefined)).toBe(ExitCode.ok);
    expect(judgedExitCode(h, { passed: false, results: [] })).toBe(ExitCode.thresholdsFailed);
    expect(healthLines(h)[0]).toBe("health: ok");
  });

  it("counts a participant the run ended before it began to join (waiting for its browser) as the generator's, not LiveKit's: exit 2", () => {
    const h = runHealth(summary({ joined: 3, joinFailures: { not_started: 1 }, generator: keptUp }), 0);
    expect(h.status).toBe("generator");
    expect(h.checks.find((c) => c.name === "participants")).toMatchObject({
      ok: true,
      text: "3 of 4 planned joined, 1 never started (the generator's: see workers)",
    });
    expect(h.checks.find((c) => c.name === "workers")).toMatchObject({
      ok: false,
      text: "1 participant never started: the run ended while it waited for the generator (its browser still starting): run fewer participants per machine, give the generator more CPU, or hold longer",
    });
    expect(judgedExitCode(h, undefined)).toBe(ExitCode.inconclusive);
    // one that began and did not join is still LiveKit's
    const both = runHealth(
      summary({ joined: 2, joinFailures: { not_started: 1, run_ended: 1 }, generator: keptUp }),
      0,
    );
    expect(both.checks.find((c) => c.name === "participants")?.ok).toBe(false);
  });

  it("puts participants whose worker never finished loading its engines on the generator's side: exit 2, the worker named (CI: 0.15 cores, 0 of 16 joined, exit 99 blaming LiveKit)", () => {
    const unstarted = generatorLoad([], 10_000, undefined, undefined, 0, [0]);
    const h = runHealth(
      summary({ planned: 16, joined: 0, joinFailures: { not_started: 16 }, generator: unstarted }),
      0,
    );
    expect(h.status).toBe("generator");
    expect(h.checks.find((c) => c.name === "participants")).toMatchObject({
      ok: true,
      text: "0 of 16 planned joined, 16 never started (the generator's: see workers)",
    });
    expect(h.checks.find((c) => c.name === "workers")?.text).toBe(
      "16 participants never started: the run ended while they waited for the generator (worker 0 still loading its engines when the run ended): run fewer participants per machine, give the generator more CPU, or hold longer",
    );
    expect(h.checks.find((c) => c.name === "generator")).toMatchObject({ ok: false });
    expect(h.checks.find((c) => c.name === "generator")?.text).toContain(
      "worker 0 (its engines had not finished loading when the run ended",
    );
    expect(healthLines(h)[0]).toMatch(/^health: INCONCLUSIVE \(exit 2\)/);
  });

  it("puts joins cut off in a run whose worker loaded its engines through half the hold on the generator's side; served, the late start is no failure", () => {
    const loadingThenRunning = (starting: number, running: number) =>
      generatorLoad(
        Array.from({ length: starting + running }, (_, k) => ({
          worker: 0,
          t: 12_000 + 2000 * k,
          windowMs: 2000,
          eventLoop: 0.3,
          cpuCores: 0.3,
          ...(k < starting ? { starting: true as const } : {}),
        })),
        10_000,
      );
    const late = loadingThenRunning(3, 2);
    const cut = runHealth(summary({ joined: 1, joinFailures: { run_ended: 3 }, generator: late }), 0);
    expect(cut.status).toBe("generator");
    expect(cut.checks.find((c) => c.name === "generator")?.text).toMatch(
      /^worker 0 was still loading its engines in 3 of 5 windows of the hold while joins went unanswered/,
    );
    // every join and track served: fine, however late it started
    expect(runHealth(summary({ generator: late }), 0).status).toBe("healthy");
    // loading in under half the hold, or a join LiveKit answered, or a link broken: LiveKit's
    const early = loadingThenRunning(2, 3);
    expect(
      runHealth(summary({ joined: 1, joinFailures: { run_ended: 3 }, generator: early }), 0).status,
    ).toBe("livekit");
    expect(
      runHealth(summary({ joined: 1, joinFailures: { unauthorized: 3 }, generator: late }), 0).status,
    ).toBe("livekit");
    expect(
      runHealth(
        summary({ joined: 4, connectedAtEnd: 3, disconnects: { server_shutdown: 1 }, generator: late }),
        0,
      ).status,
    ).toBe("livekit");
  });

  it("names in its banner the code the run exits with, where its status alone would say another", () => {
    const unserved = runHealth(summary({ joined: 0, joinFailures: { timeout: 4 }, generator: keptUp }), 0);
    expect(unserved.status).toBe("livekit");
    expect(healthLines(unserved)[0]).toMatch(/^health: FAILED \(exit 99\)/);
    // nobody joined: the run exits 1, and the banner says so
    const nobody = withExitCode(unserved, ExitCode.error);
    expect(nobody.exitCode).toBe(ExitCode.error);
    expect(healthLines(nobody)[0]).toMatch(
      /^health: FAILED \(exit 1\): participants or tracks went unserved/,
    );
    // stopped by Ctrl-C or SIGTERM: neither side's verdict, whatever failed
    expect(healthLines(withExitCode(unserved, ExitCode.interrupted))[0]).toMatch(
      /^health: INTERRUPTED \(exit 130\): the run was stopped before its end/,
    );
    const starved = runHealth(summary({ joined: 0, joinFailures: { not_started: 4 }, generator: keptUp }), 0);
    expect(healthLines(withExitCode(starved, ExitCode.terminated))[0]).toMatch(
      /^health: INTERRUPTED \(exit 143\)/,
    );
    expect(
      healthLines(withExitCode(runHealth(summary({ generator: keptUp }), 0), ExitCode.interrupted))[0],
    ).toBe("health: ok");
    expect(healthLines(withExitCode(unserved, ExitCode.thresholdsFailed))[0]).toMatch(
      /^health: FAILED \(exit 99\)/,
    );
    // a healthy run names none in its banner, whatever its code
    const fine = runHealth(summary({ generator: keptUp }), 0);
    expect(healthLines(withExitCode(fine, ExitCode.thresholdsFailed))[0]).toBe("health: ok");
    // failed thresholds name the run's code, and where health decided another, say so
    expect(failedCode(exitCodeOf(withExitCode(fine, ExitCode.thresholdsFailed)))).toBe("(exit 99)");
    expect(failedCode(ExitCode.inconclusive)).toBe("(the run exits 2: see health)");
    expect(failedCode(undefined)).toBe("(exit 99)");
    // read back from a hand-edited summary.json: a code that is no exit code is not printed
    for (const exitCode of ["1; rm -rf", -1, 256, 1.5, null]) {
      const edited = { ...unserved, exitCode } as unknown as RunHealth;
      expect(healthLines(edited)[0]).toMatch(/^health: FAILED \(exit 99\)/);
      expect(exitCodeOf(edited)).toBeUndefined();
    }
  });

  it("says no track was owed yet when the run was too short to owe one, not '0 of 0 received'", () => {
    const h = runHealth(summary({ owed: 0, generator: keptUp }), 0);
    expect(h.checks.find((c) => c.name === "tracks")).toMatchObject({
      ok: true,
      text: "no track owed yet: a subscriber is owed its publishers' tracks once they shared the room for 10 s, and none did (hold the run longer to judge delivery)",
    });
  });

  it("blames LiveKit for tracks never received while the generator kept up, naming whose: exit 99", () => {
    const h = runHealth(summary({ never: 2, undelivered: ["r/sub-1: 2 audio"], generator: keptUp }), 0);
    expect(h.status).toBe("livekit");
    expect(h.checks.find((c) => c.name === "tracks")?.text).toBe(
      "2 of 4 owed tracks never received a packet (2 audio, 0 video): r/sub-1: 2 audio",
    );
    expect(judgedExitCode(h, { passed: true, results: [] })).toBe(ExitCode.thresholdsFailed);
    expect(healthLines(h)[0]).toMatch(/^health: FAILED \(exit 99\)/);
  });

  it("is inconclusive when the generator did not keep up, whatever else failed: exit 2, with the cause and the fix", () => {
    const h = runHealth(summary({ never: 4, joined: 3, generator: behind }), 0);
    expect(h.status).toBe("generator");
    expect(judgedExitCode(h, { passed: false, results: [] })).toBe(ExitCode.inconclusive);
    const lines = healthLines(h).join("\n");
    expect(lines).toMatch(/^health: INCONCLUSIVE \(exit 2\)/);
    expect(lines).toContain("event loop >= 90% busy in 4 of 4 windows, mean 96%");
    expect(lines).toContain("1 never joined");
  });

  it("on a machine crowded by others with the generator on time, LiveKit's failures stay LiveKit's (exit 99): a server killed beside a busy neighbour", () => {
    const crowded = crowdedOnTime({ crowdedWindows: 4 });
    expect(runHealth(summary({ generator: crowded }), 0).status).toBe("healthy");
    // the node killed: its participants' links broke (dropped here), and tracks went missing
    const h = runHealth(
      summary({
        never: 2,
        undelivered: ["r/sub-1: 2 audio"],
        connectedAtEnd: 2,
        disconnects: { server_leave: 2 },
        generator: crowded,
      }),
      0,
    );
    expect(h.status).toBe("livekit");
    expect(judgedExitCode(h, undefined)).toBe(ExitCode.thresholdsFailed);
    expect(h.checks.find((c) => c.name === "generator")).toMatchObject({ ok: true, text: "kept up" });
    // a join LiveKit answered (refused, no transport) is LiveKit's, crowded or not
    const refused = runHealth(
      summary({ planned: 5, joinFailures: { no_transport: 1 }, generator: crowded }),
      0,
    );
    expect(refused.status).toBe("livekit");
  });

  it("on a crowded machine with no link broken, tracks that never came and joins never answered are inconclusive (exit 2), the generator on time or not", () => {
    const crowded = crowdedOnTime({ crowdedWindows: 3, meanMachineBusy: 0.99 });
    const h = runHealth(summary({ never: 2, undelivered: ["r/sub-1: 2 audio"], generator: crowded }), 0);
    expect(h.status).toBe("generator");
    expect(judgedExitCode(h, undefined)).toBe(ExitCode.inconclusive);
    const text = h.checks.find((c) => c.name === "generator")?.text ?? "";
    expect(text).toMatch(
      /^the machine's cores were >= 95% busy in 3 of 4 windows \(worker 0, machine 99% busy, mean\)/,
    );
    expect(text).toContain("put LiveKit on another one");
    const slow = runHealth(
      summary({ planned: 6, joinFailures: { timeout: 1, run_ended: 1 }, generator: crowded }),
      0,
    );
    expect(slow.status).toBe("generator");
    // not crowded: the same failures are LiveKit's
    const calm: GeneratorLoad = {
      workers: [{ ...worker, saturated: false, crowded: false }],
      saturated: false,
    };
    expect(runHealth(summary({ never: 2, generator: calm }), 0).status).toBe("livekit");
  });

  it("puts participants lost with their worker or browser on the generator's side, others on LiveKit's", () => {
    const browser = runHealth(summary({ connectedAtEnd: 3, disconnects: { browser_exited: 1 } }), 0);
    expect(browser.status).toBe("generator");
    expect(browser.checks.find((c) => c.name === "participants")).toMatchObject({
      ok: true,
      text: "4 of 4 planned joined, 1 lost before the end (browser_exited 1)",
    });
    expect(browser.checks.find((c) => c.name === "workers")?.text).toBe(
      "1 participant lost with the process that carried it",
    );
    const dropped = runHealth(summary({ connectedAtEnd: 2, disconnects: { server_leave: 2 } }), 0);
    expect(dropped.status).toBe("livekit");
    expect(dropped.checks[0]?.text).toBe("4 of 4 planned joined, 2 lost before the end (server_leave 2)");
    expect(runHealth(summary({}), 1).status).toBe("generator");
  });

  it("counts a participant its worker took while it joined once, as the generator's, not as never joined", () => {
    // 12 planned, one worker died during the ramp: 11 had joined, 1 was still joining
    const s = summary({
      planned: 12,
      joined: 11,
      connectedAtEnd: 0,
      disconnects: { worker_died: 11 },
      joinFailures: { worker_died: 1 },
    });
    const died = runHealth({ ...s, participants: { ...s.participants, lostJoining: 1 } }, 1);
    expect(died.status).toBe("generator");
    expect(died.checks.find((c) => c.name === "participants")).toMatchObject({
      ok: true,
      text: "11 of 12 planned joined, 11 lost before the end (worker_died 11), 1 lost with their process before joining (the generator's: see workers)",
    });
    expect(died.checks.find((c) => c.name === "workers")?.text).toBe(
      "1 worker process died, 12 participants lost with the process that carried them (1 of them before they joined)",
    );
    // a join LiveKit refused beside it is still LiveKit's
    const r = summary({ planned: 5, joined: 3, joinFailures: { worker_died: 1, unauthorized: 1 } });
    const refused = runHealth({ ...r, participants: { ...r.participants, lostJoining: 1 } }, 1);
    expect(refused.checks.find((c) => c.name === "participants")).toMatchObject({ ok: false });
    expect(refused.checks[0]?.text).toContain("1 never joined");
    // a browser lost before its participant joined, which then joined again (a rejoin): in, not lost
    const back = summary({ planned: 4, joined: 4, joinFailures: { browser_exited: 1 } });
    expect(runHealth(back, 0).checks[0]).toMatchObject({ ok: true, text: "4 of 4 planned joined" });
  });

  it("does not count participants whose turn to join had not come as never joined (a run stopped in its ramp)", () => {
    const stopped = summary({ planned: 24, joined: 13 });
    const h = runHealth({ ...stopped, participants: { ...stopped.participants, notDue: 10 } }, 0);
    expect(h.checks[0]).toMatchObject({
      ok: false,
      text: "13 of 24 planned joined, 1 never joined, 10 not yet due to join when the run ended",
    });
    const all = runHealth({ ...stopped, participants: { ...stopped.participants, notDue: 11 } }, 0);
    expect(all.checks[0]).toMatchObject({ ok: true });
  });

  it("fails LiveKit for participants still reconnecting at the end past the grace, not for one that just began", () => {
    // the embedded node SIGKILLed 12 s into a 20 s run: both participants reconnecting ~6.4 s at the end
    const killed = runHealth(summary({ connectedAtEnd: 2, reconnectingAtEndS: [6.4, 6.37] }), 0);
    expect(killed.status).toBe("livekit");
    expect(killed.checks[0]).toMatchObject({
      ok: false,
      text: "4 of 4 planned joined, 2 still reconnecting at the end after 5 s and more (the longest 6.4 s): LiveKit had not taken them back",
    });
    expect(judgedExitCode(killed, undefined)).toBe(ExitCode.thresholdsFailed);
    const justBegan = runHealth(
      summary({ connectedAtEnd: 3, reconnectingAtEndS: [1.2], generator: keptUp }),
      0,
    );
    expect(justBegan.status).toBe("healthy");
    expect(justBegan.checks[0]?.text).toBe(
      "4 of 4 planned joined, 1 reconnecting for under 5 s at the end (too soon to judge)",
    );
    // one past the grace, one within it, one dropped: each counted once
    const mixed = runHealth(
      summary({ connectedAtEnd: 1, reconnectingAtEndS: [9, 2], disconnects: { server_leave: 1 } }),
      0,
    );
    expect(mixed.checks[0]?.text).toBe(
      "4 of 4 planned joined, 1 lost before the end (server_leave 1), 1 still reconnecting at the end after 5 s and more (the longest 9.0 s): LiveKit had not taken it back, 1 reconnecting for under 5 s at the end (too soon to judge)",
    );
  });

  it("counts a merge's unfinished shards' participants as planned and lost, on the generator's side", () => {
    const h = runHealth(summary({ planned: 8, joined: 8 }), 0, { participants: 4, shards: [2] });
    expect(h.status).toBe("generator");
    expect(h.checks[0]?.text).toBe(
      "8 of 12 planned joined, 4 in 1 shard that did not finish (2), in no figure",
    );
  });

  it("judges a summary without the owed tracks or the generator (older files) on what it has", () => {
    const old = summary({});
    const tracks = {
      expected: old.tracks.expected,
      receiving: old.tracks.receiving,
      everReceived: old.tracks.everReceived,
      decodingVideo: old.tracks.decodingVideo,
    };
    const h = runHealth({ ...old, tracks }, 0);
    expect(h.checks.map((c) => c.name)).toEqual(["participants", "workers"]);
    expect(h.status).toBe("healthy");
  });

  it("is inconclusive on a merged run when one shard's worker was saturated, with the reason and the fix", () => {
    const windows = (loops: number[]) =>
      loops.map((eventLoop, k) => ({
        worker: 0,
        t: 12_000 + 2000 * k,
        windowMs: 2000,
        eventLoop,
        cpuCores: 0.5,
      }));
    const merged = mergeGeneratorLoads([
      { shard: 0, load: generatorLoad(windows([0.3, 0.4]), 10_000) },
      { shard: 2, load: generatorLoad(windows([0.95, 0.99, 0.97]), 10_000) },
    ]);
    const h = runHealth(summary({ generator: merged }), 0);
    expect(judgedExitCode(h, { passed: true, results: [] })).toBe(ExitCode.inconclusive);
    expect(h.checks.find((c) => c.name === "generator")?.text).toMatch(
      /^the swarm's own worker did not keep up: shard 2 worker 0 \(event loop >= 90% busy in 3 of 3 windows.*--workers/,
    );
    const fine = runHealth(summary({ generator: generatorLoad(windows([0.5, 0.6]), 10_000) }), 0);
    expect(fine.checks.find((c) => c.name === "generator")).toMatchObject({ ok: true, text: "kept up" });
  });
});
