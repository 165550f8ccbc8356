import { describe, expect, it } from "vitest";
import type { InboundTrackSample, WindowSample } from "@livekit-swarm/schema";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { Measurements } from "./measurements.js";
import { githubAnnotations, junitXml, markdownSummary } from "./outputs.js";
import { parseThreshold } from "./threshold.js";
import { evaluate } from "./verdict.js";

const track = (
  key: string,
  kind: "audio" | "video",
  expected: number,
  lost: number,
  jitterS = 0.005,
): InboundTrackSample => inboundTrack({ key, kind, expected, lost, bytes: 1000, jitterS });

const sample = (participant: string, t: number, inbound: InboundTrackSample[]): WindowSample =>
  windowSample({ t, room: "r", participant, inbound, rttS: 0.01 });

function run(): Measurements {
  // a 6 s warm-up is read below: it is a cut made before the observations
  const m = new Measurements({ cutsAfterStartMs: [6000] });
  m.setRunWindow(0, 20_000);
  const ctx = (participant: string, t: number) => ({
    t,
    room: "r",
    participant,
    role: "subscriber" as const,
    worker: 0,
  });
  m.onEvent(ctx("a", 100), { type: "joined", joinS: 0.2 });
  m.onEvent(ctx("b", 200), { type: "joined", joinS: 1.5 });
  m.onEvent(ctx("c", 300), { type: "join-failed", reason: "timeout", message: "timed out" });
  // warm-up window at t=5 s: heavy loss that a 6 s warm-up must leave out
  m.onSample(sample("a", 5000, [track("a1", "video", 100, 50)]));
  m.onSample(sample("a", 10_000, [track("a1", "video", 1000, 10), track("a2", "audio", 500, 0)]));
  m.onSample(sample("b", 10_000, [track("b1", "video", 1000, 40)]));
  return m;
}

describe("evaluate", () => {
  it("loss over participants is each participant's ratio of sums, and warm-up is left out", () => {
    const m = run();
    const all = evaluate(
      [parseThreshold("lkswarm_inbound_loss_ratio{kind=video} max over participants < 5%")],
      m,
    ).results[0];
    // a: (50+10)/(100+1000) = 5.45%, b: 4%
    expect(all?.observed).toBeCloseTo(60 / 1100, 12);
    expect(all?.status).toBe("fail");
    const warm = evaluate(
      [parseThreshold("lkswarm_inbound_loss_ratio{kind=video} max over participants < 5% warmup=6s")],
      m,
    ).results[0];
    expect(warm?.observed).toBeCloseTo(0.04, 12);
    expect(warm?.status).toBe("pass");
  });

  it("gates on the transport a participant's ICE selected: a count per class, ICE time where timed", () => {
    const m = run();
    const ctx = (participant: string) => ({
      t: 400,
      room: "r",
      participant,
      role: "subscriber" as const,
      worker: 0,
    });
    const pair = { local: "host", remote: "host", protocol: "tcp" } as const;
    m.onEvent(ctx("a"), { type: "transport", transport: "tcp", ...pair, iceS: 0.4 });
    m.onEvent(ctx("b"), { type: "transport", transport: "udp", ...pair, protocol: "udp" });
    const [tcp, turn, ice] = evaluate(
      [
        parseThreshold("lkswarm_transport_selections_total{transport=tcp} count == 1"),
        parseThreshold("lkswarm_transport_selections_total{transport=turn-tls} count >= 1"),
        parseThreshold("lkswarm_ice_duration_seconds max < 1s"),
      ],
      m,
    ).results;
    expect([tcp?.status, tcp?.observed]).toEqual(["pass", 1]);
    expect(turn?.status).not.toBe("pass");
    expect([ice?.status, ice?.observed, ice?.n]).toEqual(["pass", 0.4, 1]);
  });

  it("label filters select one kind; windows are raw per-track-window values", () => {
    const m = run();
    const r = evaluate([parseThreshold("lkswarm_inbound_loss_ratio{kind=audio} max over windows == 0")], m)
      .results[0];
    expect(r).toMatchObject({ observed: 0, n: 1, status: "pass" });
  });

  it("nearest-rank percentiles over participants", () => {
    const r = evaluate([parseThreshold("lkswarm_join_duration_seconds p50 over participants < 1s")], run())
      .results[0];
    expect(r).toMatchObject({ observed: 0.2, n: 2, status: "pass" });
  });

  it("counts of events: one join failure breaches count == 0; none is a real 0", () => {
    const v = evaluate([parseThreshold("lkswarm_join_failures_total count == 0")], run());
    expect(v.passed).toBe(false);
    expect(v.results[0]).toMatchObject({ observed: 1, status: "fail" });
    const empty = new Measurements();
    expect(
      evaluate([parseThreshold("lkswarm_join_failures_total count == 0")], empty).results[0]?.status,
    ).toBe("pass");
  });

  it("no data never passes: min_samples unmet is a failure (or a warning at warn severity)", () => {
    const m = run();
    const v = evaluate(
      [
        parseThreshold("lkswarm_end_to_end_latency_seconds p95 < 400ms"),
        parseThreshold("lkswarm_join_duration_seconds p95 < 5s min_samples=3 severity=warn"),
      ],
      m,
    );
    expect(v.results.map((r) => r.status)).toEqual(["no-data", "warn"]);
    expect(v.passed).toBe(false);
  });

  it("warn breaches report but pass", () => {
    const v = evaluate([parseThreshold("lkswarm_join_duration_seconds max < 1s severity=warn")], run());
    expect(v.results[0]?.status).toBe("warn");
    expect(v.passed).toBe(true);
  });

  it("rate is per second over the evaluated run", () => {
    const r = evaluate([parseThreshold("lkswarm_join_failures_total rate < 1")], run()).results[0];
    expect(r?.observed).toBeCloseTo(1 / 20, 12);
  });
});

describe("outputs", () => {
  const verdict = evaluate(
    [
      parseThreshold("lkswarm_join_failures_total count == 0"),
      parseThreshold("lkswarm_join_duration_seconds p50 < 1s"),
    ],
    run(),
  );

  it("JUnit has one test case per threshold and fails the breached one with the numbers", () => {
    const xml = junitXml(verdict, "livekit-swarm", 12.3);
    expect(xml).toContain('tests="2" failures="1"');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(2);
    expect(xml).toContain(
      '<failure message="lkswarm_join_failures_total count == 0: observed 1 from 1 events, breaching == 0"',
    );
  });

  it("markdown summary and GitHub annotations name the failure", () => {
    expect(markdownSummary(verdict, "swarm")).toContain("### swarm: FAILED");
    expect(githubAnnotations(verdict)).toEqual([
      "::error title=threshold lkswarm_join_failures_total::lkswarm_join_failures_total count == 0: observed 1 from 1 events, breaching == 0",
    ]);
  });
});

describe("censored observations (docs/observability.md 2.1)", () => {
  /** 20 audio tracks: `observed` first packets at 1 s each, then the censored ones with their bounds. */
  function firstPackets(observed: number, bounds: readonly number[]): Measurements {
    const m = new Measurements({ cutsAfterStartMs: [10_000] });
    m.setRunWindow(0, 60_000);
    for (let i = 0; i < observed; i++) {
      m.onEvent(
        { t: 1000 + i, room: "r", participant: `s${i}`, role: "subscriber", worker: 0 },
        { type: "first-packet", kind: "audio", afterJoinStartS: 1 },
      );
    }
    m.censor(
      "lkswarm_time_to_first_packet_seconds",
      bounds.map((atLeastS, i) => ({
        t: 60_000,
        participant: `r/never${i}`,
        track: "never-audio-0",
        labels: { kind: "audio" },
        atLeastS,
      })),
    );
    return m;
  }
  const P95 = "lkswarm_time_to_first_packet_seconds{kind=audio} p95 over tracks < 5s";
  const judged = (threshold: string, m: Measurements) => evaluate([parseThreshold(threshold)], m).results[0];

  it("a percentile below the censored ranks is exact and passes (19 of 20 observed, p95 = rank 19)", () => {
    const r = judged(P95, firstPackets(19, [30]));
    expect(r).toMatchObject({ status: "pass", observed: 1, n: 20 });
    expect(r?.censored).toBeUndefined();
  });

  it("a percentile on a censored value whose bound breaches the limit is a breach, n counting it", () => {
    const r = judged(P95, firstPackets(18, [30, 40]));
    expect(r).toMatchObject({ status: "fail", observed: 30, censored: true, n: 20 });
    expect(r?.message).toBe(
      `${P95}: observed > 30 s over 20 tracks, breaching < 5 s (censored: the run ended before it was observed)`,
    );
  });

  it("a percentile on a censored value whose bound is under the limit cannot pass", () => {
    const r = judged(P95, firstPackets(18, [2, 3]));
    expect(r).toMatchObject({ status: "fail", observed: 2, censored: true });
    expect(r?.message).toBe(
      `${P95}: censored: at least 2 s, the run ended before it was observed (20 tracks)`,
    );
    // before censoring reached the gate, this run read p95 = 1 s over 18 tracks and passed
    expect(judged(P95, firstPackets(18, []))?.status).toBe("pass");
  });

  it("a lower bound that already meets a > limit passes: every value above it would", () => {
    const m = firstPackets(0, [2, 3]);
    expect(judged("lkswarm_time_to_first_packet_seconds p50 over tracks > 1s", m)?.status).toBe("pass");
    expect(judged("lkswarm_time_to_first_packet_seconds p50 over tracks > 2.5s", m)?.status).toBe("fail");
  });

  it("a warn-severity threshold on a censored value warns", () => {
    const r = judged(`${P95} severity=warn`, firstPackets(18, [2, 3]));
    expect(r?.status).toBe("warn");
  });

  it("max and avg with a censored member are lower bounds; min only when a bound is below every observed value", () => {
    const m = firstPackets(3, [0.5]);
    const max = judged("lkswarm_time_to_first_packet_seconds max over tracks < 60s", m);
    expect(max).toMatchObject({ status: "fail", observed: 1, censored: true });
    expect(judged("lkswarm_time_to_first_packet_seconds avg over tracks < 60s", m)?.censored).toBe(true);
    expect(judged("lkswarm_time_to_first_packet_seconds min over tracks < 60s", m)?.censored).toBe(true);
    const min = judged("lkswarm_time_to_first_packet_seconds min over tracks < 60s", firstPackets(3, [9]));
    expect(min).toMatchObject({ status: "pass", observed: 1 });
  });

  it("a participant with one censored track is censored over participants", () => {
    const m = new Measurements();
    m.setRunWindow(0, 60_000);
    m.onEvent(
      { t: 1000, room: "r", participant: "a", role: "subscriber", worker: 0 },
      { type: "first-packet", kind: "video", afterJoinStartS: 1 },
    );
    m.censor("lkswarm_time_to_first_packet_seconds", [
      { t: 60_000, participant: "r/a", track: "never-video-0", labels: { kind: "video" }, atLeastS: 0.5 },
    ]);
    // its worst track is at least 1 s (its observed one), the other one unknown: > 1 s
    expect(judged("lkswarm_time_to_first_packet_seconds p50 over participants < 3s", m)).toMatchObject({
      status: "fail",
      observed: 1,
      censored: true,
      n: 1,
    });
  });

  it("JUnit and markdown carry the censored reason and print the bound as > x", () => {
    const v = evaluate([parseThreshold(P95)], firstPackets(18, [2, 3]));
    expect(junitXml(v, "s", 1)).toContain(
      `<failure message="${P95.replace("<", "&lt;")}: censored: at least 2 s, the run ended before it was observed (20 tracks)"`,
    );
    expect(markdownSummary(v, "s")).toContain("| ❌ fail | `" + P95 + "` | > 2 s | 20 tracks |");
  });

  it("a threshold's warm-up keeps the censored observations: they were known at the run's end", () => {
    const r = judged(`${P95} warmup=10s`, firstPackets(18, [30, 40]));
    expect(r).toMatchObject({ status: "fail", censored: true, n: 2 });
  });
});

describe("storm figures", () => {
  const m = new Measurements();
  const t = Date.UTC(2026, 10, 23);
  m.setRunWindow(t, t + 10_000);
  for (let i = 1; i <= 100; i++) m.onStorm({ type: "join", t: t + i, durationS: i / 1000 });
  m.onStorm({ type: "join-failed", t, reason: "timeout" });
  m.onStorm({ type: "join-failed", t, reason: "timeout" });
  m.onStorm({ type: "join-failed", t, reason: "rejected" });
  m.onStorm({ type: "api", t, method: "ListRooms", durationS: 0.004 });

  it("gate a percentile over joins, each join its own value", () => {
    const v = evaluate([parseThreshold("lkswarm_storm_join_duration_seconds p95 < 90ms")], m);
    expect(v.passed).toBe(false);
    expect(v.results[0]).toMatchObject({ observed: 0.095, n: 100, population: "participants" });
  });

  it("count joins and failures by reason", () => {
    const v = evaluate(
      [
        parseThreshold("lkswarm_storm_joins_total count == 100"),
        parseThreshold("lkswarm_storm_join_failures_total{reason=timeout} count == 2"),
        parseThreshold("lkswarm_storm_join_failures_total count <= 2"),
      ],
      m,
    );
    expect(v.results.map((r) => [r.status, r.observed])).toEqual([
      ["pass", 100],
      ["pass", 2],
      ["fail", 3],
    ]);
    expect(m.labelValues("lkswarm_storm_join_failures_total", "reason")).toEqual(["timeout", "rejected"]);
  });
});
