import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PacketLoss, type RtpTally } from "@livekit-swarm/testbed";
import { swarm, testbedEnv, isRoot, netnsTestbed } from "@livekit-swarm/test-kit";
import { expectNativePathCarriedAll } from "./native-path.js";

/** The same gate the loopback run in swarm.e2e.test.ts passes. */
const LOSS_GATE = "lkswarm_inbound_loss_ratio p95 over participants < 2%";
const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and nftables rules]";

type LossCount = { lost: number; expected: number; ratio: number };

interface Summary {
  participants: { joined: number };
  loss: Record<"audio" | "video", LossCount>;
  counters: Record<string, number>;
  figures: { metric: string; n: number; p95?: number; max?: number }[];
}

/**
 * How many times LiveKit took an audio subscriber's jitter from a receiver report it opened: its
 * `livekit_jitter_us` histogram, outgoing, AUDIO (it reads a downtrack's jitter from the
 * subscriber's reports only).
 */
async function audioReportsTaken(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let n = 0;
  for (const m of text.matchAll(/^livekit_jitter_us_count\{([^}]*)\} (\d+)$/gm))
    if ((m[1] ?? "").includes('direction="outgoing"') && (m[1] ?? "").includes('type="AUDIO"'))
      n += Number(m[2]);
  return n;
}

/**
 * The path is the node's veth and nothing else: the drop adds no delay, so every round trip a
 * participant reports is a millisecond or two plus scheduling. A round trip timed across a STUN
 * retransmission (werift resends an unanswered connectivity check after 50 ms) reads 50 ms and
 * more: a lean run under a 10% drop read 51-54 ms until Karn's rule dropped such checks.
 */
const MAX_RTT_S = 0.04;

/**
 * The claim is checked against the drop nftables really made: the rule tallies, per kind of RTP
 * packet (by payload type, in clear under SRTP), what it saw and what it dropped, and the reported
 * loss must sit within half a point of that realized drop. The nominal ratio is only what the rule
 * aims at: a 10% random drop of 13,000 packets lands anywhere in about 9.2-10.8% (3 standard
 * deviations), and a CI run once read 8.99% against the nominal 10% with nothing to tell whether
 * the rule or the reading was off. Each level is still sized so that its realized drop is near its
 * nominal one: n >= 4 p(1-p) / 0.01^2 packets per kind (784 at 2%, 3600 at 10%, 7500 at 25%) puts 1
 * point at two standard deviations. A subscriber receives some 30 packets/s per kind here
 * (measured), hence more subscribers and a longer run at the heavier drops. At 25% the SFU also
 * sends less video (its allocator backs off under loss): one 5-subscriber, 35 s run got 14 000
 * video packets, another on a busier machine 7 300, so that level runs longer with one more
 * subscriber.
 */
const LEVELS = [
  { engine: "native", native: false, ratio: 0.02, subscribers: 3, duration: "20s" },
  { engine: "native", native: false, ratio: 0.1, subscribers: 4, duration: "20s" },
  { engine: "native", native: false, ratio: 0.25, subscribers: 6, duration: "45s" },
  // lean counts originals from sequence gaps without a decoder, RTX apart: the same claim, the same
  // tolerance (by hand at 2, 10, 25 and 50%: within 0.25 point per kind)
  { engine: "lean", native: false, ratio: 0.1, subscribers: 6, duration: "20s" },
  // lean's audio on the native media path (LKSWARM_LEAN_NATIVE=1): sent and counted by its thread
  // (tools/lean-media), video on the TypeScript path beside it: the same claim, per kind
  { engine: "lean", native: true, ratio: 0.1, subscribers: 6, duration: "20s" },
] as const;
const ROOMS = 3;
/** LiveKit's payload types toward subscribers (protocol/codecs): Opus and RED, VP8, VP8's RTX */
const RTP_KINDS = { audio: [111, 63], video: [96], rtx: [97] };
/**
 * Reported vs realized drop, per kind. Measured: within 0.06 point, except video at 25%, which the
 * receiving client reads up to 0.27 point above the drop (docs/observability.md 1.1).
 */
const TOLERANCE = 0.005;
const percent = (t: RtpTally | undefined): string =>
  t?.ratio === undefined ? "nothing" : `${(t.ratio * 100).toFixed(2)}%`;
const minExpected = (p: number): number => Math.ceil((4 * p * (1 - p)) / 0.01 ** 2);
/** the rule's realized drop vs its nominal ratio, in binomial standard deviations: the rule works */
const RULE_SIGMAS = 5;

describe("numbers you can trust: injected loss is reported as the drop nftables made, and fails the gate", () => {
  const testbed = netnsTestbed("fidelity");

  // The drop is on the node's outgoing UDP, so it hits media toward subscribers (retransmissions
  // too) and nothing the publishers send. Every kind must read the drop of original packets, video
  // included: a packet that NACK repaired still crossed a lossy path (docs/observability.md 1.1).
  it.skipIf(!isRoot).each(LEVELS)(
    `$engine (native media path: $native): a $ratio random drop of the node's outgoing UDP reads as the drop it made within half a point, per kind${skipped}`,
    async ({ engine, native, ratio, subscribers, duration }) => {
      const tb = testbed();
      const loss = PacketLoss.inject(tb.nodes[0]?.namespace, ratio, "egress", undefined, {
        tally: RTP_KINDS,
      });
      try {
        const metricsUrl = tb.nodes[0]?.metricsUrl ?? "";
        const reportsBefore = native ? await audioReportsTaken(metricsUrl) : 0;
        const out = mkdtempSync(join(tmpdir(), "swarm-fidelity-"));
        const result = await swarm(
          [
            "--engine",
            engine,
            "--rooms",
            String(ROOMS),
            "--subscribers",
            String(subscribers),
            "--duration",
            duration,
            "--num-per-second",
            "10",
            "-o",
            out,
            "--threshold",
            LOSS_GATE,
          ],
          { ...testbedEnv(tb), LKSWARM_LEAN_NATIVE: native ? "1" : "0" },
        );
        // the native path was built, and carried every audio publisher and receiver
        if (native) {
          expect(result.stdout + result.stderr).toContain("lean audio on the native media path");
          expectNativePathCarriedAll(out);
          // and LiveKit opened the receiver reports the native thread sealed and sent (the only
          // audio receiver reports of this run): a wrong key or index and it drops every one
          expect(
            await audioReportsTaken(metricsUrl),
            "LiveKit's audio jitter readings from receiver reports",
          ).toBeGreaterThan(reportsBefore);
        }
        const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
        const dropped = loss.droppedPackets();
        const tally = loss.tally();
        const c = summary.counters;
        const rtt = summary.figures.find((f) => f.metric === "lkswarm_round_trip_time_seconds");
        // the figures a reader needs to judge the claim: what each level rests on
        console.log(
          `injected ${(ratio * 100).toFixed(0)}%: ` +
            (["audio", "video"] as const)
              .map(
                (k) =>
                  `${k} ${(summary.loss[k].ratio * 100).toFixed(2)}% (${summary.loss[k].lost} lost of ${summary.loss[k].expected} original packets, ${c[`in_retransmitted_${k}`] ?? 0} retransmissions received) ` +
                  `where nftables dropped ${percent(tally[k])} (${tally[k]?.dropped} of ${tally[k]?.seen})`,
              )
              .join(", ") +
            `; retransmissions dropped ${percent(tally.rtx)} (${tally.rtx?.dropped} of ${tally.rtx?.seen}); nftables dropped ${dropped} UDP packets in all; 1 point at 2 sigma needs ${minExpected(ratio)} per kind` +
            `; round trip max ${((rtt?.max ?? NaN) * 1000).toFixed(1)} ms over ${rtt?.n ?? 0} windows`,
        );
        expect(summary.participants.joined).toBe(ROOMS * (1 + subscribers));
        // on loopback nothing else loses packets: every original reported lost was dropped by the rule
        // (which also drops retransmissions and RTCP, so it dropped more)
        const lost = summary.loss.audio.lost + summary.loss.video.lost;
        expect(lost, `originals reported lost vs ${dropped} UDP packets dropped`).toBeLessThanOrEqual(
          dropped,
        );
        // a drop at or above 10% breaches the 2% gate: exit 99, and JUnit names the threshold
        if (ratio >= 0.1) {
          expect(result.code, result.stderr).toBe(99);
          const junit = readFileSync(join(out, "junit.xml"), "utf8");
          expect(junit).toContain('failures="1"');
          expect(junit).toMatch(
            /<failure message="lkswarm_inbound_loss_ratio p95 over participants &lt; 2%: observed \d+\.\d+% over \d+ participants, breaching &lt; 2\.00%/,
          );
        } else {
          expect([0, 99], result.stderr).toContain(result.code);
        }
        // the drop delays nothing, and the round trip must say so: none timed across a retransmission.
        // Lean's round trip is ours (Karn's rule on werift's checks): every window is held to it.
        // Native's is libwebrtc's, timed on its network thread, which a busy 2-core machine delays now
        // and then (docs/observability.md: its p95 and first windows are its threads', not the wire's;
        // one window of 202 read 76 ms in CI, p95 4.4 ms): its p95 is held, a retransmission timed
        // in would lift that.
        expect(rtt?.n ?? 0, "no round-trip time reported").toBeGreaterThan(0);
        const held = engine === "lean" ? rtt?.max : rtt?.p95;
        expect(held ?? Infinity, `round-trip time ${JSON.stringify(rtt)}`).toBeLessThan(MAX_RTT_S);
        for (const kind of ["audio", "video"] as const) {
          const figure = summary.loss[kind];
          const made = tally[kind];
          expect(figure.expected, `${kind} original packets expected`).toBeGreaterThanOrEqual(
            minExpected(ratio),
          );
          // the rule did what it says: its drop of this kind is near the nominal ratio
          if (made?.ratio === undefined)
            throw new Error(`nftables saw no ${kind} RTP: ${JSON.stringify(tally)}`);
          expect(
            Math.abs(made.ratio - ratio),
            `nftables' ${kind} drop at a nominal ${ratio}: ${JSON.stringify(made)}`,
          ).toBeLessThanOrEqual(RULE_SIGMAS * Math.sqrt((ratio * (1 - ratio)) / made.seen));
          // and the figure reads the drop it made
          expect(
            Math.abs(figure.ratio - made.ratio),
            `${kind} loss read ${JSON.stringify(figure)} where nftables dropped ${JSON.stringify(made)}`,
          ).toBeLessThanOrEqual(TOLERANCE);
        }
      } finally {
        loss.remove();
      }
    },
    150_000,
  );
});
