import { describe, expect, it } from "vitest";
import type { Figure, GroupFigures, RunSummary } from "@livekit-swarm/load";
import { describePoint, inboundKbpsPerTrack, lossP95, type PointRun } from "./figures.js";
import type { WindowMeasure } from "./proc.js";

function lossFigure(kind: "audio" | "video", p95: number): Figure {
  return {
    metric: "lkswarm_inbound_loss_ratio",
    label: `${kind} loss`,
    kind,
    unit: "ratio",
    population: "tracks",
    n: 4,
    p50: 0,
    p95,
    p99: p95,
    max: p95,
    min: 0,
    avg: p95 / 2,
  };
}

/** 1 room of 1 audio publisher + 4 subscribers, everyone in, 100 kb/s per track. */
function summary(over: Partial<RunSummary> = {}): RunSummary {
  return {
    participants: {
      planned: 5,
      joined: 5,
      connectedAtEnd: 5,
      joinFailures: {},
      disconnects: {},
      reconnects: 0,
    },
    tracks: {
      expected: { audio: 4, video: 0 },
      receiving: { audio: 4, video: 0 },
      everReceived: { audio: 4, video: 0 },
      decodingVideo: 0,
    },
    loss: { audio: { lost: 0, expected: 1000, ratio: 0 }, video: { lost: 0, expected: 0, ratio: undefined } },
    counters: {},
    figures: [lossFigure("audio", 0.001)],
    timeline: [0, 5_000, 10_000, 15_000, 20_000].map((t) => ({
      t: 1_000_000 + t,
      participants: 5,
      lossAudio: 0,
      lossVideo: undefined,
      jitterP95S: 0.002,
      bitrateInBps: 400_000,
      wireBitrateInBps: undefined,
      bitrateOutBps: 100_000,
      latencyP50S: undefined,
    })),
    joinSeconds: [],
    firstFrameSeconds: [],
    samples: [],
    ...over,
  };
}

/** A 20 s window from t=1 000 000 in which the tree used 2 CPU-s (0.1 cores), the server 0.5. */
const window: WindowMeasure = {
  windowS: 20,
  startMs: 1_000_000,
  endMs: 1_020_000,
  treeCpuS: 2,
  busiestWorkerJsCpuS: 0.5,
  byRole: { orchestrator: 0.1, worker: 1.9 },
  threads: [],
  serverCpuS: 0.5,
  otherCores: 0.05,
  stealCores: 0,
};

function run(over: Partial<PointRun> = {}): PointRun {
  return {
    workload: "audio",
    rooms: 1,
    participants: 5,
    attempt: 0,
    outDir: "/tmp/audio-1r",
    exit: { code: 0, signal: null },
    workers: 1,
    summary: summary(),
    window,
    rssMiB: 100,
    joinLagMs: 500,
    problems: [],
    baseline: undefined,
    bucketMs: 5_000,
    joinGraceMs: 11_000,
    ...over,
  };
}

describe("point figures", () => {
  it("records the joined participants per media path from the run's transport groups", () => {
    const group = (name: string, joined: number): GroupFigures => ({
      name,
      participants: 5,
      joined,
      joinP95S: 0.3,
      lossRatio: 0,
      jitterP95S: undefined,
      reconnects: 0,
      disconnected: 0,
    });
    const transports = [group("turn-only turn-udp", 4), group("turn-only none", 0)];
    const groups = { rooms: [], roles: [], nodes: [], transports };
    expect(describePoint(run({ summary: summary({ groups }) })).paths).toEqual({
      "turn-only turn-udp": 4,
      "turn-only none": 0,
    });
    // a summary without transport groups (older engines) records no paths rather than "none"
    expect(describePoint(run()).paths).toBeUndefined();
  });

  it("prices CPU per participant-minute over the window", () => {
    const p = describePoint(run());
    // 5 participants x 20 s = 5/3 participant-minutes; 2 CPU-s over it
    expect(p.generator?.cpuPerPMin).toBeCloseTo(1.2, 9);
    expect(p.generator?.cores).toBeCloseTo(0.1, 9);
    expect(p.generator?.byRole.orchestrator?.cpuPerPMin).toBeCloseTo(0.06, 9);
    expect(p.server?.cpuPerPMin).toBeCloseTo(0.3, 9);
    expect(p.rss?.perParticipantMiB).toBe(20);
    expect(p).toMatchObject({ keptUp: true, saturated: false, reasons: [], joined: 5, lossP95: 0.001 });
    expect(p.lossRatio).toEqual({ audio: 0, video: null });
  });

  it("averages inbound media over the buckets wholly inside the window, per expected track", () => {
    // buckets at +0..+15 s fit a window ending at +20 s; the one at +20 s does not
    expect(inboundKbpsPerTrack(summary(), window, 4, 5_000)).toBe(100);
    expect(inboundKbpsPerTrack(summary(), window, 0, 5_000)).toBeUndefined();
    expect(inboundKbpsPerTrack(summary(), { startMs: 0, endMs: 1 }, 4, 5_000)).toBeUndefined();
  });

  it("takes the worst kind's loss p95, ignoring empty populations", () => {
    expect(lossP95(summary({ figures: [lossFigure("audio", 0.01), lossFigure("video", 0.03)] }))).toBe(0.03);
    expect(lossP95(summary({ figures: [{ ...lossFigure("audio", 0.5), n: 0 }] }))).toBeUndefined();
    expect(lossP95(undefined)).toBeUndefined();
  });

  it("says why a point did not keep up, and saturates there", () => {
    const p = describePoint(
      run({
        summary: summary({
          participants: { ...summary().participants, reconnects: 2 },
          figures: [lossFigure("audio", 0.05)],
        }),
        baseline: { rooms: 1, inKbps: 200 },
        exit: { code: 1, signal: null },
      }),
    );
    expect(p.keptUp).toBe(false);
    expect(p.saturated).toBe(true);
    expect(p.reasons).toEqual([
      "2 reconnect(s)",
      "loss p95 5.0%",
      "media in 100 kb/s per track, 50% of 1 room's",
      "exit 1",
    ]);
  });

  it("uses kept-up's verdict on joins and tracks, after the problems seen while running", () => {
    const p = describePoint(
      run({
        problems: ["joins still pending 11 s after the last was due (3/5 joined)"],
        summary: summary({
          participants: {
            planned: 5,
            joined: 3,
            connectedAtEnd: 3,
            joinFailures: {},
            disconnects: {},
            reconnects: 0,
          },
        }),
      }),
    );
    expect(p.reasons).toEqual([
      "joins still pending 11 s after the last was due (3/5 joined)",
      "3/5 participants joined",
    ]);
  });

  it("keeps up but saturates when the generator passes 1.8 cores", () => {
    const p = describePoint(run({ window: { ...window, treeCpuS: 40 } }));
    expect(p.keptUp).toBe(true);
    expect(p.saturated).toBe(true);
    expect(p.reasons).toEqual(["generator at 2.00 cores"]);
  });

  it("treats the SIGINT that ends a run after its window (130) as a clean exit", () => {
    expect(describePoint(run({ exit: { code: 130, signal: null } })).keptUp).toBe(true);
  });

  it("has no per-minute figures without a window or a summary", () => {
    const p = describePoint(
      run({ window: undefined, summary: undefined, problems: ["no summary from the run"] }),
    );
    expect(p.generator).toBeUndefined();
    expect(p.joined).toBe(0);
    expect(p.reasons).toEqual(["no summary from the run"]);
  });
});
