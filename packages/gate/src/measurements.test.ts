import { describe, expect, it } from "vitest";
import { inboundTrackSample } from "@livekit-swarm/schema";
import { Measurements, WINDOW_METRICS_WITHOUT_TRACK } from "./measurements.js";

const sample = (participant: string, t: number, lost: number, jitterS: number, kind: "audio" | "video") => ({
  t,
  durationMs: 5000,
  room: "r",
  participant,
  role: "subscriber" as const,
  worker: 0,
  inbound: [
    inboundTrackSample({
      key: `${participant}-${kind}`,
      kind,
      expected: 100,
      lost,
      received: 100 - lost,
      bytes: 1000,
      jitterS,
    }),
  ],
  outbound: [],
  rttS: t / 1e9,
  dataSent: 0,
  dataReceived: 0,
});

describe("Measurements kept by column", () => {
  it("gives back every observation as it came, past many growths: values, labels, tracks, loss's sums", () => {
    const m = new Measurements({ cutsAfterStartMs: [4_990] });
    m.setRunWindow(1_000);
    const jitters: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const jitter = (i % 97) / 1e4 + 1e-9 * i;
      jitters.push(jitter);
      m.onSample(sample(`p${i % 7}`, 1_000 + i, i % 3, jitter, i % 2 === 0 ? "audio" : "video"));
    }
    // 5,000 windows: past the sketch's exact size, so count, sum, min and max are exact and the
    // percentiles within 1% (the sketch's own tests hold the bound)
    const windows = m.distribution("lkswarm_inbound_jitter_seconds", "windows");
    expect(windows.values).toBeUndefined();
    expect(windows.sketch.count).toBe(5000);
    expect(windows.sketch.sum).toBeCloseTo(
      jitters.reduce((a, v) => a + v, 0),
      9,
    );
    expect(windows.sketch.max).toBe(Math.max(...jitters));
    expect(windows.sketch.min).toBe(0);
    expect(m.distribution("lkswarm_inbound_jitter_seconds", "windows", { where: { kind: "video" } }).n).toBe(
      2500,
    );
    // the last 10 after the warm-up's cut: few, so exact
    const late = m.distribution("lkswarm_inbound_jitter_seconds", "windows", { fromMs: 1_000 + 4_990 });
    expect(late.sketch.exact).toBe(true);
    const byValue = (a: number, b: number): number => a - b;
    expect([...late.sketch.exactValues()].sort(byValue)).toEqual(jitters.slice(4_990).sort(byValue));
    // loss over tracks: a ratio of sums per track (p0-audio: i = 0, 14, 28, ... with lost i % 3)
    const tracks = m.distribution("lkswarm_inbound_loss_ratio", "tracks");
    expect(tracks.n).toBe(14);
    let lost = 0;
    let n = 0;
    for (let i = 0; i < 5000; i += 14) {
      lost += i % 3;
      n++;
    }
    expect(tracks.values?.[0]).toBeCloseTo(lost / (100 * n), 12);
    expect(m.labelValues("lkswarm_inbound_jitter_seconds", "kind")).toEqual(["audio", "video"]);
    expect(m.count("lkswarm_inbound_packets_lost_total")).toEqual({
      n: 5000,
      total: jitters.reduce((a, _, i) => a + (i % 3), 0),
    });
    // no track: each event is its own track-level member
    m.onEvent(
      { t: 1, room: "r", participant: "p0", role: "subscriber", worker: 0 },
      { type: "joined", joinS: 0.5 },
    );
    m.onEvent(
      { t: 2, room: "r", participant: "p0", role: "subscriber", worker: 0 },
      { type: "joined", joinS: 0.7 },
    );
    expect(m.distribution("lkswarm_join_duration_seconds", "tracks").values).toEqual([0.5, 0.7]);
    expect(m.distribution("lkswarm_join_duration_seconds", "participants").values).toEqual([0.7]);
  });
});

/** Nearest rank over sorted values (statistics.ts's definition), for the reference figures below. */
function nearestRank(values: readonly number[], p: number): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

describe("Measurements in bounded state", () => {
  // 40 participants, one audio track each, 600 windows each: 24,000 windows, far past the sketch's
  // exact size. Jitter is heavy-tailed and bimodal (most under 5 ms, one in 20 near a second)
  const windowsOf = (i: number, k: number): number =>
    k % 20 === 0 ? 0.8 + ((i * 7 + k) % 50) / 100 : 0.001 + (((i * 13 + k * 7) % 97) / 97) * 0.004;
  const build = (cutsAfterStartMs: number[] = []): Measurements => {
    const m = new Measurements({ cutsAfterStartMs });
    m.setRunWindow(0);
    for (let k = 0; k < 600; k++)
      for (let i = 0; i < 40; i++) m.onSample(sample(`p${i}`, 1 + k * 1000, i % 4, windowsOf(i, k), "audio"));
    return m;
  };

  it("windows: percentiles within the sketch's 1% of the exact nearest rank; count, min, max and mean exact", () => {
    const m = build();
    const all: number[] = [];
    for (let k = 0; k < 600; k++) for (let i = 0; i < 40; i++) all.push(windowsOf(i, k));
    const f = m.figure("lkswarm_inbound_jitter_seconds", "windows");
    expect(f.exact).toBe(false);
    expect(f.relativeError).toBe(0.01);
    expect(f.n).toBe(24_000);
    for (const [p, got] of [
      [50, f.p50.value],
      [95, f.p95.value],
      [99, f.p99.value],
    ] as const) {
      const exact = nearestRank(all, p) ?? NaN;
      expect(Math.abs((got ?? NaN) - exact) / exact, `p${p}: ${got} against ${exact}`).toBeLessThanOrEqual(
        0.01,
      );
    }
    expect(f.max.value).toBe(Math.max(...all));
    expect(f.min.value).toBe(Math.min(...all));
    expect(f.avg.value).toBeCloseTo(all.reduce((a, v) => a + v, 0) / all.length, 12);
  });

  it("participants and tracks: exact, each member's mean (jitter) or ratio of sums (loss), however many windows", () => {
    const m = build();
    const jitter = m.distribution("lkswarm_inbound_jitter_seconds", "participants");
    expect(jitter.n).toBe(40);
    let mean = 0;
    for (let k = 0; k < 600; k++) mean += windowsOf(7, k);
    expect(jitter.values?.[7]).toBeCloseTo(mean / 600, 12);
    const loss = m.figure("lkswarm_inbound_loss_ratio", "tracks");
    expect(loss.exact).toBe(true);
    // participant i loses i % 4 of 100 each window: 3% is the worst track, the p50 is 1%
    expect(loss.max.value).toBeCloseTo(0.03, 12);
    expect(loss.p50.value).toBeCloseTo(0.01, 12);
  });

  it("windows with no track (round trip): the tracks population is the windows, sketched past its exact size, not kept one by one", () => {
    // sample()'s rttS is t / 1e9: 24,000 distinct round trips
    const m = build();
    const tracks = m.distribution("lkswarm_round_trip_time_seconds", "tracks");
    expect(tracks.n).toBe(24_000);
    expect(tracks.values).toBeUndefined();
    const windows = m.figure("lkswarm_round_trip_time_seconds", "windows");
    const f = m.figure("lkswarm_round_trip_time_seconds", "tracks");
    expect(f.exact).toBe(false);
    expect([f.p50.value, f.p95.value, f.max.value]).toEqual([
      windows.p50.value,
      windows.p95.value,
      windows.max.value,
    ]);
    // participants stay exact members: 40 means
    expect(m.distribution("lkswarm_round_trip_time_seconds", "participants").values).toHaveLength(40);
    // a few windows are still exact values, one a window
    const few = new Measurements();
    few.setRunWindow(0);
    for (let k = 1; k <= 3; k++) few.onSample(sample("p0", k * 1000, 0, 0.001, "audio"));
    expect(few.distribution("lkswarm_round_trip_time_seconds", "tracks").values).toEqual([1e-6, 2e-6, 3e-6]);
  });

  it("folds on no track exactly the metrics WINDOW_METRICS_WITHOUT_TRACK names (the noise test's and baseline's list)", () => {
    const m = new Measurements();
    m.setRunWindow(0);
    m.onSample({
      ...sample("p0", 1000, 0, 0.001, "video"),
      outbound: [
        { kind: "video", packets: 10, bytes: 1000, nack: 1, pli: 1, fir: 0, qualityLimitation: undefined },
      ],
      latencyS: { p50: 0.05, max: 0.07, n: 3 },
      dataSent: 2,
      dataReceived: 1,
    });
    expect(m.metricsWithWindowsWithoutTrack()).toEqual([...WINDOW_METRICS_WITHOUT_TRACK].sort());
  });

  it("a warm-up cut leaves what came before it out, exactly, as the raw observations did", () => {
    const m = build([300_000]);
    const counted = m.count("lkswarm_inbound_packets_expected_total", { fromMs: 300_000 });
    // windows at 1 + k s for k >= 300: 300 windows of 40 participants, 100 packets each
    expect(counted).toEqual({ n: 12_000, total: 1_200_000 });
    const d = m.distribution("lkswarm_inbound_jitter_seconds", "participants", { fromMs: 300_000 });
    let mean = 0;
    for (let k = 300; k < 600; k++) mean += windowsOf(3, k);
    expect(d.values?.[3]).toBeCloseTo(mean / 300, 12);
  });

  it("a selection bound that is not a cut is refused, not answered from the wrong stretch", () => {
    const m = build();
    expect(() => m.count("lkswarm_inbound_packets_expected_total", { fromMs: 5000 })).toThrow(
      /selection from 5000 that is not one of the run's cuts/,
    );
  });

  it("a cut asked for after observations past it goes just after the latest, never splitting what was folded", () => {
    const m = new Measurements();
    m.onSample(sample("a", 10_000, 0, 0.001, "audio"));
    expect(m.cut(20_000)).toBe(20_000);
    m.onSample(sample("a", 25_000, 0, 0.002, "audio"));
    expect(m.cut(22_000)).toBe(25_001);
    m.onSample(sample("a", 30_000, 0, 0.003, "audio"));
    const between = m.distribution("lkswarm_inbound_jitter_seconds", "windows", {
      fromMs: 20_000,
      toMs: 25_001,
    });
    expect([...between.sketch.exactValues()]).toEqual([0.002]);
    expect(m.count("lkswarm_inbound_packets_expected_total", { fromMs: 25_001 }).n).toBe(1);
  });

  it("censored members over a sketch: a rank past the observed ones is the rank-th of values and bounds together", () => {
    const m = new Measurements();
    m.setRunWindow(0);
    // 2,000 first packets at 1.000-2.999 s (past the exact size, so the windows sketch buckets them)
    for (let i = 0; i < 2000; i++)
      m.onEvent(
        { t: 1 + i, room: "r", participant: `s${i}`, role: "subscriber", worker: 0 },
        { type: "first-packet", kind: "audio", afterJoinStartS: 1 + i / 1000 },
      );
    // 200 that never came, known to be over 2.5 s
    m.censor(
      "lkswarm_time_to_first_packet_seconds",
      Array.from({ length: 200 }, (_, i) => ({
        t: 60_000,
        participant: `r/never${i}`,
        track: `never-${i}`,
        labels: { kind: "audio" },
        atLeastS: 2.5,
      })),
    );
    const f = m.figure("lkswarm_time_to_first_packet_seconds", "windows");
    expect(f.exact).toBe(false);
    expect(f.n).toBe(2200);
    // p50: rank 1,100 of the observed, 2.099 s
    expect(f.p50.censored).toBe(false);
    expect(Math.abs((f.p50.value ?? NaN) - 2.099) / 2.099).toBeLessThanOrEqual(0.01);
    // p95: rank 2,090 > 2,000 observed: censored, the 2,090th of values and bounds (2.5 s bounds
    // sit among the observed 2.500-2.999: rank 1,500 is 2.499, then 200 bounds, then 2.500...)
    const lower = [...Array.from({ length: 2000 }, (_, i) => 1 + i / 1000), ...Array<number>(200).fill(2.5)];
    const exact = nearestRank(lower, 95) ?? NaN;
    expect(f.p95.censored).toBe(true);
    expect(Math.abs((f.p95.value ?? NaN) - exact) / exact).toBeLessThanOrEqual(0.01);
    expect(f.max).toMatchObject({ value: 2.999, censored: true });
  });
});
