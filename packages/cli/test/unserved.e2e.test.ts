import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import { PacketLoss } from "@livekit-swarm/testbed";
import { isRoot, netnsTestbed, swarm, testbedEnv } from "@livekit-swarm/test-kit";

const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and nftables rules]";

/**
 * LiveKit's media plane fails while its signalling holds: every RTP and RTCP packet the node sends
 * is dropped (nftables, in the node's namespace), STUN and DTLS pass, so everyone joins, ICE and
 * DTLS complete, and no subscriber receives a packet. The swarm kept up, so the run is LiveKit's
 * failure: exit 99, the undelivered tracks named, the generator's checks ok.
 */
describe("a LiveKit that signals but delivers no media", () => {
  const testbed = netnsTestbed("unserved");

  it.skipIf(!isRoot)(
    `fails the run on LiveKit's side (exit 99), naming the tracks, the generator fine${skipped}`,
    async () => {
      const tb = testbed();
      const drop = PacketLoss.inject(tb.nodes[0]?.namespace, 1, "egress", undefined, { rtpOnly: true });
      const out = mkdtempSync(join(tmpdir(), "swarm-unserved-"));
      let result;
      let dropped = 0;
      try {
        result = await swarm(
          ["--rooms", "2", "--subscribers", "2", "--duration", "20s", "-o", out],
          testbedEnv(tb),
        );
        dropped = drop.droppedPackets();
      } finally {
        drop.remove();
      }
      console.log(result.stdout);
      expect(dropped, "RTP and RTCP the rule dropped").toBeGreaterThan(100);
      expect(result.code, result.stdout + result.stderr).toBe(99);
      expect(result.stdout).toMatch(/^health: FAILED \(exit 99\)/m);
      expect(result.stdout).toMatch(/^ {2}ok {6}participants: 6 of 6 planned joined$/m);
      // 2 rooms of 2 subscribers, each owed its publisher's audio and video
      expect(result.stdout).toMatch(
        /^ {2}FAILED +tracks: 8 of 8 owed tracks never received a packet \(4 audio, 4 video\): lkswarm-[^/]+-1\/lkswarm-sub-1: 1 audio, 1 video; /m,
      );
      expect(result.stdout).toMatch(/^ {2}ok {6}workers: no worker or browser lost$/m);
      expect(result.stdout).toMatch(/^ {2}ok {6}generator: kept up$/m);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as RunSummary;
      expect(summary.tracks.neverReceived).toEqual({ audio: 4, video: 4 });
      expect(summary.tracks.undelivered).toHaveLength(4);
    },
  );
});
