import type { Expectations, SteadyState } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import type { DrillAnalysis } from "./analyze.js";
import type {
  ExpectationResult,
  FaultRun,
  Finding,
  ParticipantOutcome,
  ProbeResult,
  QualityWindow,
  RoomOutcome,
  TrackOutcome,
} from "./journal.js";
import { NO_EXPECTATIONS, sampleJournal, untouchedOutcome } from "../test/journal-fixture.js";
import {
  decideVerdict,
  judgeExpectations,
  judgeFindings,
  notEvaluated,
  probeSteadyState,
  type VerdictInput,
} from "./verdict.js";

function participant(n: number, over: Partial<ParticipantOutcome> = {}): ParticipantOutcome {
  return {
    ...untouchedOutcome({ identity: `sub-${n}`, room: "room-0", role: "subscriber" }, "node2", `PA_${n}`),
    roomNodeAfter: "node1",
    ...over,
  };
}

/** Knocked down by the kill at +10 ms; back at `reconnectMs`, or never (null). */
function disrupted(n: number, reconnectMs: number | null): ParticipantOutcome {
  return participant(n, {
    fault: "kill-node2",
    affected: true,
    detectMs: 10,
    reconnectMs,
    path: reconnectMs === null ? null : "full",
    episodes: 1,
    connectedAtEnd: reconnectMs !== null,
    lostReason: reconnectMs === null ? "stuck_reconnecting" : null,
  });
}

function room(name: string, over: Partial<RoomOutcome> = {}): RoomOutcome {
  return {
    room: name,
    nodeBefore: "node2",
    nodeAfter: "node1",
    redisNodeAfter: "node1",
    relocated: true,
    roomSidsBefore: [],
    instances: [],
    recoveries: [],
    loss: { before: null, during: null, after: null },
    serverViews: 30,
    consistentMs: 4000,
    ghosts: [],
    duplicates: [],
    missing: [],
    ...over,
  };
}

function window(lossRatio: number | null, bitrateInBps: number | null = 1_000_000): QualityWindow {
  return { fromMs: 0, toMs: 30_000, lossRatio, jitterP95S: null, bitrateInBps, samples: 15 };
}

/** Only what judgeExpectations reads is meaningful; the rest is empty. */
function analysisOf(over: {
  participants?: readonly ParticipantOutcome[];
  tracks?: readonly TrackOutcome[];
  rooms?: readonly RoomOutcome[];
  quality?: Partial<DrillAnalysis["quality"]>;
  aggregates?: Partial<DrillAnalysis["aggregates"]>;
}): DrillAnalysis {
  const participants = over.participants ?? [];
  const none = { n: 0, p50: null, p95: null, max: null };
  return {
    t0: 1_000_000,
    participants,
    tracks: over.tracks ?? [],
    rooms: over.rooms ?? [],
    quality: {
      before: null,
      during: null,
      after: null,
      lossRatioVsBaseline: null,
      bitrateVsBaseline: null,
      ...over.quality,
    },
    aggregates: {
      participants: participants.length,
      affected: participants.filter((p) => p.affected).length,
      detect: none,
      reconnect: none,
      mediaResume: none,
      tracksNotResumed: 0,
      paths: { resume: 0, full: 0, rejoin: 0 },
      lostByReason: {},
      ghosts: 0,
      consistentMs: null,
      signalPaths: null,
      byPopulation: [],
      ...over.aggregates,
    },
    findings: [],
    timeline: [],
  };
}

/** 20 participants knocked down; the first `never` of them never came back, the rest at +3 s. */
function twenty(never: number): DrillAnalysis {
  return analysisOf({
    participants: Array.from({ length: 20 }, (_, i) => disrupted(i + 1, i < never ? null : 3000)),
  });
}

function only(results: readonly ExpectationResult[], name: string): ExpectationResult {
  const found = results.filter((r) => r.name === name);
  const [first] = found;
  if (found.length !== 1 || first === undefined)
    throw new Error(`expected one "${name}" among ${results.map((r) => r.name).join(", ")}`);
  return first;
}

describe("judgeExpectations: recovery percentiles", () => {
  const reconnect = {
    ...NO_EXPECTATIONS,
    reconnect: [{ population: null, p50: 5000, p95: 5000, max: 10_000 }],
  };

  it("passes p95 with 5% never back, but not max", () => {
    expect(judgeExpectations(reconnect, twenty(1))).toEqual([
      {
        name: "reconnect p50",
        expected: "<= 5.0 s",
        observed: "3.0 s (n=20, 1 never came back)",
        met: true,
      },
      {
        name: "reconnect p95",
        expected: "<= 5.0 s",
        observed: "3.0 s (n=20, 1 never came back)",
        met: true,
      },
      { name: "reconnect max", expected: "<= 10.0 s", observed: "1 of 20 never came back", met: false },
    ]);
  });

  it("fails p95 when more than 5% never came back", () => {
    expect(only(judgeExpectations(reconnect, twenty(2)), "reconnect p95")).toEqual({
      name: "reconnect p95",
      expected: "<= 5.0 s",
      observed: "2 of 20 never came back",
      met: false,
    });
  });

  it("passes every percentile when everyone came back in time", () => {
    expect(judgeExpectations(reconnect, twenty(0)).map((r) => [r.observed, r.met])).toEqual([
      ["3.0 s (n=20)", true],
      ["3.0 s (n=20)", true],
      ["3.0 s (n=20)", true],
    ]);
  });

  it("cannot judge when nobody was disrupted", () => {
    const quiet = analysisOf({ participants: [participant(1), participant(2)] });
    const results = judgeExpectations(
      {
        ...NO_EXPECTATIONS,
        detect: [{ population: null, p50: null, p95: 10_000, max: null }],
        reconnect: [{ population: null, p50: null, p95: 20_000, max: null }],
      },
      quiet,
    );
    expect(results).toEqual([
      { name: "detect p95", expected: "<= 10.0 s", observed: "no data (nobody was disrupted)", met: null },
      { name: "reconnect p95", expected: "<= 20.0 s", observed: "no data (nobody was disrupted)", met: null },
    ]);
  });

  it("judges detection over the disrupted only", () => {
    const analysis = analysisOf({
      participants: [
        disrupted(1, 3400),
        participant(2),
        participant(3, { detectMs: 9000, reconnectMs: 9600 }),
      ],
    });
    expect(
      judgeExpectations(
        { ...NO_EXPECTATIONS, detect: [{ population: null, p50: 1000, p95: 8000, max: null }] },
        analysis,
      ),
    ).toEqual([
      { name: "detect p50", expected: "<= 1.0 s", observed: "0.0 s (n=2)", met: true },
      { name: "detect p95", expected: "<= 8.0 s", observed: "9.0 s (n=2)", met: false },
    ]);
  });

  it("counts a track that never resumed as never, and a resume before T0 as 0", () => {
    const track = (resumedMs: number | null): TrackOutcome => ({
      subscriber: "room-0/sub-1",
      fault: "kill-node2",
      track: `pub-${resumedMs ?? "x"}/audio`,
      stalledMs: -200,
      resumedMs,
      resumed: resumedMs !== null,
    });
    const analysis = analysisOf({ tracks: [track(9500), track(-100), track(null)] });
    expect(
      judgeExpectations({ ...NO_EXPECTATIONS, mediaResume: { p50: 1000, p95: null, max: 15_000 } }, analysis),
    ).toEqual([
      {
        name: "media resume p50",
        expected: "<= 1.0 s",
        observed: "9.5 s (n=3, 1 tracks never resumed)",
        met: false,
      },
      {
        name: "media resume max",
        expected: "<= 15.0 s",
        observed: "1 of 3 tracks never resumed",
        met: false,
      },
    ]);
    expect(
      only(
        judgeExpectations(
          { ...NO_EXPECTATIONS, mediaResume: { p50: 0, p95: null, max: null } },
          analysisOf({
            tracks: [track(-100)],
          }),
        ),
        "media resume p50",
      ),
    ).toMatchObject({ observed: "0.0 s (n=1)", met: true });
  });
});

describe("judgeExpectations: participants and the server's view", () => {
  it("counts the lost, with their reasons", () => {
    const analysis = analysisOf({
      participants: [disrupted(1, 3400), disrupted(2, null)],
      aggregates: { lostByReason: { stuck_reconnecting: 1 } },
    });
    expect(judgeExpectations({ ...NO_EXPECTATIONS, participantsLost: 0 }, analysis)).toEqual([
      { name: "participants lost", expected: "<= 0", observed: "1 (stuck_reconnecting: 1)", met: false },
    ]);
    expect(
      only(judgeExpectations({ ...NO_EXPECTATIONS, participantsLost: 1 }, analysis), "participants lost").met,
    ).toBe(true);
  });

  it("names the ghosts room by room, and cannot judge without rooms", () => {
    const analysis = analysisOf({
      rooms: [room("room-0", { ghosts: ["pub-1", "sub-2"], duplicates: ["sub-2"] }), room("room-1")],
      aggregates: { ghosts: 2 },
    });
    expect(judgeExpectations({ ...NO_EXPECTATIONS, ghosts: 0 }, analysis)).toEqual([
      { name: "ghost participants", expected: "<= 0", observed: "2 (room-0: pub-1, sub-2)", met: false },
    ]);
    expect(judgeExpectations({ ...NO_EXPECTATIONS, ghosts: 0 }, analysisOf({}))[0]?.met).toBeNull();
  });

  it("fails consistency when a room never agreed", () => {
    const analysis = analysisOf({
      rooms: [room("room-0", { consistentMs: 4000 }), room("room-1", { consistentMs: null })],
      aggregates: { consistentMs: null },
    });
    expect(judgeExpectations({ ...NO_EXPECTATIONS, consistentWithin: 20_000 }, analysis)).toEqual([
      {
        name: "server view consistent",
        expected: "within 20.0 s",
        observed: "never agreed in room-1",
        met: false,
      },
    ]);
  });

  it("judges consistency by the slowest room", () => {
    const analysis = analysisOf({
      rooms: [room("room-0", { consistentMs: 4000 }), room("room-1", { consistentMs: 12_000 })],
      aggregates: { consistentMs: 12_000 },
    });
    expect(judgeExpectations({ ...NO_EXPECTATIONS, consistentWithin: 10_000 }, analysis)).toEqual([
      { name: "server view consistent", expected: "within 10.0 s", observed: "after 12.0 s", met: false },
    ]);
  });
});

describe("judgeExpectations: quality after", () => {
  const quality = (before: number | null, after: number | null): DrillAnalysis =>
    analysisOf({ quality: { before: window(before), after: window(after) } });
  const vsBaseline = (ratio: number): Expectations => ({
    ...NO_EXPECTATIONS,
    qualityAfter: { maxLoss: null, maxLossVsBaseline: ratio, minBitrateVsBaseline: null },
  });

  it("compares loss with the baseline over a 0.5% floor", () => {
    // 0.8% is 8x a 0.1% baseline, but within 2x the floor
    expect(judgeExpectations(vsBaseline(2), quality(0.001, 0.008))).toEqual([
      {
        name: "loss after vs baseline",
        expected: "<= 2x baseline (floor 0.5%)",
        observed: "0.80% after vs 0.10% before",
        met: true,
      },
    ]);
    expect(judgeExpectations(vsBaseline(2), quality(0.001, 0.011))[0]?.met).toBe(false);
    expect(judgeExpectations(vsBaseline(1), quality(0, 0.004))[0]?.met).toBe(true);
    // above the floor the baseline itself counts: 2x 1% is 2%
    expect(judgeExpectations(vsBaseline(2), quality(0.01, 0.021))[0]?.met).toBe(false);
  });

  it("cannot compare without media in both windows", () => {
    expect(judgeExpectations(vsBaseline(2), quality(null, 0.01))[0]).toMatchObject({
      observed: "no media in a window",
      met: null,
    });
  });

  it("judges absolute loss and the bitrate ratio", () => {
    const analysis = analysisOf({
      quality: { before: window(0.001), after: window(0.015), bitrateVsBaseline: 0.5 },
    });
    const results = judgeExpectations(
      {
        ...NO_EXPECTATIONS,
        qualityAfter: { maxLoss: 0.02, maxLossVsBaseline: null, minBitrateVsBaseline: 0.8 },
      },
      analysis,
    );
    expect(results).toEqual([
      { name: "loss after", expected: "<= 2.00%", observed: "1.50%", met: true },
      { name: "bitrate after vs baseline", expected: ">= 0.8x baseline", observed: "0.50x", met: false },
    ]);
    expect(
      judgeExpectations(
        {
          ...NO_EXPECTATIONS,
          qualityAfter: { maxLoss: 0.02, maxLossVsBaseline: null, minBitrateVsBaseline: null },
        },
        analysisOf({ quality: { after: window(null) } }),
      ),
    ).toEqual([
      { name: "loss after", expected: "<= 2.00%", observed: "no media in the after window", met: null },
    ]);
  });
});

describe("probeSteadyState", () => {
  const steady: SteadyState = {
    connected: 0.95,
    mediaFlowing: 0.9,
    maxLoss: 0.02,
    prometheus: [
      { query: "sum(up)", min: 3, max: null },
      { query: "sum(livekit_room_total)", min: 1, max: 10 },
    ],
  };

  it("reads shares of the plan and Prometheus answers against their tolerances", () => {
    expect(
      probeSteadyState(steady, {
        planned: 20,
        connected: 19,
        tracksExpected: 40,
        tracksFlowing: 35,
        lossRatio: 0.01,
        prometheus: [{ value: 3 }, { error: "connect ECONNREFUSED 127.0.0.1:9090" }],
      }),
    ).toEqual([
      {
        name: "participants connected",
        observed: 0.95,
        tolerance: ">= 95.00%",
        met: true,
        detail: "19 of 20",
      },
      {
        name: "subscribed tracks receiving media",
        observed: 0.875,
        tolerance: ">= 90.00%",
        met: false,
        detail: "35 of 40",
      },
      { name: "packet loss", observed: 0.01, tolerance: "<= 2.00%", met: true, detail: null },
      { name: "prometheus: sum(up)", observed: 3, tolerance: ">= 3", met: true, detail: null },
      {
        name: "prometheus: sum(livekit_room_total)",
        observed: null,
        tolerance: ">= 1 and <= 10",
        met: false,
        detail: "connect ECONNREFUSED 127.0.0.1:9090",
      },
    ]);
  });

  it("holds nothing planned as not connected, no track expected as flowing, no media as not met", () => {
    const results = probeSteadyState(
      { ...steady, prometheus: [] },
      { planned: 0, connected: 0, tracksExpected: 0, tracksFlowing: 0, lossRatio: null, prometheus: [] },
    );
    expect(results.map((r) => [r.name, r.observed, r.met, r.detail])).toEqual([
      ["participants connected", 0, false, "0 of 0"],
      ["subscribed tracks receiving media", 1, true, "0 of 0"],
      ["packet loss", null, false, "no media received in the window"],
    ]);
  });

  it("fails a Prometheus probe outside its range", () => {
    const [probe] = probeSteadyState(
      { connected: null, mediaFlowing: null, maxLoss: null, prometheus: [{ query: "q", min: 1, max: 10 }] },
      {
        planned: 0,
        connected: 0,
        tracksExpected: 0,
        tracksFlowing: 0,
        lossRatio: null,
        prometheus: [{ value: 11 }],
      },
    );
    expect(probe).toEqual({
      name: "prometheus: q",
      observed: 11,
      tolerance: ">= 1 and <= 10",
      met: false,
      detail: null,
    });
  });
});

function probe(name: string, met: boolean): ProbeResult {
  return {
    name,
    observed: met ? 1 : 0.75,
    tolerance: ">= 95.00%",
    met,
    detail: met ? "20 of 20" : "15 of 20",
  };
}

function faultRun(over: Partial<FaultRun> = {}): FaultRun {
  return {
    id: "kill-node2",
    type: "node.kill",
    selection: "node hosting the busiest room (room-0, 3 participants)",
    subjects: [{ kind: "node", name: "node2", pid: 41873 }],
    actions: ["kill -9 41873"],
    injectedAt: "2026-11-22T10:00:39.950Z",
    confirmedAt: "2026-11-22T10:00:40.000Z",
    confirmedMs: 0,
    injectLatencyMs: 50,
    evidence: "pid 41873 gone",
    revertedAt: null,
    revertedMs: null,
    error: null,
    ...over,
  };
}

const MET: ExpectationResult = {
  name: "reconnect p95",
  expected: "<= 20.0 s",
  observed: "3.4 s (n=3)",
  met: true,
};
const MISSED: ExpectationResult = {
  name: "participants lost",
  expected: "<= 0",
  observed: "1 (stuck_reconnecting: 1)",
  met: false,
};
const UNJUDGED: ExpectationResult = {
  name: "detect p95",
  expected: "<= 10.0 s",
  observed: "no data (nobody was disrupted)",
  met: null,
};

function input(over: Partial<VerdictInput> = {}): VerdictInput {
  return {
    status: "completed",
    before: [probe("participants connected", true)],
    after: [probe("participants connected", true)],
    faults: [faultRun()],
    expectations: [MET],
    problem: null,
    ...over,
  };
}

describe("decideVerdict", () => {
  it("passes when the steady state held and every expectation was met", () => {
    expect(decideVerdict(input({ expectations: [MET, MET] }))).toEqual({
      verdict: "pass",
      reason: "every expectation met (2) and the steady state held",
      exitCode: 0,
    });
  });

  it("fails on a missed expectation, naming it", () => {
    expect(decideVerdict(input({ expectations: [MET, MISSED, UNJUDGED] }))).toEqual({
      verdict: "fail",
      reason: "participants lost: 1 (stuck_reconnecting: 1) (expected <= 0)",
      exitCode: 1,
    });
  });

  it("is inconclusive when the swarm lost a worker, ahead of a broken steady state or a missed expectation", () => {
    const lost = "the swarm's own worker process died during the drill (worker 0: killed by SIGKILL)";
    const before = [probe("participants connected", false)];
    for (const over of [{ expectations: [MISSED] }, { before }, {}])
      expect(decideVerdict(input({ ...over, generatorLost: lost }))).toEqual({
        verdict: "inconclusive",
        reason: lost,
        exitCode: 2,
      });
    // Ctrl-C stays Ctrl-C
    expect(
      decideVerdict(input({ status: "interrupted", problem: "interrupted: stop", generatorLost: lost })),
    ).toMatchObject({ reason: "interrupted: stop", exitCode: 130 });
  });

  it("is inconclusive without a steady state before, even if expectations failed", () => {
    expect(
      decideVerdict(input({ before: [probe("participants connected", false)], expectations: [MISSED] })),
    ).toEqual({
      verdict: "inconclusive",
      reason: "steady state not met before the faults: participants connected 15 of 20 (wants >= 95.00%)",
      exitCode: 2,
    });
  });

  it("is inconclusive when a fault was not confirmed", () => {
    expect(decideVerdict(input({ faults: [faultRun({ confirmedAt: null, confirmedMs: null })] }))).toEqual({
      verdict: "inconclusive",
      reason: "fault kill-node2: not confirmed",
      exitCode: 2,
    });
    expect(
      decideVerdict(
        input({ faults: [faultRun({ confirmedAt: null, error: "pid 41873 still alive after 5 s" })] }),
      ),
    ).toMatchObject({ verdict: "inconclusive", reason: "fault kill-node2: pid 41873 still alive after 5 s" });
  });

  it("is inconclusive when the drill reports a problem", () => {
    expect(decideVerdict(input({ problem: "ListParticipants failed: 401" }))).toEqual({
      verdict: "inconclusive",
      reason: "ListParticipants failed: 401",
      exitCode: 2,
    });
  });

  it("deviates when expectations were met but the steady state did not come back", () => {
    expect(decideVerdict(input({ after: [probe("participants connected", false)] }))).toEqual({
      verdict: "deviated",
      reason: "steady state not back after the drill: participants connected 15 of 20 (wants >= 95.00%)",
      exitCode: 1,
    });
  });

  it("fails rather than deviates when both went wrong", () => {
    expect(
      decideVerdict(input({ after: [probe("participants connected", false)], expectations: [MISSED] }))
        .verdict,
    ).toBe("fail");
  });

  it("is inconclusive when an expectation could not be judged", () => {
    expect(decideVerdict(input({ expectations: [MET, UNJUDGED] }))).toEqual({
      verdict: "inconclusive",
      reason: "not enough data to judge detect p95 (no data (nobody was disrupted))",
      exitCode: 2,
    });
  });

  it("exits 3 when aborted and 130 when interrupted, whatever the verdict", () => {
    expect(decideVerdict(input({ status: "aborted", expectations: [MISSED] }))).toMatchObject({
      verdict: "fail",
      exitCode: 3,
    });
    expect(decideVerdict(input({ status: "aborted" }))).toMatchObject({ verdict: "pass", exitCode: 3 });
    expect(
      decideVerdict(input({ status: "aborted", problem: "max-participants-down: 60% of participants down" })),
    ).toMatchObject({ verdict: "inconclusive", exitCode: 3 });
    expect(decideVerdict(input({ status: "interrupted", problem: "interrupted (SIGINT)" }))).toMatchObject({
      verdict: "inconclusive",
      exitCode: 130,
    });
    expect(decideVerdict(input({ status: "interrupted" }))).toMatchObject({ verdict: "pass", exitCode: 130 });
  });
});

describe("judgeFindings", () => {
  // the fixture's run, plus what lose-redis leaves behind on v1.13.5 (docs/livekit-behaviour.md)
  const FIXTURE = sampleJournal();
  const MISSING: Finding = {
    id: "missing-from-server-view",
    severity: "high",
    accepted: false,
    title: "live participants missing from the server's view",
    detail: "room-1: pub-1, sub-1a are connected, but ListParticipants omits them",
    atMs: null,
  };
  const CYCLES: Finding = {
    id: "reconnect-cycles",
    severity: "medium",
    accepted: false,
    title: "knocked down again after recovering",
    detail: "room-0/sub-0a went through 2 reconnect cycles",
    atMs: 8000,
  };
  const FINDINGS = [...FIXTURE.findings, MISSING, CYCLES];

  it("fails on every high-severity finding the drill does not accept, naming them", () => {
    const { findings, expectation } = judgeFindings(FINDINGS, []);
    expect(findings.every((f) => !f.accepted)).toBe(true);
    expect(expectation).toEqual({
      name: "high-severity findings",
      expected: "none",
      observed: "2 (stuck-reconnecting, missing-from-server-view)",
      met: false,
    });
    // met expectations otherwise: the findings alone fail the drill
    expect(decideVerdict(input({ expectations: [MET, expectation] }))).toEqual({
      verdict: "fail",
      reason: "high-severity findings: 2 (stuck-reconnecting, missing-from-server-view) (expected none)",
      exitCode: 1,
    });
  });

  it("passes findings the drill accepts, and marks them accepted in the journal", () => {
    const { findings, expectation } = judgeFindings(FINDINGS, [
      "stuck-reconnecting",
      "missing-from-server-view",
    ]);
    expect(findings.map((f) => [f.id, f.accepted])).toEqual([
      ["stuck-reconnecting", true],
      ["missing-from-server-view", true],
      ["reconnect-cycles", false],
    ]);
    expect(expectation).toEqual({
      name: "high-severity findings",
      expected: "none besides the accepted stuck-reconnecting, missing-from-server-view",
      observed: "none; accepted: stuck-reconnecting, missing-from-server-view",
      met: true,
    });
    expect(decideVerdict(input({ expectations: [MET, expectation] })).verdict).toBe("pass");
  });

  it("still fails on a high finding the drill did not list, and counts repeats", () => {
    const twice = [...FINDINGS, { ...MISSING, detail: "room-2: pub-2 omitted" }];
    const { expectation } = judgeFindings(twice, ["stuck-reconnecting"]);
    expect(expectation).toMatchObject({
      observed: "2 (missing-from-server-view x2); accepted: stuck-reconnecting",
      met: false,
    });
  });

  it("leaves medium and low findings to the report", () => {
    expect(
      judgeFindings(
        FINDINGS.filter((f) => f.severity !== "high"),
        [],
      ).expectation,
    ).toMatchObject({
      observed: "none",
      met: true,
    });
  });
});

describe("a drill stopped early", () => {
  const reason = "the drill stopped early (interrupted: SIGINT): its data is incomplete";

  it("evaluates none of its expectations: observed values stay, met is neither", () => {
    const results = notEvaluated([MET, MISSED], reason);
    expect(results).toEqual([
      { ...MET, met: null, notEvaluated: reason },
      { ...MISSED, met: null, notEvaluated: reason },
    ]);
  });

  it("is inconclusive for the stop's reason, even without a steady state before", () => {
    expect(
      decideVerdict(
        input({
          status: "interrupted",
          problem: "interrupted: SIGINT",
          before: [],
          after: [],
          faults: [],
          expectations: notEvaluated([MISSED], reason),
        }),
      ),
    ).toEqual({ verdict: "inconclusive", reason: "interrupted: SIGINT", exitCode: 130 });
  });
});
