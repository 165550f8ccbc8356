import { describe, expect, it } from "vitest";
import type { ThresholdResult } from "@livekit-swarm/gate";
import { judgeNotStarted, judgeStep, type StepReading } from "./judge.js";

const lossResult = (status: ThresholdResult["status"], observed: number): ThresholdResult => ({
  threshold: "lkswarm_inbound_loss_ratio p95 over participants < 1%",
  metric: "lkswarm_inbound_loss_ratio",
  severity: "fail",
  status,
  observed,
  limit: 0.01,
  op: "<",
  population: "participants",
  n: 20,
  message: `lkswarm_inbound_loss_ratio p95 over participants = ${String(observed)} (limit < 0.01)`,
});

const reading = (r: Partial<StepReading> = {}): StepReading => ({
  rooms: 10,
  participants: 20,
  thresholds: [lossResult("pass", 0.001)],
  keptUp: { ok: true },
  generator: { cores: 0.4, available: 2 },
  server: { cores: 0.1, available: 0.25 },
  ...r,
});

describe("judging a step", () => {
  it("is good when every threshold passed and the generator kept up", () => {
    expect(judgeStep(reading())).toMatchObject({ outcome: "good", broken: [] });
  });

  it("is bad when a threshold broke, naming it with observed and limit", () => {
    const j = judgeStep(
      reading({ thresholds: [lossResult("fail", 0.04)], server: { cores: 0.25, available: 0.25 } }),
    );
    expect(j.outcome).toBe("bad");
    expect(j.broken).toEqual([
      expect.objectContaining({
        threshold: "lkswarm_inbound_loss_ratio p95 over participants < 1%",
        observed: 0.04,
        limit: 0.01,
        op: "<",
      }),
    ]);
  });

  it("is bad when a threshold has no data (no data never passes)", () => {
    expect(
      judgeStep(reading({ thresholds: [{ ...lossResult("no-data", 0), observed: undefined }] })).outcome,
    ).toBe("bad");
  });

  it("ignores warn-severity breaches", () => {
    const warn = { ...lossResult("warn", 0.04), severity: "warn" as const };
    expect(judgeStep(reading({ thresholds: [warn] })).outcome).toBe("good");
  });

  it("is generator-bound when the generator's CPU is near the cores it may use, even with thresholds broken", () => {
    const j = judgeStep(
      reading({ generator: { cores: 0.09, available: 0.1 }, thresholds: [lossResult("fail", 0.3)] }),
    );
    expect(j.outcome).toBe("generator-bound");
    expect(j.reason).toMatch(/generator used 0.09 of its 0.10 cores \(90%\): add cores or shards/);
  });

  it("is generator-bound when the generator's cgroup was throttled in many periods, whatever its average", () => {
    const j = judgeStep(reading({ generator: { cores: 0.06, available: 0.1, throttled: 0.5 } }));
    expect(j.outcome).toBe("generator-bound");
    expect(j.reason).toContain("throttled in 50% of its CPU periods");
    expect(judgeStep(reading({ generator: { cores: 0.06, available: 0.1, throttled: 0.05 } })).outcome).toBe(
      "good",
    );
  });

  it("counts a throttled server as saturated", () => {
    const j = judgeStep(
      reading({
        keptUp: { ok: false, reason: "z" },
        server: { cores: 0.1, available: 0.25, throttled: 0.6 },
      }),
    );
    expect(j.outcome).toBe("bad");
  });

  it("is generator-bound when the engine did not keep up while the server had headroom", () => {
    const j = judgeStep(
      reading({
        keptUp: { ok: false, reason: "18/20 participants joined" },
        server: { cores: 0.05, available: 0.25 },
      }),
    );
    expect(j.outcome).toBe("generator-bound");
    expect(j.reason).toContain("18/20 participants joined");
    expect(j.reason).toContain("the server had headroom (0.05 of 0.25 cores)");
  });

  it("blames neither when the server's cores are unknown: not kept up is generator-bound, asking for --server-cores", () => {
    const j = judgeStep(
      reading({ keptUp: { ok: false, reason: "x" }, server: { cores: 3, available: undefined } }),
    );
    expect(j.outcome).toBe("generator-bound");
    expect(j.reason).toContain("--server-cores");
  });

  it("is bad when a saturated server did not carry the plan, thresholds passing or not", () => {
    const saturated = { cores: 0.24, available: 0.25 };
    expect(
      judgeStep(reading({ keptUp: { ok: false, reason: "3/40 tracks receiving" }, server: saturated })),
    ).toMatchObject({
      outcome: "bad",
      reason: "the saturated server did not carry the plan: 3/40 tracks receiving",
    });
    expect(
      judgeStep(
        reading({
          keptUp: { ok: false, reason: "y" },
          server: saturated,
          thresholds: [lossResult("fail", 0.2)],
        }),
      ).outcome,
    ).toBe("bad");
  });

  it("is generator-bound when quality broke with the server unsaturated on a full machine", () => {
    const j = judgeStep(
      reading({
        thresholds: [lossResult("fail", 0.04)],
        generator: { cores: 1.34, available: 2 },
        server: { cores: 0.08, available: 1, throttled: 0 },
        machine: { busy: 1.9, cores: 2 },
      }),
    );
    expect(j.outcome).toBe("generator-bound");
    expect(j.reason).toContain("machine was full (1.90 of 2 cores, the generator 1.34)");
  });

  it("keeps a full machine's step good when quality held, and bad when the server was saturated", () => {
    const full = { busy: 1.95, cores: 2 };
    expect(judgeStep(reading({ machine: full })).outcome).toBe("good");
    expect(
      judgeStep(
        reading({
          machine: full,
          thresholds: [lossResult("fail", 0.04)],
          server: { cores: 0.2, available: 0.25, throttled: 0.5 },
        }),
      ).outcome,
    ).toBe("bad");
  });

  it("is generator-bound when quality broke while one worker's JavaScript thread was full, the tree's total low", () => {
    // the lean 1080p step that prompted the rule: 72 participants in one worker, jitter broken
    const busy = { cores: 1.26, available: 2, busiestThread: 0.97 };
    const j = judgeStep(
      reading({
        thresholds: [lossResult("fail", 0.04)],
        generator: busy,
        server: { cores: 0.34, available: 1, throttled: 0 },
        machine: { busy: 1.6, cores: 2 },
      }),
    );
    expect(j.outcome).toBe("generator-bound");
    expect(j.reason).toContain("a worker's JavaScript thread was full (0.97 of the one core it can use");
    expect(j.reason).toContain("--workers");
    // quality held: the step stands; a thread under the line: the server is blamed
    expect(judgeStep(reading({ generator: busy })).outcome).toBe("good");
    expect(
      judgeStep(
        reading({ thresholds: [lossResult("fail", 0.04)], generator: { ...busy, busiestThread: 0.8 } }),
      ).outcome,
    ).toBe("bad");
    // a saturated server carries the blame whatever the thread did
    expect(
      judgeStep(
        reading({
          thresholds: [lossResult("fail", 0.04)],
          generator: busy,
          server: { cores: 0.25, available: 0.25, throttled: 0.6 },
        }),
      ).outcome,
    ).toBe("bad");
  });
});

describe("judging a step whose run never started", () => {
  it("is generator-bound when the generator was throttled or saturated while it waited, with the cause and the fix", () => {
    const throttled = judgeNotStarted({ generator: { cores: 0.02, throttled: 1, available: 0.02 } }, 60);
    expect(throttled).toEqual({
      outcome: "generator-bound",
      reason:
        "the run did not start within 60 s while the generator used 0.02 of its 0.02 cores, throttled in 100% of its CPU periods: the generator was starved; free its cores, add cores or shards",
      broken: [],
    });
  });

  it("is generator-bound when its machine was full (busy loops on its cores), whatever the generator used", () => {
    const full = judgeNotStarted(
      { generator: { cores: 0.05, available: 1 }, machine: { busy: 1.95, cores: 2 } },
      60,
    );
    expect(full?.outcome).toBe("generator-bound");
    expect(full?.reason).toBe(
      "the run did not start within 60 s while its machine was full (1.95 of 2 cores, the generator 0.05): the generator was starved; free its cores, add cores or shards",
    );
  });

  it("says nothing when neither was seen: the cause is not the generator's CPU, and the step fails as before", () => {
    expect(
      judgeNotStarted({ generator: { cores: 0.1, available: 2 }, machine: { busy: 0.6, cores: 2 } }, 60),
    ).toBeUndefined();
    expect(judgeNotStarted({ generator: { cores: 0.1, available: 2 } }, 60)).toBeUndefined();
  });
});
