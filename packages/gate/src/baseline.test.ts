import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  applyBaseline,
  assertComparable,
  assertWholeBaseline,
  loadBaseline,
  parseRunRecord,
  sampleSets,
  workloadDifferences,
  type RunRecord,
} from "./baseline.js";
import { compareRuns, comparisonTable } from "./comparison.js";
import { Measurements } from "./measurements.js";
import { junitXml, markdownSummary } from "./outputs.js";
import { parseThreshold, relativeLimit, ThresholdError } from "./threshold.js";
import { evaluate } from "./verdict.js";

const SCENARIO = {
  name: "s",
  rooms: 2,
  subscribers: 3,
  videoPublishers: 1,
  audioPublishers: 1,
  duration: 5000,
};

/** A fixed pseudo-random sequence (LCG): reproducible join times. */
function joins(n: number, seed: number, shift = 0): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return 0.5 + s / 4294967296 + shift;
  });
}

function runWith(joinSeconds: readonly number[]): Measurements {
  const m = new Measurements();
  m.setRunWindow(0, 10_000);
  joinSeconds.forEach((joinS, i) => {
    m.onEvent(
      { t: 100 + i, room: "r", participant: `p${i}`, role: "subscriber", worker: 0 },
      { type: "joined", joinS },
    );
  });
  return m;
}

function recordOf(m: Measurements, file = "base/summary.json", scenario: object = SCENARIO): RunRecord {
  const f = m.figure("lkswarm_join_duration_seconds", "participants");
  const figure = {
    n: f.n,
    p50: f.p50.value,
    p95: f.p95.value,
    p99: f.p99.value,
    min: f.min.value,
    max: f.max.value,
    avg: f.avg.value,
  };
  return parseRunRecord(
    JSON.stringify({
      run: { id: "base-run" },
      scenario,
      figures: [
        {
          metric: "lkswarm_join_duration_seconds",
          label: "join time",
          unit: "s",
          population: "participants",
          ...figure,
        },
      ],
      samples: sampleSets(m),
    }),
    file,
  );
}

const JOIN = "lkswarm_join_duration_seconds p95 <= baseline + 20%";

describe("relative thresholds: parsing", () => {
  it("reads percent, points, factor, absolute and bare baseline", () => {
    expect(parseThreshold(JOIN).relative).toEqual({
      op: "+",
      unit: "percent",
      amount: 20,
      text: "baseline + 20%",
    });
    expect(parseThreshold("lkswarm_inbound_loss_ratio p95 <= baseline + 0.5pt").relative).toMatchObject({
      unit: "points",
      amount: 0.005,
    });
    expect(parseThreshold("lkswarm_join_duration_seconds p95 <= baseline*1.2").relative).toMatchObject({
      op: "*",
      unit: "factor",
      amount: 1.2,
    });
    expect(parseThreshold("lkswarm_join_duration_seconds p95 <= baseline + 100ms").relative).toMatchObject({
      unit: "absolute",
      amount: 0.1,
    });
    const bare = parseThreshold("lkswarm_join_duration_seconds p95 <= baseline severity=warn noise=fail");
    expect(bare.relative).toMatchObject({ unit: "absolute", amount: 0 });
    expect(bare.severity).toBe("warn");
    expect(bare.noiseSeverity).toBe("fail");
  });

  it("refuses points on a time metric, a unit on a factor, and noise= on an absolute threshold", () => {
    expect(() => parseThreshold("lkswarm_join_duration_seconds p95 <= baseline + 1pt")).toThrow(
      /pt \(percentage points\) applies to ratio metrics/,
    );
    expect(() => parseThreshold("lkswarm_join_duration_seconds p95 <= baseline * 2s")).toThrow(
      /takes no unit/,
    );
    expect(() => parseThreshold("lkswarm_join_duration_seconds p95 < 2s noise=fail")).toThrow(ThresholdError);
  });

  it("computes the limit from the baseline value", () => {
    const limit = (text: string, b: number): number => {
      const r = parseThreshold(text).relative;
      if (r === undefined) throw new Error("not relative");
      return relativeLimit(r, b);
    };
    expect(limit(JOIN, 1)).toBeCloseTo(1.2, 12);
    expect(limit("lkswarm_inbound_loss_ratio p95 <= baseline + 0.5pt", 0.01)).toBeCloseTo(0.015, 12);
    expect(limit("lkswarm_join_duration_seconds p95 >= baseline - 10%", 2)).toBeCloseTo(1.8, 12);
    expect(limit("lkswarm_join_duration_seconds p95 <= baseline * 1.2", 2)).toBeCloseTo(2.4, 12);
  });
});

describe("relative thresholds: evaluation", () => {
  const base = recordOf(runWith(joins(40, 1)));

  it("without a baseline is a one-line error naming --baseline", () => {
    expect(() => applyBaseline([parseThreshold(JOIN)], undefined)).toThrow(
      /compares with a baseline: pass --baseline <summary.json or run folder>$/,
    );
    expect(() => evaluate([parseThreshold(JOIN)], runWith([1]))).toThrow(/pass --baseline/);
  });

  it("passes a run like the baseline, naming the baseline value and the delta", () => {
    const r = evaluate(applyBaseline([parseThreshold(JOIN)], base), runWith(joins(40, 2))).results[0];
    expect(r?.status, r?.message).toBe("pass");
    expect(r?.baseline?.value).toBeGreaterThan(1.3);
    expect(r?.baseline?.noise?.withinNoise).toBe(true);
    expect(r?.message).toMatch(/baseline 1\.\d+ s, delta [+-]?\d+ ms/);
  });

  it("fails a breach beyond run-to-run noise", () => {
    const r = evaluate(applyBaseline([parseThreshold(JOIN)], base), runWith(joins(40, 2, 1))).results[0];
    expect(r?.status, r?.message).toBe("fail");
    expect(r?.baseline?.noise?.withinNoise).toBe(false);
    expect(r?.message).toMatch(/beyond run-to-run noise/);
  });

  it("warns on a breach within noise, and fails it with noise=fail", () => {
    // three slow stragglers lift p95 (the 38th of 40) while the bulk of the distribution is the same
    const current = runWith([...joins(37, 1), 3, 3, 3]);
    const t = parseThreshold("lkswarm_join_duration_seconds p95 <= baseline + 5%");
    const r = evaluate(applyBaseline([t], base), current).results[0];
    expect(r?.status, r?.message).toBe("warn");
    expect(r?.message).toMatch(/within run-to-run noise \(Mann-Whitney p=/);
    const strict = parseThreshold("lkswarm_join_duration_seconds p95 <= baseline + 5% noise=fail");
    expect(evaluate(applyBaseline([strict], base), current).results[0]?.status).toBe("fail");
  });

  it("a metric missing from the baseline is no data, naming the baseline file", () => {
    const t = parseThreshold("lkswarm_inbound_loss_ratio p95 <= baseline + 0.5pt");
    const r = evaluate(applyBaseline([t], base), runWith(joins(5, 3))).results[0];
    expect(r?.status).toBe("no-data");
    expect(r?.message).toMatch(/the baseline base\/summary.json has no p95 of lkswarm_inbound_loss_ratio/);
  });

  it("falls back to the summary's figures for a baseline written without samples", () => {
    const old = { ...base, samples: undefined };
    const r = evaluate(applyBaseline([parseThreshold(JOIN)], old), runWith(joins(40, 2))).results[0];
    expect(r?.baseline?.value).toBe(base.figures[0]?.p95);
    expect(r?.baseline?.noise).toBeUndefined();
    expect(r?.status).toBe("pass");
  });

  it("a metric on no track (round trip) over tracks: the baseline's windows figure, the noise test over participants", () => {
    const rtt = (shift: number): Measurements => {
      const m = new Measurements();
      m.setRunWindow(0, 10_000_000);
      // 40 participants x 60 windows: 2,400 round trips, past the sketch's exact size
      for (let k = 1; k <= 60; k++)
        for (let i = 0; i < 40; i++)
          m.onSample({
            t: k * 5000 + i,
            durationMs: 5000,
            room: "r",
            participant: `p${i}`,
            role: "subscriber",
            worker: 0,
            inbound: [],
            outbound: [],
            rttS: 0.01 + ((i * 7 + k) % 13) / 1000 + shift,
            dataSent: 0,
            dataReceived: 0,
          });
      return m;
    };
    const m = rtt(0);
    const sets = sampleSets(m);
    // its tracks are its windows: left out of the samples as windows are, its participants kept
    expect(
      sets.filter((x) => x.metric === "lkswarm_round_trip_time_seconds").map((x) => x.population),
    ).toEqual(["participants"]);
    const w = m.figure("lkswarm_round_trip_time_seconds", "windows");
    const record = parseRunRecord(
      JSON.stringify({
        run: { id: "base-run" },
        scenario: SCENARIO,
        figures: [
          {
            metric: "lkswarm_round_trip_time_seconds",
            label: "round-trip time",
            unit: "s",
            population: "windows",
            n: w.n,
            p50: w.p50.value,
            p95: w.p95.value,
            p99: w.p99.value,
            min: w.min.value,
            max: w.max.value,
            avg: w.avg.value,
          },
        ],
        samples: sets,
      }),
      "base/summary.json",
    );
    const t = parseThreshold("lkswarm_round_trip_time_seconds p95 over tracks <= baseline + 20%");
    const [applied] = applyBaseline([t], record);
    expect(applied?.baseline?.value).toBe(w.p95.value);
    // the per-participant means: 40 of them, the noise test's population
    expect(applied?.baseline?.samples).toHaveLength(40);
    const same = evaluate([applied ?? t], rtt(0)).results[0];
    expect(same?.status, same?.message).toBe("pass");
    const worse = evaluate([applied ?? t], rtt(0.02)).results[0];
    expect(worse?.status, worse?.message).toBe("fail");
    expect(worse?.baseline?.noise?.withinNoise).toBe(false);
  });

  it("renders baseline, observed and delta in JUnit and markdown", () => {
    const verdict = evaluate(
      applyBaseline([parseThreshold(JOIN), parseThreshold("lkswarm_join_duration_seconds max < 10s")], base),
      runWith(joins(40, 2, 1)),
    );
    const xml = junitXml(verdict, "suite", 1);
    expect(xml).toMatch(
      /name="lkswarm_join_duration_seconds p95 &lt;= baseline \+ 20% \[baseline 1\.\d+ s, observed 2\.\d+ s, delta \+\d+ ms \(\+\d+\.\d%\), DIFFERENT \(p=0\.000, n=40\/40\)\]"/,
    );
    const md = markdownSummary(verdict, "t");
    expect(md).toContain("| result | threshold | baseline | observed | delta | noise | over |");
    expect(md).toMatch(
      /\| ❌ fail \| `lkswarm_join_duration_seconds p95 <= baseline \+ 20%` \| 1\.\d+ s \| 2\.\d+ s \| \+\d+ ms \(\+\d+\.\d%\) \| DIFFERENT/,
    );
    expect(md).toMatch(/\| ✅ pass \| `lkswarm_join_duration_seconds max < 10s` \| {2}\| /);
  });
});

describe("run records and comparison", () => {
  it("names the file and the fix for non-JSON and non-summary input", () => {
    expect(() => parseRunRecord("nope", "x.json")).toThrow(/^x.json: not JSON; pass the summary.json/);
    expect(() => parseRunRecord('{"a":1}', "y.json")).toThrow(/^y.json: not a run summary/);
  });

  it("refuses different workloads unless forced", () => {
    const a = recordOf(runWith(joins(5, 1)), "a.json");
    const b = recordOf(runWith(joins(5, 1)), "b.json", { ...SCENARIO, rooms: 3, duration: 60000 });
    expect(workloadDifferences(a, b)).toEqual(["rooms 2 vs 3"]);
    expect(() => {
      assertComparable(a, b, false);
    }).toThrow(/a.json and b.json ran different workloads \(rooms 2 vs 3\).*--force-compare$/);
    expect(() => {
      assertComparable(a, b, true);
    }).not.toThrow();
  });

  it("counts the engine, browser probes, profiles, E2EE, a storm and the browser layout as the workload; an older summary reads defaults", () => {
    const a = recordOf(runWith(joins(5, 1)), "a.json");
    const lean = recordOf(runWith(joins(5, 1)), "b.json", {
      ...SCENARIO,
      engine: "lean",
      browserProbes: 1,
      e2ee: { wrongKeySubscribers: 0, failureTolerance: 10, ratchetWindowSize: 0 },
      networkProfiles: { open: 0.5, "udp-blocked": 0.5 },
      participantsPerPage: 4,
    });
    expect(workloadDifferences(a, lean)).toEqual([
      'engine "native" vs "lean"',
      "browserProbes 0 vs 1",
      'e2ee null vs {"wrongKeySubscribers":0,"failureTolerance":10,"ratchetWindowSize":0}',
      'networkProfiles null vs {"open":0.5,"udp-blocked":0.5}',
      "participantsPerPage 1 vs 4",
    ]);
    // SCENARIO has neither field, as a summary written before they existed
    const current = recordOf(runWith(joins(5, 1)), "c.json", {
      ...SCENARIO,
      engine: "native",
      browserProbes: 0,
      participantsPerPage: 1,
      pagesPerBrowser: 1,
    });
    expect(workloadDifferences(a, current)).toEqual([]);
  });

  it("compares figure by figure: identical runs within noise, shifted ones not", () => {
    const a = recordOf(runWith(joins(30, 1)), "a.json");
    const same = compareRuns(a, recordOf(runWith(joins(30, 2)), "b.json")).rows[0];
    expect(same?.noise?.withinNoise).toBe(true);
    expect(same?.change).toBe("noise");
    const slower = recordOf(runWith(joins(30, 2, 0.8)), "c.json");
    const c = compareRuns(a, slower);
    const p95 = c.rows.find((r) => r.stat === "p95");
    expect(p95?.noise?.withinNoise).toBe(false);
    expect(p95?.delta).toBeGreaterThan(0.5);
    expect(p95?.change).toBe("worse");
    const table = comparisonTable(c);
    expect(table).toMatch(/^baseline: a.json \(run base-run\)\nthis run: c.json/);
    expect(table).toMatch(
      /join time\s+participants\s+p95\s+[\d.]+ s\s+[\d.]+ s\s+\+\d+\.\d ms\s+\+\d+\.\d%\s+WORSE\s+DIFFERENT \(p=0\.000, n=30\/30\)/,
    );
  });
});

describe("a baseline that is not a whole run", () => {
  const read = (run: Record<string, unknown>, health?: unknown): RunRecord =>
    parseRunRecord(
      JSON.stringify({ run: { id: "r", ...run }, figures: [], ...(health !== undefined ? { health } : {}) }),
      "b/summary.json",
    );

  it("says how a run that did not complete, or was inconclusive, ended; a whole one says nothing", () => {
    const cases: [Record<string, unknown>, unknown, string | undefined][] = [
      [{ endReason: "completed" }, { status: "healthy", exitCode: 0 }, undefined],
      // a run LiveKit failed is a whole measurement of LiveKit
      [{ endReason: "completed" }, { status: "livekit", exitCode: 99 }, undefined],
      [{}, undefined, undefined],
      [{ endReason: "interrupted" }, { status: "livekit", exitCode: 130 }, "was interrupted (exit 130)"],
      [{ endReason: "aborted" }, { exitCode: 99 }, "was aborted by a threshold before its end (exit 99)"],
      [{ endReason: "server-unreachable" }, undefined, "lost its server before its end"],
      [{ endReason: "no-participant-joined" }, { exitCode: 1 }, "had no participant join (exit 1)"],
      [{ endReason: "workers-lost" }, { exitCode: 2 }, "lost every worker process before its end (exit 2)"],
      [
        { endReason: "completed" },
        { status: "generator", exitCode: 2 },
        "was inconclusive: a check failed on the generator's side (see its health) (exit 2)",
      ],
      // hostile: a reason this version does not know is shown as it is, a code that is no integer not at all
      [{ endReason: "eaten\u0007" }, { exitCode: 1.5 }, 'ended as "eaten\\u0007"'],
      [{ endReason: "toString" }, undefined, 'ended as "toString"'],
      [{ endReason: 42 }, "healthy", undefined],
    ];
    for (const [run, health, partial] of cases)
      expect(read(run, health).partial, JSON.stringify(run)).toBe(partial);
  });

  it("is refused as a baseline, naming the fix, unless forced; swarm gate (no scenario) never forces", async () => {
    const stopped = read({ endReason: "interrupted" }, { status: "livekit", exitCode: 130 });
    expect(() => {
      assertWholeBaseline(stopped, false, ", or --force-compare to use it anyway");
    }).toThrow(
      /^b\/summary.json: the baseline run was interrupted \(exit 130\), so its figures are not a whole measurement of LiveKit; pass a run that ran to its end with a conclusive health \(one that exited 0, or 99 for a threshold it failed\), or --force-compare to use it anyway$/,
    );
    expect(() => {
      assertWholeBaseline(stopped, true, "");
    }).not.toThrow();
    const dir = mkdtempSync(join(tmpdir(), "baseline-partial-"));
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ run: { id: "r", endReason: "workers-lost" }, scenario: SCENARIO, figures: [] }),
    );
    await expect(loadBaseline(dir, SCENARIO, false)).rejects.toThrow(/--force-compare to use it anyway$/);
    expect((await loadBaseline(dir, SCENARIO, true))?.partial).toBe(
      "lost every worker process before its end",
    );
    await expect(loadBaseline(dir, undefined, true)).rejects.toThrow(/for a threshold it failed\)$/);
  });

  it("is marked in a comparison, on either side", () => {
    const whole = read({ endReason: "completed" }, { status: "healthy", exitCode: 0 });
    const table = comparisonTable(compareRuns(whole, read({ endReason: "interrupted" }, { exitCode: 130 })));
    expect(table).toMatch(
      /^baseline: b\/summary.json \(run r\)\nthis run: b\/summary.json \(run r\): NOT A WHOLE RUN, it was interrupted \(exit 130\)\n/,
    );
  });
});

describe("a hostile summary.json read back", () => {
  const doc = (over: Record<string, unknown>, figure: Record<string, unknown> = {}): string =>
    JSON.stringify({
      run: { id: "20261128-155758-8072" },
      figures: [
        { metric: "lkswarm_join_duration_seconds", population: "participants", n: 4, p95: 0.2, ...figure },
      ],
      ...over,
    });

  it.each([
    ["a string figure", doc({}, { p95: "0.2" }), /figures\[0\]\.p95: expected a finite number, got "0\.2"/],
    ["1e999", doc({}, { p95: 0.5 }).replace("0.5", "1e999"), /figures\[0\]\.p95: expected a finite number/],
    ["a negative count", doc({}, { n: -3 }), /figures\[0\]\.n: expected a count, got -3/],
    [
      "a metric that is no name",
      doc({}, { metric: "x{y}" }),
      /figures\[0\]\.metric: "x\{y\}" is not a metric name/,
    ],
    [
      "an ANSI escape in run.id",
      doc({ run: { id: "\u001b[31mred" } }),
      /run\.id "\\u001b\[31mred": expected 1 to 64 letters/,
    ],
    [
      "an ANSI escape in a label",
      doc({}, { label: "\u001b[2J" }),
      /figures\[0\]\.label: "\\u001b\[2J" is not text/,
    ],
    [
      "a sample that is text",
      doc({
        samples: [
          {
            metric: "lkswarm_join_duration_seconds",
            population: "participants",
            where: {},
            values: [0.1, "x"],
          },
        ],
      }),
      /samples\[0\]\.values\[1\]: expected a finite number, got "x"/,
    ],
  ])("refuses %s in one line naming the field", (_what, text, message) => {
    expect(() => parseRunRecord(text, "s.json")).toThrow(message);
  });

  it("reads what a run writes", () => {
    expect(parseRunRecord(doc({}), "s.json")).toMatchObject({
      runId: "20261128-155758-8072",
      figures: [{ p95: 0.2 }],
    });
  });
});

describe("a summary.json's null statistics", () => {
  it("reads a statistic JSON wrote as null (a NaN) as absent", () => {
    const text = JSON.stringify({
      run: { id: "r1" },
      figures: [{ metric: "lkswarm_join_duration_seconds", population: "participants", n: 0, p95: null }],
    });
    const [figure] = parseRunRecord(text, "s.json").figures;
    expect(figure).toEqual({ metric: "lkswarm_join_duration_seconds", population: "participants", n: 0 });
  });
});
