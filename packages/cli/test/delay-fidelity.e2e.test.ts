import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { WindowSample } from "@livekit-swarm/schema";
import {
  answeredChecks,
  jitterAt,
  jitterSeries,
  parseReleased,
  STUN_BINDING_SUCCESS,
  UserDelay,
  type DelaySummary,
  type ReleasedPacket,
} from "@livekit-swarm/testbed";
import { isRoot, netnsTestbed, runLines, swarm, testbedEnv } from "@livekit-swarm/test-kit";
import { expectNativePathCarriedAll } from "./native-path.js";

const skipped = isRoot ? "" : " [SKIPPED: needs root for network namespaces and a netfilter queue]";

/** LiveKit's payload types toward subscribers and their RTP clocks: Opus and RED, VP8 (RTX, 97, has none). */
const CLOCK_RATES = { 111: 48_000, 63: 48_000, 96: 90_000 };
const KIND_OF: Readonly<Record<number, "audio" | "video">> = { 111: "audio", 63: "audio", 96: "video" };

/**
 * Each level delays everything the node sends through its veth (media toward subscribers, STUN and
 * RTCP answers toward everyone) by `delayMs` plus a normal draw of `jitterMs` standard deviation,
 * packets kept in order (tools/net-delay). The delayer writes down every RTP packet and STUN message
 * it released, and from them the test computes what each figure must read:
 * - jitter: per stream, as libwebrtc computes it (once a frame), over the released packets, at the
 *   times the swarm sampled: each reading beside its own stream's (the SSRC in its key) at its own
 *   window's end, the two medians per kind over those pairs compared. Both publishers shape it:
 *   libwebrtc paces a frame's packets, lean sends them together, so with no delay at all native
 *   video reads 4-14 ms (this machine's load moves it) and lean ~0.5-1 ms, both right;
 * - round trip: the answers to a client's connectivity checks wait their hold, the checks do not;
 * - end-to-end latency: a frame is complete when its last packet arrives, so lean's latency (abs
 *   capture time, read at frame completion) sits its last packet's hold above the loopback's
 *   ~1 ms. A native probe reads its frames after libwebrtc's jitter buffer and decoder (19-50 ms
 *   with no delay at all, more under jitter), so only a floor holds: never under the hold.
 * From 0 to 150 ms and jitter 0 to 40 ms, both engines (measured: docs/observability.md 4.4).
 */
const LEVELS = [
  { engine: "native", native: false, delayMs: 0, jitterMs: 0 },
  { engine: "native", native: false, delayMs: 50, jitterMs: 12 },
  { engine: "lean", native: false, delayMs: 0, jitterMs: 0 },
  { engine: "lean", native: false, delayMs: 150, jitterMs: 40 },
  // lean's audio on the native media path (LKSWARM_LEAN_NATIVE=1): its jitter from the kernel's
  // arrival times, counted on its thread
  { engine: "lean", native: true, delayMs: 150, jitterMs: 40 },
] as const;
const ROOMS = 2;
const SUBSCRIBERS = 3;
/**
 * rtc-node reports jitter and round trips in whole milliseconds; lean's are unrounded. Native's jitter
 * gets a second millisecond: libwebrtc times arrivals on the subscriber's own network thread, and on
 * this shared 2-core machine its wakeups add their own spread (a clean-clone CI run, 2026-11-28: audio
 * 2.00 ms where the released packets made 0.90 ms, with no delay at all; 1.00 / 0.84 alone).
 * Lean's gets one millisecond: it times arrivals when its event loop reads the socket, and that
 * loop's wakeups spread them the same way (a clean-clone run, 2026-11-29, alone: audio 1.77 ms
 * where the released packets made 1.28 ms, no delay; the day before within 0.3 ms).
 */
const TOLERANCE = {
  native: { jitterS: 0.002, rttS: 0.003 },
  lean: { jitterS: 0.001, rttS: 0.003 },
} as const;

/**
 * The ramp-included round trip runs (the rule: 5+ rooms, every engine, no delay) and what
 * each is held to. Lean's round trip is its own (consent.ts: the event loop's busy time bounds it):
 * the rule itself, 1 ms + 5%. The browser's and native's are libwebrtc's connectivity checks, timed
 * in whole milliseconds on its network thread (the window's mean of them: window.ts): each held at
 * p50 to the rule plus that millisecond, the browser's plus 3 (Chromium's checks read 1-2 ms on a
 * 0.4-0.9 ms wire). Native and browser publish audio only here, and the browser's 5 participants
 * share one Chromium: with video, the generator's encoders use up this 2-core machine during the
 * joins (2026-11-29, a slower day: native's p50 read 2.4-5.0 ms where the checks took 0.6-1.4 ms at
 * a starved node (p95 12-33 ms); 5 Chromiums with video left one participant unstarted after 20 s and
 * the run's own health check failed it, "the machine was used up"), which is the generator's
 * health, judged elsewhere, not a round-trip figure. p95 is printed, not held: what waits on
 * libwebrtc's network thread reads as round trip, and LiveKit's own answers spread as the joins
 * land (the checks at the node: p95 1.0-42 ms over the runs of that day).
 */
const RAMP = [
  // lean's p95 is printed, not held: since the delayer times a packet from the kernel's receive
  // stamp (its own wait for a CPU now in the truth), 10 runs alone read p95 1.10-12.5 ms where the
  // node's checks took 1.02-2.98 ms: within the rule in 9, 12.5 ms in one (node p95 1.80, max
  // 8.74). Not one population: a window repeats its pair's last reading until the next consent
  // answer (as libwebrtc's currentRoundTripTime), the node's checks include the joins' own, and a
  // worker waiting for a CPU is idle to the event loop's count (docs/observability.md 5.3)
  { engine: "lean", native: false, rooms: 5, subscribers: 3, args: [], slackS: 0, firstWindows: true },
  // lean's audio on the native media path, audio only: the thread reads the publishers' sockets
  // too (native-audio.ts), so it sends every pair's consent checks and takes their answers
  // (native-consent.ts), timed from its send to the kernel's arrival
  {
    engine: "lean",
    native: true,
    rooms: 5,
    subscribers: 3,
    args: ["--video-publishers", "0"],
    slackS: 0,
    firstWindows: true,
  },
  {
    engine: "native",
    native: false,
    rooms: 5,
    subscribers: 3,
    args: ["--video-publishers", "0"],
    slackS: 0.001,
    firstWindows: false,
  },
  {
    engine: "browser",
    native: false,
    rooms: 5,
    subscribers: 0,
    args: ["--video-publishers", "0", "--pages-per-browser", "5"],
    slackS: 0.003,
    firstWindows: false,
  },
] as const;

/** Nearest-rank quantile. */
const quantile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN);
};

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};
/** The SSRC in an inbound stream's key: rtc-node's and Chromium's `inbound:<kind>:<ssrc>:...`, lean's `ssrc:<ssrc>[@session]`. */
const ssrcOfKey = (key: string): number | undefined => {
  const m = /^(?:ssrc:|inbound:[a-z]+:)(\d+)(?:[:@]|$)/.exec(key);
  return m?.[1] === undefined ? undefined : Number(m[1]);
};
const ms = (s: number): string => `${(s * 1000).toFixed(2)} ms`;

/** The hold of each video frame's last packet: when the frame is whole at the receiver. */
function frameCompletionHolds(rtp: readonly ReleasedPacket[]): number[] {
  const last = new Map<string, number>();
  for (const p of rtp)
    if (KIND_OF[p.payloadType] === "video") last.set(`${p.ssrc}/${p.rtpTimestamp}`, p.holdUs / 1e6);
  return [...last.values()];
}

interface Summary {
  participants: { joined: number };
  figures: { metric: string; kind?: string; n: number; p50?: number }[];
}

interface Measured {
  out: string;
  done: DelaySummary | undefined;
  summary: Summary;
  released: ReturnType<typeof parseReleased>;
  samples: WindowSample[];
}

/** A 20 s run of `engine` through the node's delayer at `delayMs` +- `jitterMs`: what the swarm wrote and what the delayer released. */
async function measured(
  tb: ReturnType<ReturnType<typeof netnsTestbed>>,
  engine: string,
  delayMs: number,
  jitterMs: number,
  rooms: number,
  subscribers: number,
  incoming = false,
  extra: readonly string[] = [],
  native = false,
): Promise<Measured> {
  const ns = tb.nodes[0]?.namespace;
  const device = tb.nodeInterface(0);
  if (ns === undefined || device === undefined) throw new Error("the node has no namespace");
  const out = mkdtempSync(join(tmpdir(), "swarm-delay-"));
  const truthFile = join(out, "released.txt");
  const delay = await UserDelay.inject(ns, device, delayMs, {
    tag: `fidelity_${engine}_${delayMs}`,
    jitterMs,
    truthFile,
    seed: 7,
    incoming,
  });
  let done: DelaySummary | undefined;
  try {
    const result = await swarm(
      [
        "--engine",
        engine,
        "--rooms",
        String(rooms),
        "--subscribers",
        String(subscribers),
        "--duration",
        "20s",
        "--num-per-second",
        "10",
        "-o",
        out,
        ...extra,
      ],
      { ...testbedEnv(tb), LKSWARM_LEAN_NATIVE: native ? "1" : "0" },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // the native path was built, and carried every audio publisher and receiver
    if (native) {
      expect(result.stdout + result.stderr).toContain("lean audio on the native media path");
      // with no video beside a publisher's audio, its socket was read by the thread too
      const video = extra.indexOf("--video-publishers");
      expectNativePathCarriedAll(out, { publishersSocketsRead: video >= 0 && extra[video + 1] === "0" });
    }
  } finally {
    done = await delay.remove();
  }
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
  expect(summary.participants.joined).toBe(rooms * (1 + subscribers));
  // the delayer held everything it was handed, and let nothing go early
  expect(
    done,
    `the delayer's closing line (its stderr: ${JSON.stringify(delay.stderr)}; exited on its own at ${delay.diedAtMs ?? "no time"})`,
  ).toMatchObject({ releasedEarly: 0, lostMessages: 0, verdictErrors: 0 });
  const released = parseReleased(readFileSync(truthFile, "utf8"));
  const samples = runLines<WindowSample>(join(out, "samples.jsonl"));
  return { out, done, summary, released, samples };
}

describe("numbers you can trust: injected delay and jitter read as the network made them", () => {
  const testbed = netnsTestbed("delay-fidelity");

  it.skipIf(!isRoot).each(LEVELS)(
    `$engine (native media path: $native): $delayMs ms of delay, jitter $jitterMs ms: jitter, round trip and latency read what the delayer did${skipped}`,
    async ({ engine, native, delayMs, jitterMs }) => {
      const { done, summary, released, samples } = await measured(
        testbed(),
        engine,
        delayMs,
        jitterMs,
        ROOMS,
        SUBSCRIBERS,
        false,
        [],
        native,
      );
      const series = jitterSeries(released.rtp, CLOCK_RATES);
      // a participant's first window holds its join and first packets: left out on both sides
      const first = new Map<string, number>();
      for (const s of samples) {
        const k = `${s.room}/${s.participant}`;
        first.set(k, Math.min(first.get(k) ?? Infinity, s.t));
      }
      const settledAll = samples.filter((s) => s.t > (first.get(`${s.room}/${s.participant}`) ?? Infinity));
      const settled = settledAll.filter((s) => s.role === "subscriber");
      expect(settled.length, "settled subscriber windows").toBeGreaterThanOrEqual(ROOMS * SUBSCRIBERS * 2);
      // the answers to the checks a window's round trip comes from: those of the settled windows'
      // span (the join's checks were answered before media loaded the delayer's queue, and wait less)
      const fromUs = Math.min(...settledAll.map((s) => s.t - s.durationMs)) * 1000;
      const answers = released.stun
        .filter((m) => m.type === STUN_BINDING_SUCCESS && m.releaseUs >= fromUs)
        .map((m) => m.holdUs / 1e6);
      const completion = median(frameCompletionHolds(released.rtp));
      const lines = [
        `${engine}${native ? " (native media path)" : ""} ${delayMs} ms, jitter ${jitterMs} ms: delayer ${JSON.stringify(done)}; frames complete after ${ms(completion)} held (p50)`,
      ];
      const tolerance = TOLERANCE[engine];
      const bySsrc = new Map(series.map((x) => [x.ssrc, x]));
      for (const kind of ["audio", "video"] as const) {
        // each reading beside its own stream's truth at its own window's end: the SSRC in its key,
        // the delayer's series of that SSRC (the same medians over every stream at every window's
        // end let one slow stretch of one stream weigh unlike on the two sides: a clean-clone run,
        // 2026-12-01, read native video 6.00 ms where that made 9.25 ms)
        const readings = settled.flatMap((s) =>
          s.inbound.flatMap((i) =>
            i.kind === kind && i.jitterS !== undefined ? [{ t: s.t, key: i.key, reported: i.jitterS }] : [],
          ),
        );
        const pairs = readings.flatMap(({ t, key, reported }) => {
          const ssrc = ssrcOfKey(key);
          const stream = ssrc === undefined ? undefined : bySsrc.get(ssrc);
          const truth = stream === undefined ? undefined : jitterAt(stream, t * 1000, 1e6);
          return truth === undefined ? [] : [{ reported, truth }];
        });
        const reported = pairs.map((x) => x.reported);
        const truth = pairs.map((x) => x.truth);
        lines.push(
          `${kind} jitter p50 ${ms(median(reported))} over ${reported.length} track-windows (of ${readings.length}) where the released packets make ${ms(median(truth))} at the same windows' ends; p50 of the differences ${ms(median(pairs.map((x) => x.reported - x.truth)))}`,
        );
        expect(reported.length, `${kind} track-windows with a jitter`).toBeGreaterThanOrEqual(
          ROOMS * SUBSCRIBERS * 2,
        );
        // every reading has its stream in what the delayer released
        expect(reported.length, `${kind} track-windows whose SSRC the delayer released`).toBe(
          readings.length,
        );
        expect(
          Math.abs(median(reported) - median(truth)),
          `${kind} jitter p50 ${ms(median(reported))} where the network made ${ms(median(truth))}`,
        ).toBeLessThanOrEqual(tolerance.jitterS + 0.05 * median(truth));
      }
      // publishers' windows too: theirs carry the RTCP round trips of what they send beside the pair's
      const rtts = settledAll.map((s) => s.rttS).filter((r): r is number => r !== undefined);
      lines.push(
        `round trip p50 ${ms(median(rtts))} over ${rtts.length} windows; STUN answers held ${ms(median(answers))} (p50 of ${answers.length})`,
      );
      expect(rtts.length, "windows with a round trip").toBeGreaterThan(0);
      expect(answers.length, "STUN answers the delayer released").toBeGreaterThan(0);
      expect(
        Math.abs(median(rtts) - median(answers)),
        `round trip p50 ${ms(median(rtts))} where answers were held ${ms(median(answers))}`,
      ).toBeLessThanOrEqual(tolerance.rttS + 0.05 * median(answers));
      const latency = summary.figures.find((f) => f.metric === "lkswarm_end_to_end_latency_seconds");
      lines.push(`latency p50 ${ms(latency?.p50 ?? NaN)} over ${latency?.n ?? 0} windows`);
      console.log(lines.join("; "));
      expect(latency?.n ?? 0, "windows with a latency").toBeGreaterThan(0);
      const p50 = latency?.p50 ?? NaN;
      if (engine === "lean") {
        // the loopback and the sender add ~1 ms to what the delay held; below, the two medians are of
        // different populations (the latency windows' against every frame the delayer released),
        // which at 40 ms of jitter differ by a millisecond or two: a clean-clone suite run read
        // 218.74 ms against 219.86 ms (2026-12-01), -1.12 ms
        expect(
          p50 - completion,
          `latency p50 ${ms(p50)} over frames complete after ${ms(completion)}`,
        ).toBeGreaterThanOrEqual(-0.003);
        expect(
          p50 - completion,
          `latency p50 ${ms(p50)} over frames complete after ${ms(completion)}`,
        ).toBeLessThanOrEqual(0.005);
      } else {
        expect(
          p50,
          `a probe's latency p50 ${ms(p50)} under frames held ${ms(completion)}`,
        ).toBeGreaterThanOrEqual(completion);
      }
    },
    150_000,
  );

  /**
   * The ramp included: every window of every participant, its first too, while 5 rooms join at 10 a
   * second. Lean's round trip once read the joins' JavaScript (72 ms in every first window on a
   * loopback of under 1 ms): an answer sat in the socket while the loop was busy. The rule the issue
   * set: the windows' round trips within 1 ms + 5% of what the checks took on the wire, over the
   * whole run: their p50, and lean's first windows' p50 too. The delayer holds both ways at 0 ms here, so each
   * check sent to the node is timed where it reaches the node's veth until its answer leaves it:
   * LiveKit's answering is in that truth (during the joins it took milliseconds on this 2-core
   * machine, and every engine's round trip rightly read it), the wire's ~0.05 ms between the host
   * and the veth and the engine's own delay are not.
   */
  it.skipIf(!isRoot).each(RAMP)(
    `$engine (native media path: $native), no delay, $rooms rooms of a publisher and $subscribers subscribers, the ramp included: round trip p50 within 1 ms + 5% (+ $slackS s) of what the checks took at the node${skipped}`,
    async ({ engine, native, rooms, subscribers, args, slackS, firstWindows }) => {
      const { done, released, samples } = await measured(
        testbed(),
        engine,
        0,
        0,
        rooms,
        subscribers,
        true,
        args,
        native,
      );
      // the checks coming in are timed where they reached the node, the delayer's own wait included
      expect(done?.kernelStamped, "packets timed by the kernel's receive stamp").toBeGreaterThan(0);
      const rtts = samples.map((s) => s.rttS).filter((r): r is number => r !== undefined);
      const answers = answeredChecks(released.stun);
      const firsts = new Set<string>();
      const firstRtts: number[] = [];
      for (const s of [...samples].sort((a, b) => a.t - b.t)) {
        const k = `${s.room}/${s.participant}`;
        if (firsts.has(k)) continue;
        firsts.add(k);
        if (s.rttS !== undefined) firstRtts.push(s.rttS);
      }
      console.log(
        `${engine}${native ? " (native media path)" : ""} ramp: round trip p50 ${ms(quantile(rtts, 0.5))} p95 ${ms(quantile(rtts, 0.95))} max ${ms(Math.max(...rtts))} over ${rtts.length} of ${samples.length} windows (first windows: ${firstRtts.length} with one, max ${ms(Math.max(0, ...firstRtts))}); checks at the node took p50 ${ms(quantile(answers, 0.5))} p95 ${ms(quantile(answers, 0.95))} max ${ms(Math.max(...answers))} (${answers.length})`,
      );
      expect(rtts.length, "windows with a round trip").toBeGreaterThanOrEqual(rooms * (1 + subscribers));
      expect(answers.length, "checks the delayer saw come in and answered").toBeGreaterThan(0);
      const truth = quantile(answers, 0.5);
      expect(
        Math.abs(quantile(rtts, 0.5) - truth),
        `round trip p50 ${ms(quantile(rtts, 0.5))} where the checks took ${ms(truth)} at the node`,
      ).toBeLessThanOrEqual(0.001 + slackS + 0.05 * truth);
      if (firstWindows) {
        // the ramp's own mark: lean once read 72 ms in every first window, where the joins' JavaScript
        // held the answers; its first windows' median is held as the run's p50 is (those with one)
        expect(firstRtts.length, "first windows with a round trip").toBeGreaterThan(0);
        expect(
          quantile(firstRtts, 0.5) - truth,
          `first windows' round trip p50 ${ms(quantile(firstRtts, 0.5))} where the checks took ${ms(truth)} at the node`,
        ).toBeLessThanOrEqual(0.001 + slackS + 0.05 * truth);
      }
    },
    180_000,
  );
});
