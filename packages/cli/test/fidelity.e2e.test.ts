import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PacketLoss, Testbed } from "@livekit-swarm/testbed";
import { swarm, testbedEnv } from "@livekit-swarm/test-kit";

/** The same gate the loopback run in swarm.e2e.test.ts passes. */
const LOSS_GATE = "lkswarm_inbound_loss_ratio p95 over participants < 2%";
const isRoot = process.getuid?.() === 0;
const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and nftables rules]";

interface Summary {
  participants: { joined: number };
  loss: Record<"audio" | "video", { lost: number; expected: number; ratio: number }>;
}

describe("numbers you can trust: injected loss is reported as that loss, and fails the gate", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it.skipIf(!isRoot)(
    `10% random drop of the node's outgoing UDP shows as 10% +-2 points at the subscribers${skipped}`,
    async () => {
      tb = await Testbed.start({ name: `e2e-fidelity-${process.pid}`, netns: true });
      const loss = PacketLoss.inject(tb.nodes[0]?.namespace, 0.1, "egress");
      const out = mkdtempSync(join(tmpdir(), "swarm-fidelity-"));
      // 2 rooms x (1 audio+video publisher + 2 subscribers) for 20 s: ~8000 packets per kind, so the
      // binomial spread of a 10% drop is about 0.3 points, well inside the 2-point tolerance
      const result = await swarm(
        [
          "--rooms",
          "2",
          "--subscribers",
          "2",
          "--duration",
          "20s",
          "--num-per-second",
          "10",
          "-o",
          out,
          "--threshold",
          LOSS_GATE,
        ],
        testbedEnv(tb),
      );
      // the gate sees the same loss: exit 99, and JUnit names the breached threshold
      expect(result.code, result.stderr).toBe(99);
      const junit = readFileSync(join(out, "junit.xml"), "utf8");
      expect(junit).toContain('failures="1"');
      expect(junit).toMatch(
        /<failure message="lkswarm_inbound_loss_ratio p95 over participants &lt; 2%: observed 0\.\d+ over 4 participants, breaching &lt; 0\.02/,
      );
      expect(loss.droppedPackets(), "packets the nftables rule dropped").toBeGreaterThan(500);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
      expect(summary.participants.joined).toBe(6);
      // audio has no retransmission: what is dropped is lost
      expect(summary.loss.audio.expected).toBeGreaterThan(3000);
      expect(
        Math.abs(summary.loss.audio.ratio - 0.1),
        `audio loss ${JSON.stringify(summary.loss.audio)}`,
      ).toBeLessThanOrEqual(0.02);
      // video: NACK retransmissions recover some drops, so the residual loss sits a little below 10%
      expect(summary.loss.video.expected).toBeGreaterThan(3000);
      expect(
        Math.abs(summary.loss.video.ratio - 0.1),
        `video loss ${JSON.stringify(summary.loss.video)}`,
      ).toBeLessThanOrEqual(0.02);
    },
  );
});
