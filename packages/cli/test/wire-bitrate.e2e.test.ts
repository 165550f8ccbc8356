import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NftFault, Qdisc } from "@livekit-swarm/testbed";
import { runLines, startSwarm, testbedEnv, waitFor, isRoot, netnsTestbed } from "@livekit-swarm/test-kit";

const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and tc qdiscs]";

interface Summary {
  participants: { joined: number; planned: number };
  tracks: { everReceived: { audio: number } };
  timeline: { t: number; participants: number; bitrateInBps: number; wireBitrateInBps?: number }[];
}

/**
 * Ground truth of what reached the subscribers: an nftables counter on the host, at input from the
 * node's veth, of media-sized UDP packets (IP-level bytes, as the wire bitrate counts them), after
 * the tbf has shaped them. The cap is shared with signalling (TCP) and with the testbed's Prometheus
 * scraping the node, so the media that got through is less than the cap by a varying share: at
 * 600 kbit/s one run offered 1.3 MB of TCP, another 0.24 MB, and the read-back was -11% and -26%
 * of the cap with the media counted right either way.
 */
class DeliveredMedia {
  private constructor(private readonly table: string) {}

  static count(hostInterface: string): DeliveredMedia {
    if (!/^[a-z0-9]+$/.test(hostInterface)) throw new Error(`unexpected interface name ${hostInterface}`);
    const table = `lkswarm_delivered_${process.pid}`;
    execFileSync("nft", ["-f", "-"], {
      input: `table inet ${table} {\n  chain in {\n    type filter hook input priority 0; policy accept;\n    iifname "${hostInterface}" udp length >= 120 counter\n  }\n}\n`,
    });
    return new DeliveredMedia(table);
  }

  bytes(): number {
    const text = execFileSync("nft", ["list", "table", "inet", this.table], { encoding: "utf8" });
    const m = /counter packets \d+ bytes (\d+)/.exec(text);
    if (m === null) throw new Error(`no counter in: ${text}`);
    return Number(m[1]);
  }

  remove(): void {
    execFileSync("nft", ["delete", "table", "inet", this.table]);
  }
}

/** What the node's tbf says it sent: bytes, packets and drops since it was installed. */
function tbfCounters(namespace: string, device: string): { bytes: number; packets: number; dropped: number } {
  const text = execFileSync("ip", ["netns", "exec", namespace, "tc", "-s", "qdisc", "show", "dev", device], {
    encoding: "utf8",
  });
  const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(text);
  if (m === null) throw new Error(`no tbf counters in: ${text}`);
  return { bytes: Number(m[1]), packets: Number(m[2]), dropped: Number(m[3]) };
}

/**
 * Audio only: Opus is not adapted to the path (no congestion control moves it), so a cap below the
 * offered rate is filled and the rest tail-dropped. Two audio publishers and 6 subscribers in one
 * room: 12 subscribed audio tracks of some 130 kbit/s each at the IP level (measured: ~50 packets/s
 * of ~245 payload bytes), about 1.5 Mbit/s offered, 2.6 and 1.9 times the caps.
 *
 * Lower caps measure a broken session, not the cap: at 400 kbit/s every subscriber went into
 * reconnecting within the first 5 s window and the SFU then sent each about one packet per 5 s
 * (read back 0.9 kbit/s, while the node offered 1.2 MB of TCP over the run against 0.28 MB at 800);
 * at 300 kbit/s under 2.9 Mbit/s of audio, the same (16% of the cap).
 */
const CAPS_KBIT = [600, 800] as const;
const SUBSCRIBERS = 6;
const PARTICIPANTS = 2 + SUBSCRIBERS;
/** Every subscriber receives both publishers' audio. */
const TRACKS = 2 * SUBSCRIBERS;
const TOLERANCE = 0.05;

const eventsIn = (out: string, type: string): number =>
  runLines<{ event?: { type: string } }>(join(out, "events.jsonl")).filter((e) => e.event?.type === type)
    .length;

describe("a tbf cap on the node's veth reads back as the subscribers' summed wire bitrate", () => {
  const testbed = netnsTestbed("wire");

  it.skipIf(!isRoot).each(CAPS_KBIT)(
    `a %i kbit/s cap: the media that got through reads back within 5%${skipped}`,
    async (capKbit) => {
      const tb = testbed();
      const namespace = tb.nodes[0]?.namespace;
      const device = tb.nodeInterface(0);
      const hostSide = tb.hostInterface(0);
      if (namespace === undefined || device === undefined || hostSide === undefined)
        throw new Error("the node has no namespace");
      const out = mkdtempSync(join(tmpdir(), "swarm-wire-"));
      const run = startSwarm(
        [
          "--video-publishers",
          "0",
          "--audio-publishers",
          "2",
          "--subscribers",
          String(SUBSCRIBERS),
          "--latency-probes",
          "0",
          "--duration",
          "35s",
          "--num-per-second",
          "10",
          "-o",
          out,
        ],
        testbedEnv(tb),
      );
      // the cap goes on once everyone is in: signalling crosses the same veth, and under a cap
      // some joins time out (measured: 10 and 13 of 14 joined with the cap on from the start)
      await waitFor(() => eventsIn(out, "joined") === PARTICIPANTS, {
        timeoutMs: 60_000,
        debugName: `${PARTICIPANTS} joined`,
      });
      // and once every subscription is made: a subscription still being negotiated when the cap
      // went on could starve behind the media (its signalling crosses the capped veth too), and a
      // subscriber that never got its tracks reads nothing while the host counts the packets the
      // SFU sends it (seen: 3 of 6 subscribers with no track, read-back 489 of 742 kbit/s delivered)
      await waitFor(() => eventsIn(out, "track-subscribed") === TRACKS, {
        timeoutMs: 30_000,
        debugName: `${TRACKS} tracks subscribed`,
      });
      const capAt = Date.now();
      const cap = Qdisc.bandwidth(namespace, device, capKbit);
      // what the node offers the cap, by kind (counted before the qdisc): signalling (TCP), small
      // UDP (RTCP, STUN), media; the cap is shared by all of it, the wire bitrate counts media only
      const offered = NftFault.apply(
        namespace,
        "lkswarm_offered",
        `  chain out {
    type filter hook output priority 0; policy accept;
    meta l4proto tcp counter
    udp length < 120 counter
    udp length >= 120 counter
  }`,
      );
      const delivered = DeliveredMedia.count(hostSide);
      // what got through, over a stretch wholly under the cap and inside the hold: from 5 s after
      // the cap (a window that began before it is over) for 20 s (the hold is 35 s)
      let through: { fromMs: number; toMs: number; bps: number };
      let sent: ReturnType<typeof tbfCounters>;
      let byKind: number[];
      try {
        await new Promise((resolve) => setTimeout(resolve, 5000));
        const [fromMs, fromBytes] = [Date.now(), delivered.bytes()];
        await new Promise((resolve) => setTimeout(resolve, 20_000));
        const [toMs, toBytes] = [Date.now(), delivered.bytes()];
        through = { fromMs, toMs, bps: ((toBytes - fromBytes) * 8 * 1000) / (toMs - fromMs) };
        await run.exited;
        sent = tbfCounters(namespace, device);
        byKind = [...offered.listing().matchAll(/counter packets \d+ bytes (\d+)/g)].map((m) => Number(m[1]));
      } finally {
        delivered.remove();
        offered.remove();
        cap.remove();
      }
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
      // a bucket holds the windows that ended in it: from capAt + 5 s on, every window began under
      // the cap; the last bucket is left out (participants leave during it). Steady under the cap,
      // as the counted stretch is.
      const capped = summary.timeline
        .slice(0, -1)
        .filter((p) => p.t >= capAt + 5000 && p.participants === PARTICIPANTS);
      const readBack = capped.reduce((a, p) => a + (p.wireBitrateInBps ?? 0), 0) / capped.length;
      const error = readBack / through.bps - 1;
      console.log(
        `cap ${capKbit} kbit/s: ${(through.bps / 1000).toFixed(1)} kbit/s of media got through (counted on the host); read back ${(readBack / 1000).toFixed(1)} kbit/s on the wire (${(error * 100).toFixed(1)}%) over ${capped.length} 5 s buckets ` +
          `${JSON.stringify(capped.map((p) => Math.round((p.wireBitrateInBps ?? 0) / 1000)))}; payload alone ${(capped.reduce((a, p) => a + p.bitrateInBps, 0) / capped.length / 1000).toFixed(1)} kbit/s; ` +
          `tbf sent ${sent.bytes} B in ${sent.packets} packets (${(sent.bytes / sent.packets).toFixed(0)} B each), dropped ${sent.dropped}; ` +
          `offered over the run: TCP ${byKind[0]} B, UDP < 120 B ${byKind[1]} B, UDP media ${byKind[2]} B`,
      );
      expect(summary.participants.joined).toBe(PARTICIPANTS);
      // every track flowed (the last window, as participants leave under the cap, may hold none)
      expect(summary.tracks.everReceived.audio, JSON.stringify(summary.tracks)).toBe(TRACKS);
      expect(capped.length, JSON.stringify(summary.timeline)).toBeGreaterThanOrEqual(3);
      // the offered rate was above the cap: tbf dropped a good share of what the node offered, and
      // what got through is under the cap and most of it (signalling and scrapes take the rest)
      expect(sent.dropped).toBeGreaterThan(sent.packets / 4);
      expect(through.bps).toBeLessThanOrEqual(capKbit * 1000 * 1.02);
      expect(through.bps).toBeGreaterThan(capKbit * 1000 * 0.5);
      expect(
        Math.abs(error),
        `read back ${readBack} b/s against ${through.bps} b/s delivered`,
      ).toBeLessThanOrEqual(TOLERANCE);
    },
    150_000,
  );
});
