import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FIRST_MEDIA_WINDOW_MS,
  isShortWindow,
  prepareRun,
  startRun,
  type RunOutcome,
  type WindowSample,
} from "@livekit-swarm/load";
import { Measurements, evaluate, junitXml, parseThreshold } from "@livekit-swarm/gate";
import { parseScenarioObject, type Scenario } from "@livekit-swarm/schema";
import { Testbed } from "@livekit-swarm/testbed";

/** Both tests' workload: 2 rooms of 1 audio publisher and 2 subscribers, room names `<prefix>1`, `<prefix>2`. */
function twoAudioRooms(roomPrefix: string, source: string): Scenario {
  return parseScenarioObject(
    {
      rooms: 2,
      "audio-publishers": 1,
      "video-publishers": 0,
      subscribers: 2,
      "num-per-second": 10,
      "room-prefix": roomPrefix,
      "identity-prefix": "u-",
      "latency-probes": 0,
    },
    source,
  );
}

/**
 * Tracks with packets in their participant's last window, capped at its expected tracks. A last
 * window shorter than half the stats interval (the drain's, taken milliseconds after a periodic one
 * when the hold ends on one: 0 packets in 2 ms) is joined to the one before, as the summary reads
 * it (`isShortWindow`); without that, a clean-clone run read every track stopped at the end.
 */
function receivingFromSamples(
  lines: readonly WindowSample[],
  expected: ReadonlyMap<string, number>,
  intervalMs: number,
): { atEnd: number; ever: number } {
  const windows = new Map<string, WindowSample[]>();
  const ever = new Map<string, Set<string>>();
  for (const s of lines) {
    const who = `${s.room}/${s.participant}`;
    windows.set(who, [...(windows.get(who) ?? []), s]);
    for (const tr of s.inbound) if (tr.received > 0) ever.set(who, (ever.get(who) ?? new Set()).add(tr.key));
  }
  const receivingAtEnd = (who: string): number => {
    const own = [...(windows.get(who) ?? [])].sort((a, b) => a.t - b.t);
    const last = own.at(-1);
    if (last === undefined) return 0;
    const end = isShortWindow(last.durationMs, intervalMs) ? own.slice(-2) : [last];
    return new Set(end.flatMap((w) => w.inbound.filter((t) => t.received > 0).map((t) => t.key))).size;
  };
  let atEnd = 0;
  let everN = 0;
  for (const [who, cap] of expected) {
    atEnd += Math.min(cap, receivingAtEnd(who));
    everN += Math.min(cap, ever.get(who)?.size ?? 0);
  }
  return { atEnd, ever: everN };
}

// 2 rooms x (1 audio publisher + 2 subscribers); subscribers join first and publishers only
// FIRST_MEDIA_WINDOW_MS + 5 s later, after the subscribers' fast first-media poll has stopped: the
// first packets are seen only by the regular 5 s sampler (issue 22)
const STATS_INTERVAL_MS = 5000;

describe("publishers joining after the first-media window", () => {
  const publisherDelayMs = FIRST_MEDIA_WINDOW_MS + 5000;
  let tb: Testbed;
  let out: string;
  let outcome: RunOutcome;
  let samples: WindowSample[];

  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-late-pub-${process.pid}` });
    out = mkdtempSync(join(tmpdir(), "swarm-late-pub-"));
    const scenario = twoAudioRooms("r", "late-publisher test");
    const run = prepareRun(scenario, { workers: 1 });
    const participants = run.plan.participants.map((p) =>
      p.role === "publisher" ? { ...p, joinAtMs: p.joinAtMs + publisherDelayMs } : p,
    );
    const rampMs = Math.max(...participants.map((p) => p.joinAtMs));
    outcome = await startRun(
      { ...run, plan: { ...run.plan, participants, rampMs } },
      {
        target: { url: tb.url, apiKey: tb.apiKey, apiSecret: tb.apiSecret },
        // three 5 s windows after the publishers are in: the first with packets times them
        holdMs: 15_000,
        statsIntervalMs: STATS_INTERVAL_MS,
        outputDir: out,
      },
    );
    samples = readFileSync(join(out, "samples.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as WindowSample);
  }, 120_000);

  afterAll(async () => {
    await tb.stop();
  });

  it("counts every subscriber's track receiving, as its samples show", () => {
    const s = outcome.summary;
    expect(outcome.endReason).toBe("completed");
    expect(s.participants.joined, JSON.stringify(s.participants)).toBe(6);
    expect(s.tracks.expected.audio).toBe(4);
    const expected = new Map(
      ["r1", "r2"].flatMap((room) => [`${room}/u-sub-1`, `${room}/u-sub-2`].map((w) => [w, 1] as const)),
    );
    const fromSamples = receivingFromSamples(samples, expected, STATS_INTERVAL_MS);
    // every late publisher's track reached both its subscribers (issue 22: the first packets after
    // the fast poll were not counted), and the summary counts what the samples show
    expect(fromSamples.ever, `samples: ${samples.length} lines`).toBe(4);
    expect(s.tracks.everReceived.audio).toBe(fromSamples.ever);
    expect(s.tracks.receiving.audio).toBe(fromSamples.atEnd);
    // receiving at the end too, unless a track stopped: a clean-clone suite run (2026-12-01, the
    // e2e-beside group) read 3 of 4 once, not reproduced alone or beside three busy loops (5 runs);
    // what stopped is printed, and the summary must say so (above), which is this test's subject
    if (fromSamples.atEnd < 4)
      console.log(
        `late-publisher: ${String(fromSamples.atEnd)} of 4 tracks receiving at the end; subscribers' windows (t, ms, packets): ` +
          samples
            .filter((w) => expected.has(`${w.room}/${w.participant}`))
            .map(
              (w) =>
                `${w.room}/${w.participant} ${String(w.t)} ${String(w.durationMs)} ${w.inbound.map((t) => t.received).join("+")}`,
            )
            .join("; "),
      );
    // every track read stopped at the end was the drain's short window taken alone (81a0691)
    expect(fromSamples.atEnd, "no track receiving at the end").toBeGreaterThan(0);
  });

  it("times the late first packets instead of dropping them", () => {
    const first = outcome.summary.figures.find(
      (f) => f.metric === "lkswarm_time_to_first_packet_seconds" && f.kind === "audio",
    );
    // all four tracks in the population, none censored, every time after the fast poll stopped
    expect(first, JSON.stringify(first)).toMatchObject({ population: "tracks", n: 4 });
    expect(first?.censored).toBeUndefined();
    expect(first?.min ?? 0).toBeGreaterThan(FIRST_MEDIA_WINDOW_MS / 1000);
    const events = readFileSync(join(out, "events.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"first-packet"'))
      .map((l) => JSON.parse(l) as { event: { late?: boolean } });
    expect(events.map((e) => e.event.late)).toEqual([true, true, true, true]);
  });
});

// 2 rooms x (1 audio publisher + 2 subscribers), but room c2's publisher is left out of the plan: its
// two subscribers expect an audio track that never comes. Before censored tracks reached the gate,
// a p95 of first packet read the two observed tracks of c1 only (about 1 s) and passed.
describe("a gate on first-packet p95 when tracks never received", () => {
  let tb: Testbed;
  let outcome: RunOutcome;
  const measurements = new Measurements();
  const P95_UNDER_BOUND = "lkswarm_time_to_first_packet_seconds{kind=audio} p95 over tracks < 120s";
  const P95_BELOW_BOUND = "lkswarm_time_to_first_packet_seconds{kind=audio} p95 over tracks < 5s";
  const P50 = "lkswarm_time_to_first_packet_seconds{kind=audio} p50 over tracks < 5s";

  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-censored-gate-${process.pid}` });
    const scenario = twoAudioRooms("c", "censored gate test");
    const run = prepareRun(scenario, { workers: 1 });
    const participants = run.plan.participants.filter((p) => !(p.room === "c2" && p.role === "publisher"));
    outcome = await startRun(
      { ...run, plan: { ...run.plan, participants } },
      {
        target: { url: tb.url, apiKey: tb.apiKey, apiSecret: tb.apiSecret },
        // long enough that c2's subscribers were in the run longer than the 5 s limit below
        holdMs: 15_000,
        statsIntervalMs: 5000,
        outputDir: mkdtempSync(join(tmpdir(), "swarm-censored-gate-")),
        measurements,
      },
    );
  }, 120_000);

  afterAll(async () => {
    await tb.stop();
  });

  it("fails p95 on the censored tracks, whether their bound is under or over the limit", () => {
    const first = outcome.summary.figures.find(
      (f) => f.metric === "lkswarm_time_to_first_packet_seconds" && f.kind === "audio",
    );
    expect(outcome.summary.participants.joined).toBe(5);
    // four expected tracks, two observed (c1), two censored (c2): p95 is rank 4, a censored one
    expect(first, JSON.stringify(first)).toMatchObject({ n: 4, censored: { n: 2 } });
    const bound = first?.p95 ?? 0;
    expect(bound).toBeGreaterThan(5);
    expect(bound).toBeLessThan(120);
    const verdict = evaluate(
      [P95_UNDER_BOUND, P95_BELOW_BOUND, P50].map((t) => parseThreshold(t)),
      measurements,
    );
    const [under, below, p50] = verdict.results;
    expect(verdict.passed).toBe(false);
    expect(under, under?.message).toMatchObject({ status: "fail", censored: true, observed: bound, n: 4 });
    expect(under?.message).toContain("the run ended before it was observed");
    // as the gate prints seconds: 4 significant digits, trailing zeros dropped (15.2 s, not 15.20 s)
    expect(junitXml(verdict, "swarm", 1)).toContain(
      `censored: at least ${String(Number(bound.toPrecision(4)))} s`,
    );
    expect(below, below?.message).toMatchObject({ status: "fail", censored: true, observed: bound });
    // p50 (rank 2) lands on an observed track of c1: exact, and it passes
    expect(p50, p50?.message).toMatchObject({ status: "pass", n: 4 });
    expect(p50?.censored).toBeUndefined();
  });
});
