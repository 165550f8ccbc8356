import { describe, expect, it } from "vitest";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { capacityReport, capacityRow, generatorServerCell, kneeLine, type CapacityResult } from "./report.js";
import type { Step } from "./step.js";

const scenario = parseScenarioObject(
  {
    name: "audio-2party",
    engine: "lean",
    "video-publishers": 0,
    "audio-publishers": 2,
    subscribers: 0,
    "publishers-subscribe": true,
  },
  "test",
);

const step = (rooms: number, outcome: Step["outcome"], jitter: number, serverCores: number): Step => ({
  rooms,
  participants: rooms * 2,
  phase: "ramp",
  outcome,
  reason: outcome === "good" ? "every threshold met" : "jitter broke",
  broken:
    outcome === "bad"
      ? [
          {
            threshold: "lkswarm_inbound_jitter_seconds p95 < 30ms",
            observed: jitter,
            censored: false,
            limit: 0.03,
            op: "<",
            message: "jitter broke",
          },
        ]
      : [],
  thresholds: [
    {
      threshold: "lkswarm_inbound_jitter_seconds p95 < 30ms",
      metric: "lkswarm_inbound_jitter_seconds",
      severity: "fail",
      status: outcome === "good" ? "pass" : "fail",
      observed: jitter,
      limit: 0.03,
      op: "<",
      population: "windows",
      n: 40,
      message: "m",
    },
  ],
  keptUp: { ok: true },
  windowS: 10,
  generator: { cores: 0.2, available: 2, throttled: undefined, workers: 1 },
  server: {
    cores: serverCores,
    rssMiB: 100,
    packetsPerS: { incoming: 500, outgoing: 500 },
    bitsPerS: { incoming: 2e6, outgoing: 3e6 },
    available: 0.5,
    throttled: 0,
  },
  otherCores: 0.1,
  outputDir: "/tmp/x",
});

const result = (knee: CapacityResult["knee"], steps: Step[]): CapacityResult => ({
  scenario,
  quality: ["jitter p95 < 30ms"],
  search: { start: 10, step: 10, max: 40, resolution: 3 },
  timing: { holdMs: 30_000, warmupMs: 10_000 },
  server: { kind: "testbed", cores: 0.5, runDir: undefined },
  machine: "2 cores",
  steps,
  knee,
});

describe("the capacity report", () => {
  const found = result({ kind: "found", good: 20, bad: 22 }, [
    step(10, "good", 0.01, 0.2),
    step(20, "good", 0.02, 0.4),
    step(22, "bad", 0.045, 0.5),
  ]);

  it("names the knee, the threshold the next step broke, observed against limit", () => {
    expect(kneeLine(found)).toBe(
      "knee: 20 rooms met every threshold; 22 rooms broke lkswarm_inbound_jitter_seconds p95 < 30ms (observed 45 ms, limit < 30 ms)",
    );
  });

  it("has the guide's row: rooms per node, participants, quality, server CPU and bandwidth at the knee, rooms per core", () => {
    expect(capacityRow(found)).toEqual([
      "audio-2party",
      "20",
      "40",
      "jitter 20 ms",
      "0.40 of 0.5",
      "2.00 / 3.00",
      "40",
    ]);
  });

  it("reports no server capacity when generator-bound, saying whose limit it is", () => {
    const bound = result({ kind: "generator-bound", rooms: 30, good: 20 }, [
      step(20, "good", 0.02, 0.4),
      { ...step(30, "generator-bound", 0.02, 0.3), reason: "the generator used 1.9 of its 2 cores" },
    ]);
    expect(capacityRow(bound)).toBeUndefined();
    expect(kneeLine(bound)).toContain("GENERATOR-BOUND at 30 rooms: the generator used 1.9 of its 2 cores");
    expect(kneeLine(bound)).toContain("not the server's");
    expect(capacityReport(bound).markdown).toContain("No server capacity to report");
  });

  it("puts the generator's CPU beside the server's, per step and at the last good step", () => {
    // generator 0.2 cores against the server's 0.4 at 20 rooms: 0.50x
    expect(generatorServerCell(step(20, "good", 0.02, 0.4))).toBe("0.50x");
    expect(
      generatorServerCell({
        ...step(20, "good", 0.02, 0.4),
        server: { ...step(20, "good", 0.02, 0.4).server, cores: undefined },
      }),
    ).toBe("?");
    const md = capacityReport(found).markdown;
    expect(md).toContain(
      "Generator at the last good step (20 rooms): 0.20 cores for the server's 0.40, generator/server 0.50x.",
    );
    expect(md).toContain("| generator cores (busiest worker thread) | generator/server CPU | other cores |");
    expect(md).toContain("| 0.20 of 2.00 | 0.50x | 0.10 |");
    const none = result({ kind: "none-good", bad: 10 }, [step(10, "bad", 0.045, 0.5)]);
    expect(capacityReport(none).markdown).not.toContain("Generator at the last good step");
  });

  it("marks the knee on the plot and puts the same table in markdown and html", () => {
    const report = capacityReport(found);
    expect(report.svg).toContain("knee 20");
    expect(report.html).toContain(report.svg);
    expect(report.markdown).toContain("| audio-2party | 20 | 40 |");
    expect(report.html).toContain("<td>audio-2party</td><td>20</td><td>40</td>");
  });
});
