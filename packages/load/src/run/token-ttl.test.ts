import { describe, expect, it } from "vitest";
import { joinTokenTtlS } from "./orchestrator.js";
import { planRun } from "./plan.js";

const plan = planRun({
  engine: "native",
  data: false,
  video: { resolution: "360p", width: 640, height: 360, fps: 20, codec: "vp8" },
  rooms: 2,
  videoPublishers: 0,
  audioPublishers: 1,
  subscribers: 2,
  publishersSubscribe: false,
  latencyProbes: 0,
  browserProbes: 0,
  numPerSecond: 1,
  roomPrefix: "r",
  identityPrefix: "p",
  subscribeLimit: undefined,
});

describe("join token lifetime", () => {
  it("lasts the planned run plus ten minutes, never a day", () => {
    // 6 joins at 1/s: the last at 5 s; 60 s hold
    expect(plan.rampMs).toBe(5000);
    expect(joinTokenTtlS({ plan, holdMs: 60_000 })).toBe(65 + 600);
    expect(joinTokenTtlS({ plan, holdMs: 0 })).toBe(605);
  });

  it("is an hour per join for a persistent swarm (the canary re-mints on every join)", () => {
    expect(joinTokenTtlS({ plan, holdMs: 60_000, persistent: true })).toBe(3600);
  });
});
