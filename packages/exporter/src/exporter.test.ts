import {
  swarmMetrics,
  type EventContext,
  type OutboundTrackSample,
  type ParticipantEvent,
  type Role,
  type WindowSample,
} from "@livekit-swarm/schema";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { describe, expect, it } from "vitest";
import { SwarmExporter } from "./exporter.js";

const T0 = Date.UTC(2026, 0, 1);
const RUN_LABELS = { scenario: "smoke", run_id: "run-42", shard: "0" } as const;

interface Who {
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly worker: number;
}

const pub1: Who = { room: "room-a", participant: "pub-1", role: "publisher", worker: 0 };
const sub1: Who = { room: "room-a", participant: "sub-1", role: "subscriber", worker: 0 };
const sub2: Who = { room: "room-b", participant: "sub-2", role: "subscriber", worker: 1 };
const sub3: Who = { room: "room-b", participant: "sub-3", role: "subscriber", worker: 1 };

function event(exporter: SwarmExporter, who: Who, atMs: number, e: ParticipantEvent): void {
  const context: EventContext = { ...who, t: T0 + atMs };
  exporter.onEvent(context, e);
}

const inbound = inboundTrack;

function outbound(track: Partial<OutboundTrackSample> & Pick<OutboundTrackSample, "kind">) {
  return {
    packets: 0,
    bytes: 0,
    nack: 0,
    pli: 0,
    fir: 0,
    qualityLimitation: undefined,
    ...track,
  } satisfies OutboundTrackSample;
}

function sample(who: Who, atMs: number, fields: Partial<WindowSample>): WindowSample {
  return windowSample({ ...who, t: T0 + atMs, ...fields });
}

type Step = { readonly atMs: number; readonly who: Who } & (
  { readonly event: ParticipantEvent } | { readonly sample: Partial<WindowSample> }
);

/**
 * Two rooms on two workers: a publisher that reconnects, a subscriber that sees loss, changes
 * quality and is disconnected by the server, one join that succeeds on its second attempt and one
 * that never does.
 */
const RUN: readonly Step[] = [
  { atMs: 400, who: pub1, event: { type: "joined", joinS: 0.4 } },
  { atMs: 1000, who: sub1, event: { type: "joined", joinS: 1 } },
  { atMs: 1000, who: sub2, event: { type: "join-failed", reason: "timeout", message: "timed out" } },
  { atMs: 1100, who: sub3, event: { type: "join-failed", reason: "server-limit", message: "room full" } },
  { atMs: 1500, who: sub1, event: { type: "quality", quality: "excellent" } },
  {
    atMs: 1500,
    who: sub1,
    event: { type: "transport", transport: "udp", local: "host", remote: "host", protocol: "udp", iceS: 0.3 },
  },
  {
    atMs: 3000,
    who: sub2,
    event: { type: "transport", transport: "tcp", local: "host", remote: "host", protocol: "tcp" },
  },
  { atMs: 2200, who: sub1, event: { type: "track-subscribed", kind: "audio", afterJoinStartS: 1.2 } },
  { atMs: 2200, who: sub1, event: { type: "first-packet", kind: "audio", afterJoinStartS: 1.2 } },
  { atMs: 2500, who: sub1, event: { type: "first-packet", kind: "video", afterJoinStartS: 1.5 } },
  { atMs: 3000, who: sub1, event: { type: "first-frame", kind: "video", afterJoinStartS: 2, exact: true } },
  { atMs: 3000, who: sub2, event: { type: "joined", joinS: 2 } },
  { atMs: 5000, who: pub1, event: { type: "reconnecting" } },
  // a second Reconnecting while already reconnecting is the same episode
  { atMs: 5200, who: pub1, event: { type: "reconnecting" } },
  {
    atMs: 6000,
    who: sub1,
    sample: {
      inbound: [
        inbound({
          key: "a1",
          kind: "audio",
          expected: 250,
          lost: 5,
          received: 245,
          bytes: 10_000,
          jitterS: 0.02,
          nack: 1,
          concealedSamples: 480,
          totalSamples: 240_000,
        }),
        inbound({
          key: "v1",
          kind: "video",
          expected: 1000,
          lost: 20,
          received: 980,
          bytes: 500_000,
          jitterS: 0.03,
          nack: 4,
          pli: 1,
          fir: 1,
          framesDecoded: 150,
          framesDropped: 2,
          freezes: 1,
          freezeS: 0.25,
        }),
        inbound({
          key: "v2",
          kind: "video",
          expected: 1000,
          received: 1000,
          bytes: 400_000,
          framesDecoded: 148,
        }),
        // a track that received nothing this window: its jitter is stale
        inbound({ key: "a2", kind: "audio", jitterS: 0.5 }),
      ],
      rttS: 0.05,
      latencyS: { p50: 0.15, max: 0.4, n: 12 },
      dataReceived: 7,
    },
  },
  {
    atMs: 6000,
    who: pub1,
    sample: {
      outbound: [
        outbound({ kind: "audio", packets: 250, bytes: 8000 }),
        outbound({ kind: "video", packets: 900, bytes: 450_000, nack: 3, pli: 2, fir: 1 }),
      ],
      dataSent: 5,
    },
  },
  { atMs: 6500, who: pub1, event: { type: "reconnected", durationS: 1.5 } },
  {
    atMs: 8000,
    who: sub2,
    sample: { inbound: [inbound({ key: "a1", kind: "audio", expected: 100, lost: 100, jitterS: 0.2 })] },
  },
  { atMs: 11_500, who: sub1, event: { type: "quality", quality: "poor" } },
  {
    atMs: 16_500,
    who: sub1,
    sample: {
      inbound: [
        inbound({ key: "a1", kind: "audio", expected: 250, received: 250, jitterS: 0.004 }),
        inbound({ key: "v1", kind: "video", expected: 1000, received: 1000, jitterS: 0.012 }),
      ],
      rttS: 0.2,
    },
  },
  { atMs: 21_500, who: sub1, event: { type: "disconnected", reason: "SERVER_SHUTDOWN" } },
];

/** Feeds the run's steps in order; `until` stops it early, to look at it half way. */
function feedRun(exporter: SwarmExporter, until = Infinity): void {
  for (const step of RUN) {
    if (step.atMs > until) break;
    if ("event" in step) event(exporter, step.who, step.atMs, step.event);
    else exporter.onSample(sample(step.who, step.atMs, step.sample));
  }
  // each worker tells its own load every stats interval
  exporter.onWorkerLoad({
    worker: 0,
    t: 5000,
    windowMs: 1000,
    eventLoop: 0.42,
    cpuCores: 0.4,
    mediaTicks: { ticks: 250, lateP99Ms: 3, lateMaxMs: 7, sendJitterMs: 0.2 },
  });
}

/** One of each storm figure, so every storm metric has a series. */
function feedStorm(exporter: SwarmExporter): void {
  exporter.onStorm({ type: "join", t: T0, durationS: 0.012 });
  exporter.onStorm({ type: "join-failed", t: T0, reason: "timeout" });
  exporter.onStorm({ type: "session-ended", t: T0 });
  exporter.onStorm({ type: "reconnect", t: T0, state: "resumed", durationS: 0.02 });
  exporter.onStorm({ type: "reconnect-failed", t: T0, reason: "closed" });
  exporter.onStorm({ type: "api", t: T0, method: "ListRooms", durationS: 0.004 });
  exporter.onStorm({ type: "api-failed", t: T0, method: "CreateRoom", reason: "http_503" });
}

interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The Prometheus text format, enough of it for prom-client's output. */
function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparsable exposition line: ${line}`);
    const [, name = "", labelText = "", valueText = ""] = match;
    const labels: Record<string, string> = {};
    for (const [, label = "", value = ""] of labelText.matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[label] = value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    series.push({ name, labels, value });
  }
  return series;
}

/** A reading of one series, found by its exact label set (the run labels are added here). */
class Exposition {
  readonly series: readonly Series[];

  constructor(text: string) {
    this.series = parseExposition(text);
  }

  static async of(exporter: SwarmExporter): Promise<Exposition> {
    return new Exposition(await exporter.metrics());
  }

  value(name: string, labels: Record<string, string>): number {
    const want = { ...RUN_LABELS, ...labels };
    const found = this.series.find((s) => s.name === name && sameLabels(s.labels, want));
    if (found === undefined) {
      const candidates = this.series.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels));
      throw new Error(
        `no series ${name}${JSON.stringify(want)}; it has ${candidates.length}:\n${candidates.join("\n")}`,
      );
    }
    return found.value;
  }

  has(name: string, labels: Record<string, string>): boolean {
    const want = { ...RUN_LABELS, ...labels };
    return this.series.some((s) => s.name === name && sameLabels(s.labels, want));
  }

  /** Cumulative bucket counts, keyed by `le`. */
  buckets(name: string, labels: Record<string, string>): Record<string, number> {
    const want = { ...RUN_LABELS, ...labels };
    const out: Record<string, number> = {};
    for (const s of this.series) {
      if (s.name !== `${name}_bucket`) continue;
      const { le, ...rest } = s.labels;
      if (le !== undefined && sameLabels(rest, want)) out[le] = s.value;
    }
    return out;
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

describe("SwarmExporter", () => {
  const w0pub = { worker: "0", role: "publisher" };
  const w0sub = { worker: "0", role: "subscriber" };
  const w1sub = { worker: "1", role: "subscriber" };

  describe("after a run", () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    feedRun(exporter);
    const read = Exposition.of(exporter);

    it("counts participants per role and connection state from their last event", async () => {
      const m = await read;
      const state = (labels: Record<string, string>, s: string): number =>
        m.value("lkswarm_participants", { ...labels, state: s });
      expect([state(w0pub, "connected"), state(w0pub, "reconnecting")]).toEqual([1, 0]);
      expect([state(w0pub, "disconnected"), state(w0pub, "failed")]).toEqual([0, 0]);
      expect([state(w0sub, "connected"), state(w0sub, "disconnected")]).toEqual([0, 1]);
      // sub-2 failed once and then joined; sub-3 never got in
      expect([state(w1sub, "connected"), state(w1sub, "failed")]).toEqual([1, 1]);
      expect(m.series.filter((s) => s.name === "lkswarm_participants").every((s) => s.value >= 0)).toBe(true);
    });

    it("observes join durations per role, with boundaries at the catalog's buckets", async () => {
      const m = await read;
      const name = "lkswarm_join_duration_seconds";
      expect(m.value(`${name}_count`, w0pub)).toBe(1);
      expect(m.buckets(name, w0pub)).toMatchObject({ "0.25": 0, "0.5": 1 });
      // a value on a boundary lands in that bucket (le is "less than or equal")
      expect(m.buckets(name, w0sub)).toMatchObject({ "0.75": 0, "1": 1 });
      expect(m.buckets(name, w1sub)).toMatchObject({ "1.5": 0, "2": 1, "+Inf": 1 });
      expect(m.value(`${name}_sum`, w1sub)).toBe(2);
    });

    it("counts every failed join by reason, in snake_case", async () => {
      const m = await read;
      expect(m.value("lkswarm_join_failures_total", { ...w1sub, reason: "timeout" })).toBe(1);
      expect(m.value("lkswarm_join_failures_total", { ...w1sub, reason: "server_limit" })).toBe(1);
    });

    it("counts selected pairs by transport class, and ICE time only where the engine timed it", async () => {
      const m = await read;
      expect(m.value("lkswarm_transport_selections_total", { ...w0sub, transport: "udp" })).toBe(1);
      expect(m.value("lkswarm_transport_selections_total", { ...w1sub, transport: "tcp" })).toBe(1);
      expect(m.buckets("lkswarm_ice_duration_seconds", { ...w0sub, transport: "udp" })).toMatchObject({
        "0.25": 0,
        "0.5": 1,
      });
      expect(
        m.series.filter(
          (s) => s.name === "lkswarm_ice_duration_seconds_count" && s.labels.transport === "tcp",
        ),
      ).toEqual([]);
    });

    it("counts reconnect episodes once and observes how long they took", async () => {
      const m = await read;
      expect(m.value("lkswarm_reconnects_total", w0pub)).toBe(1);
      expect(m.value("lkswarm_reconnects_total", w0sub)).toBe(0);
      expect(m.buckets("lkswarm_reconnect_duration_seconds", w0pub)).toMatchObject({ "1": 0, "2": 1 });
    });

    it("counts disconnects by LiveKit reason in snake_case", async () => {
      const m = await read;
      expect(m.value("lkswarm_disconnects_total", { ...w0sub, reason: "server_shutdown" })).toBe(1);
    });

    it("observes first packet per kind and first frame for video", async () => {
      const m = await read;
      expect(m.buckets("lkswarm_time_to_first_packet_seconds", { worker: "0", kind: "audio" })).toMatchObject(
        {
          "1": 0,
          "1.5": 1,
        },
      );
      expect(m.buckets("lkswarm_time_to_first_packet_seconds", { worker: "0", kind: "video" })).toMatchObject(
        {
          "1": 0,
          "1.5": 1,
        },
      );
      expect(m.buckets("lkswarm_time_to_first_frame_seconds", { worker: "0" })).toMatchObject({
        "1.5": 0,
        "2": 1,
      });
    });

    it("exports loss as expected and lost packet counters, so PromQL takes a ratio of sums", async () => {
      const m = await read;
      const counters = (worker: string, kind: string): [number, number] => [
        m.value("lkswarm_inbound_packets_lost_total", { worker, kind }),
        m.value("lkswarm_inbound_packets_expected_total", { worker, kind }),
      ];
      expect(counters("0", "audio")).toEqual([5, 500]);
      expect(counters("0", "video")).toEqual([20, 3000]);
      expect(counters("1", "audio")).toEqual([100, 100]);
      // created at 0 when worker 1 first showed up, so rate() sees its first loss
      expect(counters("1", "video")).toEqual([0, 0]);
    });

    it("observes loss per track per window, as the catalog and the gate's windows define it", async () => {
      const m = await read;
      const name = "lkswarm_inbound_loss_ratio";
      // window 1: audio 5/250 = 0.02 exactly on the GOOD boundary; video tracks 20/1000 = 0.02 and 0/1000;
      // window 2: one track of each kind, no loss
      expect(m.value(`${name}_count`, { worker: "0", kind: "audio" })).toBe(2);
      expect(m.buckets(name, { worker: "0", kind: "audio" })).toMatchObject({ "0": 1, "0.01": 1, "0.02": 2 });
      expect(m.value(`${name}_count`, { worker: "0", kind: "video" })).toBe(3);
      expect(m.buckets(name, { worker: "0", kind: "video" })).toMatchObject({
        "0": 2,
        "0.01": 2,
        "0.02": 3,
      });
      expect(m.buckets(name, { worker: "1", kind: "audio" })).toMatchObject({ "0.5": 0, "1": 1 });
      // worker 1 received no video: no window with expected > 0, no observation
      expect(m.value(`${name}_count`, { worker: "1", kind: "video" })).toBe(0);
    });

    it("observes jitter per track and window only when the track received packets", async () => {
      const m = await read;
      const name = "lkswarm_inbound_jitter_seconds";
      expect(m.value(`${name}_count`, { worker: "0", kind: "audio" })).toBe(2);
      expect(m.buckets(name, { worker: "0", kind: "audio" })).toMatchObject({
        "0.0025": 0,
        "0.005": 1,
        "0.02": 2,
      });
      expect(m.value(`${name}_count`, { worker: "0", kind: "video" })).toBe(2);
      expect(m.buckets(name, { worker: "0", kind: "video" })).toMatchObject({
        "0.01": 0,
        "0.02": 1,
        "0.03": 2,
      });
      expect(m.value(`${name}_count`, { worker: "1", kind: "audio" })).toBe(0);
    });

    it("observes round-trip time per window when the window has one", async () => {
      const m = await read;
      const name = "lkswarm_round_trip_time_seconds";
      expect(m.value(`${name}_count`, w0sub)).toBe(2);
      expect(m.buckets(name, w0sub)).toMatchObject({ "0.025": 0, "0.05": 1, "0.15": 1, "0.2": 2 });
      expect(m.value(`${name}_count`, w0pub)).toBe(0);
    });

    it("observes a window's median end-to-end latency once, however many probes it had", async () => {
      const m = await read;
      const name = "lkswarm_end_to_end_latency_seconds";
      expect(m.value(`${name}_count`, { worker: "0", kind: "video" })).toBe(1);
      expect(m.value(`${name}_sum`, { worker: "0", kind: "video" })).toBe(0.15);
      expect(m.buckets(name, { worker: "0", kind: "video" })).toMatchObject({ "0.1": 0, "0.15": 1 });
    });

    it("sums the window counters of tracks, by kind where the catalog has kind", async () => {
      const m = await read;
      const w0 = { worker: "0" };
      expect(m.value("lkswarm_inbound_bytes_total", { ...w0, kind: "audio" })).toBe(10_000);
      expect(m.value("lkswarm_inbound_bytes_total", { ...w0, kind: "video" })).toBe(900_000);
      expect(m.value("lkswarm_inbound_nack_total", { ...w0, kind: "audio" })).toBe(1);
      expect(m.value("lkswarm_inbound_nack_total", { ...w0, kind: "video" })).toBe(4);
      expect(m.value("lkswarm_inbound_pli_total", w0)).toBe(1);
      expect(m.value("lkswarm_inbound_fir_total", w0)).toBe(1);
      expect(m.value("lkswarm_inbound_frames_decoded_total", w0)).toBe(298);
      expect(m.value("lkswarm_inbound_frames_dropped_total", w0)).toBe(2);
      expect(m.value("lkswarm_inbound_freezes_total", w0)).toBe(1);
      expect(m.value("lkswarm_inbound_freeze_seconds_total", w0)).toBe(0.25);
      expect(m.value("lkswarm_inbound_audio_concealed_samples_total", w0)).toBe(480);
      expect(m.value("lkswarm_inbound_audio_samples_total", w0)).toBe(240_000);
      expect(m.value("lkswarm_outbound_bytes_total", { ...w0, kind: "audio" })).toBe(8000);
      expect(m.value("lkswarm_outbound_bytes_total", { ...w0, kind: "video" })).toBe(450_000);
      expect(m.value("lkswarm_outbound_nack_total", { ...w0, kind: "video" })).toBe(3);
      expect(m.value("lkswarm_outbound_pli_total", w0)).toBe(2);
      expect(m.value("lkswarm_outbound_fir_total", w0)).toBe(1);
      expect(m.value("lkswarm_data_messages_sent_total", w0pub)).toBe(5);
      expect(m.value("lkswarm_data_messages_received_total", w0sub)).toBe(7);
    });

    it("counts quality changes and the time spent at each quality", async () => {
      const m = await read;
      expect(m.value("lkswarm_connection_quality_changes_total", { ...w0sub, quality: "excellent" })).toBe(1);
      expect(m.value("lkswarm_connection_quality_changes_total", { ...w0sub, quality: "poor" })).toBe(1);
      // excellent from 1.5 s to 11.5 s; poor from 11.5 s to the disconnect at 21.5 s
      expect(m.value("lkswarm_connection_quality_seconds_total", { ...w0sub, quality: "excellent" })).toBe(
        10,
      );
      expect(m.value("lkswarm_connection_quality_seconds_total", { ...w0sub, quality: "poor" })).toBe(10);
    });
  });

  describe("half way through the run", () => {
    it("shows a reconnecting participant as reconnecting, not connected", async () => {
      const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
      feedRun(exporter, 5200);
      const m = await Exposition.of(exporter);
      expect(m.value("lkswarm_participants", { ...w0pub, state: "reconnecting" })).toBe(1);
      expect(m.value("lkswarm_participants", { ...w0pub, state: "connected" })).toBe(0);
      expect(m.value("lkswarm_reconnects_total", w0pub)).toBe(1);
    });

    it("accrues quality time up to the participant's last window, not beyond", async () => {
      const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
      feedRun(exporter, 16_500);
      const m = await Exposition.of(exporter);
      expect(m.value("lkswarm_connection_quality_seconds_total", { ...w0sub, quality: "poor" })).toBe(5);
      // other participants' windows move nobody else's quality clock
      exporter.onSample(sample(pub1, 20_000, {}));
      const later = await Exposition.of(exporter);
      expect(later.value("lkswarm_connection_quality_seconds_total", { ...w0sub, quality: "poor" })).toBe(5);
    });
  });

  describe("an E2EE room", () => {
    it("counts each subscriber-publisher pair that cannot decrypt once, however often its cryptor says so", async () => {
      const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
      exporter.prepare([pub1, sub1, sub2]);
      const before = await Exposition.of(exporter);
      // created at 0 with the subject, so rate() sees the first failure
      expect(before.value("lkswarm_e2ee_decryption_failures_total", w1sub)).toBe(0);
      event(exporter, sub1, 100, { type: "e2ee", from: "pub-1", state: "ok" });
      event(exporter, sub2, 100, { type: "e2ee", from: "pub-1", state: "decryption_failed" });
      event(exporter, sub2, 200, { type: "e2ee", from: "pub-1", state: "decryption_failed" });
      event(exporter, sub2, 300, { type: "e2ee", from: "pub-1", state: "missing_key" });
      event(exporter, sub2, 400, { type: "e2ee", from: "pub-2", state: "missing_key" });
      // the publisher's own ratchet and an unobservable cryptor are not failures
      event(exporter, pub1, 500, { type: "e2ee", from: "pub-1", state: "key_ratcheted" });
      event(exporter, sub1, 500, { type: "e2ee", from: "", state: "unobservable" });
      // an internal error on the publisher's own cryptor is not a reader's failure; sub1's worker
      // dropping pub-1's frames is (livekit-client: encryption state unknown for the track)
      event(exporter, pub1, 600, { type: "e2ee", from: "pub-1", state: "internal_error" });
      event(exporter, sub1, 700, { type: "e2ee", from: "pub-1", state: "internal_error" });
      const m = await Exposition.of(exporter);
      expect(m.value("lkswarm_e2ee_decryption_failures_total", w1sub)).toBe(2);
      expect(m.value("lkswarm_e2ee_decryption_failures_total", w0sub)).toBe(1);
      expect(m.value("lkswarm_e2ee_decryption_failures_total", w0pub)).toBe(0);
      // not loss: nothing reached the packet counters
      expect(m.has("lkswarm_inbound_packets_lost_total", { worker: "1", kind: "video" })).toBe(
        m.value("lkswarm_inbound_packets_lost_total", { worker: "1", kind: "video" }) === 0,
      );
    });
  });

  describe("inputs it must not trust", () => {
    it("drops negative and NaN counts instead of throwing or poisoning a counter", async () => {
      const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
      exporter.onSample(
        sample(sub1, 1000, {
          inbound: [
            inbound({ key: "v", kind: "video", expected: 10, lost: -3, received: 10, bytes: Number.NaN }),
          ],
          rttS: Number.NaN,
        }),
      );
      const m = await Exposition.of(exporter);
      expect(m.value("lkswarm_inbound_packets_lost_total", { worker: "0", kind: "video" })).toBe(0);
      expect(m.value("lkswarm_inbound_bytes_total", { worker: "0", kind: "video" })).toBe(0);
      expect(m.value("lkswarm_inbound_packets_expected_total", { worker: "0", kind: "video" })).toBe(10);
      expect(m.value("lkswarm_round_trip_time_seconds_count", w0sub)).toBe(0);
    });

    it("folds an unbounded set of reasons into `other` instead of minting a series per string", async () => {
      const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
      for (let i = 0; i < 40; i++) {
        event(exporter, sub1, i, { type: "disconnected", reason: `connection ${i} reset` });
      }
      const m = await Exposition.of(exporter);
      const series = m.series.filter((s) => s.name === "lkswarm_disconnects_total");
      expect(series).toHaveLength(17);
      expect(m.value("lkswarm_disconnects_total", { ...w0sub, reason: "other" })).toBe(24);
    });
  });
});

describe("catalog conformance", () => {
  const catalogNames = swarmMetrics().map((m) => m.name);

  describe.each([false, true])("perParticipant: %s", (perParticipant) => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42", perParticipant });
    feedRun(exporter);
    feedStorm(exporter);
    const json = exporter.registry.getMetricsAsJSON();

    it("registers every swarm metric of the catalog, and nothing else", async () => {
      const registered = (await json).map((m) => m.name);
      expect(registered.filter((name) => !catalogNames.includes(name))).toEqual([]);
      expect(catalogNames.filter((name) => !registered.includes(name))).toEqual([]);
    });

    it.each(swarmMetrics().map((m) => [m.name, m] as const))(
      "%s has the catalog's type, help, buckets and exactly its labels",
      async (name, definition) => {
        const registered = (await json).find((m) => m.name === name);
        expect(registered, `${name} is registered`).toBeDefined();
        if (registered === undefined) return;
        expect(registered.type).toBe(definition.type);
        expect(registered.help).toBe(definition.help);
        const labels = [...definition.labels, ...(perParticipant ? definition.optInLabels : [])].sort();
        // the run above gives every metric at least one series, so this checks something
        expect(registered.values.length, `${name} has series`).toBeGreaterThan(0);
        for (const value of registered.values) {
          const { le, ...rest } = value.labels;
          expect(Object.keys(rest).sort(), `${name} ${JSON.stringify(value.labels)}`).toEqual(labels);
          if (le !== undefined) expect(definition.type, `${name} has le`).toBe("histogram");
        }
        if (definition.type === "histogram") {
          const bounds = new Set(
            registered.values.flatMap((v) => (v.labels.le === undefined ? [] : [String(v.labels.le)])),
          );
          expect([...bounds]).toEqual([...(definition.buckets ?? []).map(String), "+Inf"]);
        }
      },
    );
  });

  it("sets each worker's event loop gauge to its last window's share", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    exporter.onWorkerLoad({ worker: 1, t: 2000, windowMs: 2000, eventLoop: 0.97, cpuCores: 1 });
    exporter.onWorkerLoad({ worker: 1, t: 4000, windowMs: 2000, eventLoop: 0.35, cpuCores: 0.3 });
    const m = await Exposition.of(exporter);
    const labels = { scenario: "smoke", run_id: "run-42", shard: "0", worker: "1" };
    expect(m.value("lkswarm_worker_event_loop_busy_ratio", labels)).toBe(0.35);
  });

  it("leaves the event loop gauge alone for a window that began while the worker's engines loaded", async () => {
    const loading = { worker: 2, windowMs: 2000, eventLoop: 1, cpuCores: 0.9, starting: true } as const;
    const labels = { scenario: "smoke", run_id: "run-42", shard: "0", worker: "2" };
    const still = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    still.onWorkerLoad({ ...loading, t: 2000 });
    expect((await Exposition.of(still)).has("lkswarm_worker_event_loop_busy_ratio", labels)).toBe(false);
    const ready = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    ready.onWorkerLoad({ worker: 2, t: 4000, windowMs: 2000, eventLoop: 0.2, cpuCores: 0.3 });
    ready.onWorkerLoad({ ...loading, t: 6000 });
    expect((await Exposition.of(ready)).value("lkswarm_worker_event_loop_busy_ratio", labels)).toBe(0.2);
  });

  it("sets each worker's media thread gauge to its last window's p99 late tick, in seconds, and only where the thread measured", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    const native = { worker: 1, windowMs: 5000, eventLoop: 0.2, cpuCores: 0.3 } as const;
    exporter.onWorkerLoad({ ...native, t: 5000, mediaTicks: { ticks: 250, lateP99Ms: 14, lateMaxMs: 40 } });
    const labels = { scenario: "smoke", run_id: "run-42", shard: "0", worker: "1" };
    expect((await Exposition.of(exporter)).value("lkswarm_worker_media_tick_late_seconds", labels)).toBe(
      0.014,
    );
    // a window of fewer than 100 ticks carries no figure: the last one stands
    exporter.onWorkerLoad({ ...native, t: 10_000 });
    expect((await Exposition.of(exporter)).value("lkswarm_worker_media_tick_late_seconds", labels)).toBe(
      0.014,
    );
    exporter.onWorkerLoad({ ...native, t: 15_000, mediaTicks: { ticks: 250, lateP99Ms: 0, lateMaxMs: 1 } });
    expect((await Exposition.of(exporter)).value("lkswarm_worker_media_tick_late_seconds", labels)).toBe(0);
    // a window that began while the engines loaded: the thread's figure counts, as in the verdict
    exporter.onWorkerLoad({
      ...native,
      t: 20_000,
      starting: true,
      mediaTicks: { ticks: 250, lateP99Ms: 22, lateMaxMs: 30 },
    });
    expect((await Exposition.of(exporter)).value("lkswarm_worker_media_tick_late_seconds", labels)).toBe(
      0.022,
    );
    // rtc-node's and the browser's workers have no such thread: no series, not a 0
    exporter.onWorkerLoad({ worker: 2, t: 5000, windowMs: 5000, eventLoop: 0.2, cpuCores: 0.3 });
    const other = { ...labels, worker: "2" };
    const m = await Exposition.of(exporter);
    expect(m.has("lkswarm_worker_event_loop_busy_ratio", other)).toBe(true);
    expect(m.has("lkswarm_worker_media_tick_late_seconds", other)).toBe(false);
    expect(m.has("lkswarm_worker_media_send_jitter_seconds", other)).toBe(false);
  });

  it("sets each worker's send jitter gauge to its media thread's own send jitter, in seconds, once it has one", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    const native = { worker: 1, windowMs: 5000, eventLoop: 0.2, cpuCores: 0.3 } as const;
    const labels = { scenario: "smoke", run_id: "run-42", shard: "0", worker: "1" };
    // no tick sent yet: no series, not a 0
    exporter.onWorkerLoad({ ...native, t: 5000, mediaTicks: { ticks: 250, lateP99Ms: 1, lateMaxMs: 2 } });
    expect((await Exposition.of(exporter)).has("lkswarm_worker_media_send_jitter_seconds", labels)).toBe(
      false,
    );
    exporter.onWorkerLoad({
      ...native,
      t: 10_000,
      mediaTicks: { ticks: 250, lateP99Ms: 1, lateMaxMs: 2, sendJitterMs: 14.5 },
    });
    expect((await Exposition.of(exporter)).value("lkswarm_worker_media_send_jitter_seconds", labels)).toBe(
      0.0145,
    );
    exporter.onWorkerLoad({
      ...native,
      t: 15_000,
      mediaTicks: { ticks: 250, lateP99Ms: 0, lateMaxMs: 1, sendJitterMs: 0 },
    });
    expect((await Exposition.of(exporter)).value("lkswarm_worker_media_send_jitter_seconds", labels)).toBe(0);
  });

  it("puts room on lkswarm_participants per participant, but never participant", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42", perParticipant: true });
    feedRun(exporter);
    const m = await Exposition.of(exporter);
    expect(m.value("lkswarm_participants", { ...w1("room-b"), state: "failed" })).toBe(1);
    expect(m.value("lkswarm_join_duration_seconds_count", { ...w1("room-b"), participant: "sub-2" })).toBe(1);
  });
});

function w1(room: string): Record<string, string> {
  return { worker: "1", role: "subscriber", room };
}

describe("storm figures", () => {
  it("count joins and failures by reason, and time joins and RoomService calls, on worker k6", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    feedStorm(exporter);
    exporter.onStorm({ type: "join-failed", t: T0, reason: "timeout" });
    const m = await Exposition.of(exporter);
    const k6 = { worker: "k6" };
    expect(m.value("lkswarm_storm_joins_total", k6)).toBe(1);
    expect(m.value("lkswarm_storm_join_duration_seconds_count", k6)).toBe(1);
    expect(m.value("lkswarm_storm_join_failures_total", { ...k6, reason: "timeout" })).toBe(2);
    expect(m.value("lkswarm_storm_api_duration_seconds_count", { ...k6, method: "list_rooms" })).toBe(1);
    expect(m.value("lkswarm_storm_reconnect_duration_seconds_count", { ...k6, state: "resumed" })).toBe(1);
    expect(m.value("lkswarm_storm_reconnect_failures_total", { ...k6, reason: "closed" })).toBe(1);
    expect(
      m.value("lkswarm_storm_api_failures_total", { ...k6, method: "create_room", reason: "http_503" }),
    ).toBe(1);
  });

  it("creates the join series at zero before k6 starts, and follows open sessions as joins and closes arrive", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    const k6 = { worker: "k6" };
    exporter.prepareStorm();
    let m = await Exposition.of(exporter);
    expect(m.value("lkswarm_storm_joins_total", k6)).toBe(0);
    expect(m.value("lkswarm_storm_join_duration_seconds_count", k6)).toBe(0);
    expect(m.value("lkswarm_storm_sessions_open", k6)).toBe(0);
    for (let i = 0; i < 3; i++) exporter.onStorm({ type: "join", t: T0 + i, durationS: 0.01 });
    exporter.onStorm({ type: "session-ended", t: T0 + 5 });
    m = await Exposition.of(exporter);
    expect(m.value("lkswarm_storm_sessions_open", k6)).toBe(2);
    expect(m.value("lkswarm_storm_joins_total", k6)).toBe(3);
    for (let i = 0; i < 4; i++) exporter.onStorm({ type: "session-ended", t: T0 + 6 });
    m = await Exposition.of(exporter);
    expect(m.value("lkswarm_storm_sessions_open", k6), "more closes than joins: never below zero").toBe(0);
  });

  it("creates no storm series for a media run", async () => {
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
    feedRun(exporter);
    const m = await Exposition.of(exporter);
    expect(m.series.filter((s) => s.name.startsWith("lkswarm_storm_"))).toEqual([]);
  });
});
