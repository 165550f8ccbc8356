import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isShortWindow } from "@livekit-swarm/load";
import type { WindowSample } from "@livekit-swarm/schema";
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

/**
 * The host's counter read every 250 ms, so that what got through is read over the very spans of the
 * subscribers' stats windows: a bucket of the summary holds the windows that ended in it, which
 * began up to a window earlier, and a fixed stretch beside the buckets disagrees with them whenever
 * the rate moves between the two (seen: a run where the node offered a quarter less media for a
 * while and one bucket read 29 kbit/s, its neighbours 546-557; a 20 s stretch that held part of that
 * bucket counted 458 kbit/s against the buckets' mean of 419, -8.6%).
 */
class DeliveredSeries {
  private readonly points: { t: number; bytes: number }[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly counter: DeliveredMedia) {
    this.done = this.poll();
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      const before = Date.now();
      const bytes = this.counter.bytes();
      this.points.push({ t: (before + Date.now()) / 2, bytes });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Bytes counted by time t, linear between the reads around it. */
  at(t: number): number {
    const i = this.points.findIndex((p) => p.t >= t);
    const [before, after] = [this.points[i - 1], this.points[i]];
    if (after === undefined || (before === undefined && after.t !== t))
      throw new Error(`no counter reads around ${t} (${this.points[0]?.t}-${this.points.at(-1)?.t})`);
    if (before === undefined || after.t === t) return after.bytes;
    return before.bytes + ((after.bytes - before.bytes) * (t - before.t)) / (after.t - before.t);
  }

  /** Bits per second between two times. */
  bps(fromMs: number, toMs: number): number {
    return ((this.at(toMs) - this.at(fromMs)) * 8 * 1000) / (toMs - fromMs);
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
 * Lower caps often measure a broken session, not the cap: once at 400 kbit/s every subscriber went
 * into reconnecting within the first 5 s window and the SFU then sent each about one packet per 5 s
 * (the node offered 1.2 MB of TCP over the run against 0.28 MB at 800); at 300 kbit/s under
 * 2.9 Mbit/s of audio, the same. With each bucket held to the counter over its own windows, 480,
 * 400 and 300 kbit/s read back within 0.6% in one run each, with 3, 5 and 4 reconnects (2026-11-27).
 */
const CAPS_KBIT = [600, 800] as const;
const SUBSCRIBERS = 6;
const PARTICIPANTS = 2 + SUBSCRIBERS;
/** Every subscriber receives both publishers' audio. */
const TRACKS = 2 * SUBSCRIBERS;
const TOLERANCE = 0.05;
/** The summary's bucket: the stats interval, 5 s by default (the run does not set it). */
const BUCKET_MS = 5000;
/** How far apart the subscribers' windows of one bucket may begin or end to be read as one span. */
const ALIGNED_MS = 250;

/**
 * The subscribers' windows the summary filed in each bucket, by its rule: the bucket a window ended
 * in, or for a short one (the drain's) the bucket of the participant's window before it
 * (packages/load/src/run/aggregate.ts).
 */
function windowsByBucket(windows: readonly WindowSample[]): Map<number, WindowSample[]> {
  const byBucket = new Map<number, WindowSample[]>();
  const last = new Map<string, number>();
  for (const w of windows) {
    const key = `${w.room}/${w.participant}`;
    const previous = last.get(key);
    const t =
      isShortWindow(w.durationMs, BUCKET_MS) && previous !== undefined
        ? previous
        : Math.floor(w.t / BUCKET_MS) * BUCKET_MS;
    last.set(key, t);
    byBucket.set(t, [...(byBucket.get(t) ?? []), w]);
  }
  return byBucket;
}

/**
 * Why a bucket's windows are not one span of every subscriber holding both its tracks, or undefined
 * when they are. Only such a bucket can be held to the host's counter, which counts every media
 * packet for the host: a subscriber that lost its tracks (seen under a 480 kbit/s cap: both
 * publishers rejoined after signalling starved, and five of six subscribers were never offered
 * their tracks again) reads nothing while the host still counts what the SFU sends its ports; and
 * the counter, one for all subscribers, is split between them only where their windows coincide:
 * the shares are far from equal (likely because the SFU forwards each packet to the subscribers in
 * turn and the tbf drops the tail of each burst: one run had a subscriber receiving both tracks at
 * 45-49 packets/s and three under one packet a second on either), and a window with no packet on a
 * track is a reading, not a gap.
 */
function unsteady(windows: readonly WindowSample[]): string | undefined {
  const names = new Set(windows.map((w) => w.participant));
  if (names.size !== SUBSCRIBERS || windows.length !== SUBSCRIBERS)
    return `${windows.length} windows of ${names.size} subscribers`;
  const trackless = windows.filter((w) => w.inbound.length !== 2);
  if (trackless.length > 0) return `${trackless.map((w) => w.participant).join(", ")} without both tracks`;
  const spread = (xs: number[]): number => Math.max(...xs) - Math.min(...xs);
  const [starts, ends] = [windows.map((w) => w.t - w.durationMs), windows.map((w) => w.t)];
  if (spread(starts) > ALIGNED_MS || spread(ends) > ALIGNED_MS)
    return `windows ${spread(starts)} ms apart at the start, ${spread(ends)} ms at the end`;
  return undefined;
}

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
      // the host's counter reads from before the cap, so that a window of the first capped bucket
      // that began a few milliseconds before it (windows run up to ~15 ms over 5 s) has a read
      const delivered = DeliveredMedia.count(hostSide);
      const series = new DeliveredSeries(delivered);
      await new Promise((resolve) => setTimeout(resolve, 600));
      const capAt = Date.now();
      let cap: ReturnType<typeof Qdisc.bandwidth> | undefined;
      let offered: ReturnType<typeof NftFault.apply> | undefined;
      let sent: ReturnType<typeof tbfCounters>;
      let byKind: number[];
      try {
        cap = Qdisc.bandwidth(namespace, device, capKbit);
        // what the node offers the cap, by kind (counted before the qdisc): signalling (TCP), small
        // UDP (RTCP, STUN), media; the cap is shared by all of it, the wire bitrate counts media only
        offered = NftFault.apply(
          namespace,
          "lkswarm_offered",
          `  chain out {
    type filter hook output priority 0; policy accept;
    meta l4proto tcp counter
    udp length < 120 counter
    udp length >= 120 counter
  }`,
        );
        await run.exited;
        sent = tbfCounters(namespace, device);
        byKind = [...offered.listing().matchAll(/counter packets \d+ bytes (\d+)/g)].map((m) => Number(m[1]));
      } finally {
        await series.stop();
        delivered.remove();
        offered?.remove();
        cap?.remove();
      }
      // what got through over a stretch wholly under the cap and inside the hold: from 5 s after the
      // cap (a window that began before it is over) for 20 s (the hold is 35 s)
      const through = series.bps(capAt + 5000, capAt + 25_000);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
      // a bucket holds the windows that ended in it: from capAt + 5 s on, every window began under
      // the cap; the last bucket is left out (participants leave during it)
      const capped = summary.timeline
        .slice(0, -1)
        .filter((p) => p.t >= capAt + 5000 && p.participants === PARTICIPANTS);
      const byBucket = windowsByBucket(
        runLines<WindowSample>(join(out, "samples.jsonl")).filter((w) => w.role === "subscriber"),
      );
      const judged = capped.flatMap((p) => {
        const windows = byBucket.get(p.t) ?? [];
        const why = unsteady(windows);
        if (why !== undefined) {
          console.log(`bucket ${new Date(p.t).toISOString()} not held to the counter: ${why}`);
          return [];
        }
        // one span: the counter's bytes over each window, a sixth each, summed as the summary sums
        // the subscribers' rates (the sixths add up to the whole wherever the spans coincide)
        const counted = windows.reduce(
          (a, w) =>
            a + ((series.at(w.t) - series.at(w.t - w.durationMs)) * 8 * 1000) / SUBSCRIBERS / w.durationMs,
          0,
        );
        return [{ read: p.wireBitrateInBps ?? 0, counted, payload: p.bitrateInBps }];
      });
      const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
      const readBack = mean(judged.map((b) => b.read));
      const counted = mean(judged.map((b) => b.counted));
      const error = readBack / counted - 1;
      const kbit = (xs: number[]): string => JSON.stringify(xs.map((x) => Math.round(x / 1000)));
      console.log(
        `cap ${capKbit} kbit/s: ${(through / 1000).toFixed(1)} kbit/s of media got through over 20 s (counted on the host); ` +
          `over ${judged.length} of ${capped.length} 5 s buckets read back ${(readBack / 1000).toFixed(1)} kbit/s on the wire against ${(counted / 1000).toFixed(1)} kbit/s counted over the same windows (${(error * 100).toFixed(1)}%): ` +
          `read ${kbit(judged.map((b) => b.read))}, counted ${kbit(judged.map((b) => b.counted))}; payload alone ${(mean(judged.map((b) => b.payload)) / 1000).toFixed(1)} kbit/s; ` +
          `${eventsIn(out, "reconnecting")} reconnecting events; ` +
          `tbf sent ${sent.bytes} B in ${sent.packets} packets (${(sent.bytes / sent.packets).toFixed(0)} B each), dropped ${sent.dropped}; ` +
          `offered over the run: TCP ${byKind[0]} B, UDP < 120 B ${byKind[1]} B, UDP media ${byKind[2]} B`,
      );
      expect(summary.participants.joined).toBe(PARTICIPANTS);
      // every track flowed (the last window, as participants leave under the cap, may hold none)
      expect(summary.tracks.everReceived.audio, JSON.stringify(summary.tracks)).toBe(TRACKS);
      // 10 s of every subscriber holding both tracks under the cap; a run whose session broke under
      // it (tracks lost, windows apart) measures the break, not the cap (the log says which bucket)
      expect(judged.length, JSON.stringify(summary.timeline)).toBeGreaterThanOrEqual(2);
      // the offered rate was above the cap: tbf dropped a good share of what the node offered, and
      // what got through is under the cap and most of it (signalling and scrapes take the rest)
      expect(sent.dropped).toBeGreaterThan(sent.packets / 4);
      expect(through).toBeLessThanOrEqual(capKbit * 1000 * 1.02);
      expect(through).toBeGreaterThan(capKbit * 1000 * 0.5);
      expect(
        Math.abs(error),
        `read back ${readBack} b/s against ${counted} b/s counted over the same windows`,
      ).toBeLessThanOrEqual(TOLERANCE);
    },
    150_000,
  );
});
