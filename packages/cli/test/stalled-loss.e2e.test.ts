/**
 * A stream stalled behind a bandwidth cap cut to a trickle: libwebrtc counts no loss over a gap in
 * which nothing arrives (its counters move on the packets that do), so the run's loss over those
 * windows is unknown, and the summary must say so instead of 0.00% (issue 46).
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { WindowSample } from "@livekit-swarm/schema";
import { Qdisc } from "@livekit-swarm/testbed";
import { isRoot, netnsTestbed, runLines, startSwarm, testbedEnv, waitFor } from "@livekit-swarm/test-kit";

const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and tc qdiscs]";

/** One room of a publisher and 2 subscribers, lean (cheap), 1 s windows. */
const SUBSCRIBERS = 2;
const PARTICIPANTS = 1 + SUBSCRIBERS;
/** The trickle: 8 kbit/s, under what one Opus stream takes, far under VP8 at 360p. */
const TRICKLE_KBIT = 8;
const CAP_MS = 10_000;

const eventsIn = (out: string, type: string): number =>
  existsSync(join(out, "events.jsonl"))
    ? runLines<{ event?: { type: string } }>(join(out, "events.jsonl")).filter((e) => e.event?.type === type)
        .length
    : 0;

interface Summary {
  loss: {
    video: {
      lost: number;
      expected: number;
      ratio?: number;
      stalled?: { participants: number; seconds: number };
    };
  };
}

describe("loss over a stalled stream reads unknown, not 0", () => {
  const testbed = netnsTestbed("stalled");

  it.skipIf(!isRoot)(
    `a ${TRICKLE_KBIT} kbit/s cap for ${CAP_MS / 1000} s: the subscribers' video windows with no packet are stalled seconds, and the summary says loss there is unknown${skipped}`,
    async () => {
      const tb = testbed();
      const namespace = tb.nodes[0]?.namespace;
      const device = tb.nodeInterface(0);
      if (namespace === undefined || device === undefined) throw new Error("the node has no namespace");
      const out = mkdtempSync(join(tmpdir(), "swarm-stalled-"));
      const run = startSwarm(
        [
          "--engine",
          "lean",
          "--rooms",
          "1",
          "--subscribers",
          String(SUBSCRIBERS),
          "--latency-probes",
          "0",
          "--duration",
          "30s",
          "--stats-interval",
          "1s",
          "-o",
          out,
        ],
        testbedEnv(tb),
      );
      let capAt = 0;
      let cap: Qdisc | undefined;
      try {
        await waitFor(() => eventsIn(out, "joined") === PARTICIPANTS, {
          timeoutMs: 60_000,
          debugName: "everyone joined",
        });
        await waitFor(() => eventsIn(out, "first-packet") >= 2 * SUBSCRIBERS, {
          timeoutMs: 30_000,
          debugName: "every subscriber's first packets",
        });
        await new Promise((resolve) => setTimeout(resolve, 3000));
        capAt = Date.now();
        cap = Qdisc.bandwidth(namespace, device, TRICKLE_KBIT);
        await new Promise((resolve) => setTimeout(resolve, CAP_MS));
      } finally {
        cap?.remove();
      }
      const code = await run.exited;
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
      // ground truth from the samples themselves: subscriber windows inside the cap with video tracks and no video packet
      const empty = runLines<WindowSample>(join(out, "samples.jsonl")).filter(
        (w) =>
          w.role === "subscriber" &&
          w.t - w.durationMs >= capAt &&
          w.t <= capAt + CAP_MS &&
          w.inbound.some((t) => t.kind === "video") &&
          w.inbound.filter((t) => t.kind === "video").every((t) => t.received === 0),
      );
      const stalled = summary.loss.video.stalled;
      console.log(
        `exit ${code}; video loss ${JSON.stringify(summary.loss.video)}; ${empty.length} subscriber windows wholly inside the cap had video tracks and no video packet`,
      );
      expect(empty.length, "subscriber windows inside the cap with no video packet").toBeGreaterThanOrEqual(
        SUBSCRIBERS * 3,
      );
      expect(stalled?.participants).toBeGreaterThanOrEqual(1);
      // at least every empty window wholly inside the cap was counted, and no more than the cap and
      // a window on each side for each subscriber
      expect(stalled?.seconds ?? 0).toBeGreaterThanOrEqual(
        (empty.reduce((a, w) => a + w.durationMs, 0) / 1000) * 0.99,
      );
      expect(stalled?.seconds ?? Infinity).toBeLessThanOrEqual(SUBSCRIBERS * (CAP_MS / 1000 + 2 * 1.1 + 5));
      expect(run.stdout).toMatch(/loss video +\S+ of all packets \([^)]*\); unknown \(stalled \d+\.\d s\)/);
    },
    120_000,
  );
});
