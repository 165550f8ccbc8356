import { describe, expect, it } from "vitest";
import { runRecordOf } from "./baseline.js";
import {
  changeOf,
  compareRuns,
  comparisonHeadline,
  comparisonMarkdown,
  comparisonTable,
  deltaText,
  relativeText,
  type ComparedFigure,
} from "./comparison.js";
import { mannWhitney } from "./noise.js";
import { runTotals } from "./totals.js";

/** A summary.json as a run writes it, cut to what a comparison reads. */
function summary(o: {
  joined?: number;
  reconnects?: number;
  lossAudio?: number;
  audioLossValues?: number[];
  joinP95?: number;
  joinCensored?: boolean;
  bitrate?: number;
}): unknown {
  return {
    run: { id: "r" },
    scenario: { rooms: 1 },
    participants: {
      planned: 4,
      joined: o.joined ?? 4,
      connectedAtEnd: o.joined ?? 4,
      joinFailures: o.joined !== undefined && o.joined < 4 ? { timeout: 4 - o.joined } : {},
      disconnects: {},
      reconnects: o.reconnects ?? 0,
    },
    tracks: { receiving: { audio: 6, video: 6 } },
    loss: { audio: { ratio: o.lossAudio ?? 0.001 }, video: { ratio: undefined } },
    counters: { freezes: 2, total_samples: 1000, concealed_samples: 10 },
    figures: [
      {
        metric: "lkswarm_join_duration_seconds",
        label: "join time",
        unit: "s",
        population: "participants",
        n: 4,
        p50: 0.2,
        p95: o.joinP95 ?? 0.4,
        ...(o.joinCensored === true ? { censored: { n: 1, above: ["p95"] } } : {}),
      },
      {
        metric: "lkswarm_inbound_bytes_total",
        label: "bitrate in",
        unit: "bps",
        population: "participants",
        n: 4,
        p50: o.bitrate ?? 500_000,
        p95: o.bitrate ?? 500_000,
      },
    ],
    samples:
      o.audioLossValues === undefined
        ? undefined
        : [
            {
              metric: "lkswarm_inbound_loss_ratio",
              population: "participants",
              where: { kind: "audio" },
              values: o.audioLossValues,
            },
          ],
  };
}

const find = (rows: readonly ComparedFigure[], label: string, stat = "total", kind?: string) => {
  const r = rows.find((x) => x.label === label && x.stat === stat && (kind === undefined || x.kind === kind));
  if (r === undefined) throw new Error(`no row ${label} ${stat}`);
  return r;
};

describe("run totals", () => {
  it("reads the counts and ratios of sums a summary has, and leaves out what it lacks", () => {
    expect(runTotals(summary({ joined: 3, reconnects: 2 }))).toEqual({
      joined: 3,
      join_failures: 1,
      disconnects: 0,
      reconnects: 2,
      connected_at_end: 3,
      loss_audio: 0.001,
      receiving_audio: 6,
      receiving_video: 6,
      freezes: 2,
      concealed: 0.01,
    });
    expect(runTotals({ run: {}, figures: [] })).toEqual({});
    expect(runTotals(null)).toEqual({});
  });
});

describe("compareRuns", () => {
  const base = runRecordOf(summary({}), "base.json");

  it("a run against itself: every row the same, nothing worse", () => {
    const c = compareRuns(base, base);
    expect(c.rows.every((r) => r.change === "same")).toBe(true);
    expect(c.counts.worse).toBe(0);
    expect(comparisonHeadline(c)).toBe(`${c.rows.length} the same`);
  });

  it("colours by direction: more reconnects and fewer joined are worse, lower join time and more bitrate better", () => {
    const c = compareRuns(
      base,
      runRecordOf(summary({ joined: 3, reconnects: 2, joinP95: 0.3, bitrate: 600_000 }), "b.json"),
    );
    expect(find(c.rows, "participants joined").change).toBe("worse");
    expect(find(c.rows, "join failures").change).toBe("worse");
    expect(find(c.rows, "reconnects")).toMatchObject({ delta: 2, change: "worse", deltaRatio: undefined });
    expect(relativeText(find(c.rows, "reconnects"))).toBe("new");
    expect(find(c.rows, "join time", "p95")).toMatchObject({ change: "better" });
    expect(find(c.rows, "join time", "p95").deltaRatio).toBeCloseTo(-0.25, 12);
    expect(find(c.rows, "bitrate in", "p50").change).toBe("better");
    expect(find(c.rows, "join time", "p50").change).toBe("same");
  });

  it("a ratio's delta is in points, its relative change in percent", () => {
    const c = compareRuns(base, runRecordOf(summary({ lossAudio: 0.031 }), "b.json"));
    const loss = find(c.rows, "loss of all packets", "total", "audio");
    expect(deltaText(loss)).toBe("+3.00 pt");
    expect(relativeText(loss)).toBe("+3000.0%");
    expect(loss.change).toBe("worse");
  });

  it("grey within noise where both runs have per-participant values, red beyond it", () => {
    const quiet = [0, 0.001, 0.002, 0.001, 0, 0.002, 0.001, 0.003];
    const a = runRecordOf(summary({ audioLossValues: quiet }), "a.json");
    // the audio loss row against a run whose every participant lost `shift` more
    const against = (lossAudio: number, shift: number) => {
      const b = runRecordOf(summary({ lossAudio, audioLossValues: quiet.map((v) => v + shift) }), "b.json");
      return find(compareRuns(a, b).rows, "loss of all packets", "total", "audio");
    };
    const near = against(0.0012, 0.0001);
    expect(near.noise?.withinNoise).toBe(true);
    expect(near.change).toBe("noise");
    const far = against(0.1, 0.1);
    expect(far.noise?.withinNoise).toBe(false);
    expect(far.change).toBe("worse");
  });

  it("a censored value shows as a lower bound; a figure only one run has is left out", () => {
    const c = compareRuns(base, runRecordOf(summary({ joinCensored: true, joinP95: 20 }), "b.json"));
    const table = comparisonTable(c);
    expect(table).toMatch(
      /join time\s+participants\s+p95\s+400\.0 ms\s+> 20\.00 s\s+\+19\.60 s\s+\+4900\.0%\s+WORSE/,
    );
    const noBitrate = runRecordOf(
      { ...(summary({}) as object), figures: (summary({}) as { figures: unknown[] }).figures.slice(0, 1) },
      "c.json",
    );
    expect(compareRuns(base, noBitrate).rows.some((r) => r.label === "bitrate in")).toBe(false);
  });

  it("markdown: one row per figure, pipes escaped, the change marked", () => {
    const c = compareRuns(
      runRecordOf(summary({}), "a|b.json"),
      runRecordOf(summary({ reconnects: 1 }), "c.json"),
    );
    const md = comparisonMarkdown(c);
    expect(md).toMatch(
      /^### Against the baseline: 1 worse, \d+ the same\n\nBaseline a\\\|b.json \(run r\)\./,
    );
    expect(md).toContain("| reconnects |  | run | total | 0 | 1 | +1 | new | 🔴 WORSE | no samples |");
    expect(md.split("\n").filter((l) => l.startsWith("| ")).length).toBe(c.rows.length + 2);
  });
});

describe("changeOf", () => {
  const noise = mannWhitney([1, 2, 3], [1, 2, 3]);
  it("undefined is missing, 0 the same, within noise grey, otherwise by direction", () => {
    expect(changeOf(undefined, "higher-is-worse", undefined)).toBe("missing");
    expect(changeOf(0, "higher-is-worse", undefined)).toBe("same");
    expect(changeOf(1, "higher-is-worse", noise)).toBe("noise");
    expect(changeOf(1, "higher-is-worse", undefined)).toBe("worse");
    expect(changeOf(-1, "higher-is-worse", undefined)).toBe("better");
    expect(changeOf(1, "lower-is-worse", undefined)).toBe("better");
    expect(changeOf(-1, "lower-is-worse", undefined)).toBe("worse");
  });
});
