import { closestMatches } from "./suggest.js";

export type MetricType = "counter" | "gauge" | "histogram";
export type MetricSource = "swarm" | "livekit";

/** Grafana unit ids. For counters it is the unit of `rate()`, the way a counter is plotted. */
export type GrafanaUnit =
  "s" | "ms" | "µs" | "ns" | "percent" | "percentunit" | "bytes" | "Bps" | "pps" | "short" | "none";

export const grafanaUnits: readonly GrafanaUnit[] = [
  "s",
  "ms",
  "µs",
  "ns",
  "percent",
  "percentunit",
  "bytes",
  "Bps",
  "pps",
  "short",
  "none",
];

export type ThresholdOp = "<" | "<=" | ">" | ">=";
export type Aggregation = "p50" | "p95" | "p99" | "max" | "min" | "avg" | "rate" | "count";
/** What one observation stands for when a percentile is taken (docs/observability.md 2). */
export type Population = "participants" | "tracks" | "windows";

export const thresholdOps: readonly ThresholdOp[] = ["<", "<=", ">", ">="];
export const aggregations: readonly Aggregation[] = [
  "p50",
  "p95",
  "p99",
  "max",
  "min",
  "avg",
  "rate",
  "count",
];
export const populations: readonly Population[] = ["participants", "tracks", "windows"];

/**
 * A default gate on a metric: it passes while `aggregation(metric) op value`, evaluated over
 * `population`. `warn` and `fail` are two bounds of the same comparison; either may be absent.
 */
export interface MetricThreshold {
  readonly warn?: number;
  readonly fail?: number;
  readonly op: ThresholdOp;
  readonly aggregation: Aggregation;
  readonly population: Population;
}

export const swarmLabelNames = [
  "scenario",
  "run_id",
  "shard",
  "worker",
  "kind",
  "role",
  "state",
  "reason",
  "quality",
  "method",
  "transport",
] as const;
export type SwarmLabel = (typeof swarmLabelNames)[number];

/** Unbounded labels: a few thousand participants would make millions of series, so off by default. */
export const optInLabelNames = ["room", "participant"] as const;
export type OptInLabel = (typeof optInLabelNames)[number];

/** Constant labels livekit-server puts on every one of its metrics. */
export const livekitConstLabels = ["node_id", "node_type"] as const;

export const SWARM_METRIC_PREFIX = "lkswarm_";
export const LIVEKIT_METRIC_PREFIX = "livekit_";

interface MetricCommon {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** The unit word: a base unit (`seconds`, `ratio`, `bytes`) or what is counted (`packets`). */
  readonly unit: string;
  readonly grafanaUnit: GrafanaUnit;
  /** Histogram upper bounds, strictly increasing, with a boundary at every threshold value. */
  readonly buckets?: readonly number[];
  readonly thresholds?: readonly MetricThreshold[];
}

export interface SwarmMetric extends MetricCommon {
  readonly source: "swarm";
  readonly labels: readonly SwarmLabel[];
  readonly optInLabels: readonly OptInLabel[];
}

/**
 * Whether a livekit-server node exposes the metric once one participant has published audio and
 * video for about 15 s and a subscriber receives them. Labelled vectors have no series before
 * their first observation, so most names are absent from a fresh node.
 */
export type Presence = "always" | { readonly conditional: string };

export interface LivekitMetric extends MetricCommon {
  readonly source: "livekit";
  readonly labels: readonly string[];
  readonly presence: Presence;
}

export type MetricDefinition = SwarmMetric | LivekitMetric;

type SwarmInput<N extends string> = Omit<SwarmMetric, "source" | "optInLabels" | "name"> & {
  readonly name: N;
  readonly optInLabels?: readonly OptInLabel[];
};

function swarm<const N extends string>(m: SwarmInput<N>): SwarmMetric & { readonly name: N } {
  return { ...m, optInLabels: m.optInLabels ?? ["room", "participant"], source: "swarm" };
}

function livekit<const N extends string>(
  m: Omit<LivekitMetric, "source" | "name"> & { readonly name: N },
): LivekitMetric & { readonly name: N } {
  return { ...m, source: "livekit" };
}

/** Same bounds as Go's prometheus.ExponentialBucketsRange, which livekit-server uses. */
function exponentialBucketsRange(min: number, max: number, count: number): number[] {
  const growth = Math.pow(max / min, 1 / (count - 1));
  return Array.from({ length: count }, (_, i) => min * Math.pow(growth, i));
}

/** `shard`: a sharded run's shard index (swarm --shard I/N), 0 when unsharded; N values at most. */
const run = ["scenario", "run_id", "shard", "worker"] as const;

const joinBuckets = [0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];
const firstMediaBuckets = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

const LIVEKIT_STREAM_LABELS = ["direction", "source", "type", "country"] as const;
const LIVEKIT_PERCENT_BUCKETS = [0, 0.1, 0.3, 0.5, 0.7, 1, 5, 10, 40, 100];
const PSRPC_BUCKETS = [10, 50, 100, 300, 500, 1000, 1500, 2000, 5000, 10000];

const swarmEntries = [
  swarm({
    name: "lkswarm_participants",
    type: "gauge",
    help: "Swarm participants right now, by role and connection state (connected, reconnecting, disconnected, failed to join).",
    unit: "participants",
    labels: [...run, "role", "state"],
    optInLabels: ["room"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_join_duration_seconds",
    type: "histogram",
    help: "Time from the start of a join to the room being connected, one observation per successful join.",
    unit: "seconds",
    labels: [...run, "role"],
    buckets: joinBuckets,
    grafanaUnit: "s",
    thresholds: [
      { fail: 2, op: "<", aggregation: "p99", population: "participants" },
      { warn: 1, op: "<", aggregation: "p95", population: "participants" },
    ],
  }),
  swarm({
    name: "lkswarm_transport_selections_total",
    type: "counter",
    help: "Selected ICE candidate pairs by transport class (udp, tcp, turn-udp, turn-tcp, turn-tls): +1 when a participant's transport first selects a pair and whenever the selection changes.",
    unit: "selections",
    labels: [...run, "role", "transport"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_ice_duration_seconds",
    type: "histogram",
    help: "Time ICE took at a join, by the transport class it selected: from the remote description to the ICE transport connected, where the engine can time it (lean; rtc-node does not expose it).",
    unit: "seconds",
    labels: [...run, "role", "transport"],
    buckets: joinBuckets,
    grafanaUnit: "s",
  }),
  swarm({
    name: "lkswarm_join_failures_total",
    type: "counter",
    help: "Join attempts that failed, by reason (unauthorized, unreachable, no_transport, timeout, server_limit, publish_failed, error; the browser engine's browser; the lean engine's closed, left and negotiation; run_ended for a join still under way when the run ended); every failed attempt counts.",
    unit: "joins",
    labels: [...run, "role", "reason"],
    grafanaUnit: "short",
    thresholds: [{ fail: 0, op: "<=", aggregation: "count", population: "participants" }],
  }),
  swarm({
    name: "lkswarm_disconnects_total",
    type: "counter",
    help: "Participants that left a room the swarm had not asked them to leave, by LiveKit disconnect reason in snake_case.",
    unit: "disconnects",
    labels: [...run, "role", "reason"],
    grafanaUnit: "short",
    thresholds: [{ fail: 0, op: "<=", aggregation: "count", population: "participants" }],
  }),
  swarm({
    name: "lkswarm_reconnects_total",
    type: "counter",
    help: "Times a participant entered Reconnecting (a resume or a full reconnect); media stalls meanwhile.",
    unit: "reconnects",
    labels: [...run, "role"],
    grafanaUnit: "short",
    thresholds: [{ warn: 0, op: "<=", aggregation: "count", population: "participants" }],
  }),
  swarm({
    name: "lkswarm_reconnect_duration_seconds",
    type: "histogram",
    help: "Time from Reconnecting to Reconnected; reconnections that end in a disconnect are in lkswarm_disconnects_total.",
    unit: "seconds",
    labels: [...run, "role"],
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60],
    grafanaUnit: "s",
  }),
  swarm({
    name: "lkswarm_time_to_first_packet_seconds",
    type: "histogram",
    help: "Per subscribed track: time from the start of the subscriber's join to its first RTP packet (polled every 250 ms).",
    unit: "seconds",
    labels: [...run, "kind"],
    buckets: firstMediaBuckets,
    grafanaUnit: "s",
    thresholds: [{ warn: 1, fail: 2, op: "<", aggregation: "p95", population: "tracks" }],
  }),
  swarm({
    name: "lkswarm_time_to_first_frame_seconds",
    type: "histogram",
    help: "Per subscribed video track: time from the start of the subscriber's join to its first decoded frame (exact on latency probes, else polled every 250 ms).",
    unit: "seconds",
    labels: [...run],
    buckets: firstMediaBuckets,
    grafanaUnit: "s",
    thresholds: [{ warn: 1, fail: 2, op: "<", aggregation: "p95", population: "tracks" }],
  }),
  swarm({
    name: "lkswarm_inbound_packets_expected_total",
    type: "counter",
    help: "Original RTP packets expected on subscribed tracks: received minus retransmitted, plus lost (docs/observability.md 1.1); loss = sum(rate(lost)) / sum(rate(expected)).",
    unit: "packets",
    labels: [...run, "kind"],
    grafanaUnit: "pps",
  }),
  swarm({
    name: "lkswarm_inbound_packets_lost_total",
    type: "counter",
    help: "Original RTP packets lost on the way to subscribed tracks (positive increments of packetsLost); one repaired by a retransmission still counts, so this is the path's loss, not what the decoder missed.",
    unit: "packets",
    labels: [...run, "kind"],
    grafanaUnit: "pps",
  }),
  swarm({
    name: "lkswarm_inbound_loss_ratio",
    type: "histogram",
    help: "Loss of original packets on one subscribed track over one sampling window (lost / expected, retransmissions in neither); gates use each participant's lost / expected.",
    unit: "ratio",
    labels: [...run, "kind"],
    // 0.02 and 0.06 are LiveKit's video GOOD and POOR boundaries, 0.025 and 0.075 the Opus ones
    // (connectionquality/scorer.go), so a quantile read at those bounds is exact.
    buckets: [0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.03, 0.05, 0.06, 0.075, 0.1, 0.2, 0.5, 1],
    grafanaUnit: "percentunit",
    thresholds: [{ warn: 0.01, fail: 0.02, op: "<", aggregation: "p95", population: "participants" }],
  }),
  swarm({
    name: "lkswarm_inbound_jitter_seconds",
    type: "histogram",
    help: "Interarrival jitter of subscribed tracks (inbound-rtp jitter, updated once a frame as libwebrtc does), one observation per track per sampling window.",
    unit: "seconds",
    labels: [...run, "kind"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1],
    grafanaUnit: "s",
    thresholds: [{ fail: 0.03, op: "<", aggregation: "p95", population: "windows" }],
  }),
  swarm({
    name: "lkswarm_round_trip_time_seconds",
    type: "histogram",
    help: "Round-trip time to the SFU, the median of the participant's latest RTCP remote-inbound and selected candidate pair round trips, one observation per participant per sampling window.",
    unit: "seconds",
    labels: [...run, "role"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2],
    grafanaUnit: "s",
    // LiveKit's scorer takes effective delay = rtt/2 + 2*jitter and penalises it ten times harder
    // past 160 ms. With jitter at its 30 ms fail bound that knee sits at rtt = 200 ms. Only a warning:
    // the network path between generator and SFU, not the SFU, usually sets RTT.
    thresholds: [{ warn: 0.2, op: "<", aggregation: "p95", population: "windows" }],
  }),
  swarm({
    name: "lkswarm_inbound_nack_total",
    type: "counter",
    help: "NACK feedback packets sent by subscribers for subscribed tracks (inbound-rtp nackCount): RTCP packets, each naming one or more sequence numbers, so not comparable with livekit_nack_total.",
    unit: "nacks",
    labels: [...run, "kind"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_pli_total",
    type: "counter",
    help: "Picture loss indications sent by subscribers for subscribed video tracks (inbound-rtp pliCount).",
    unit: "plis",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_fir_total",
    type: "counter",
    help: "Full intra requests sent by subscribers for subscribed video tracks (inbound-rtp firCount).",
    unit: "firs",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_outbound_nack_total",
    type: "counter",
    help: "NACK feedback packets received by publishers for their published tracks (outbound-rtp nackCount): RTCP packets, not sequence numbers.",
    unit: "nacks",
    labels: [...run, "kind"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_outbound_pli_total",
    type: "counter",
    help: "Picture loss indications received by publishers (outbound-rtp pliCount); a steady rate means keyframe storms.",
    unit: "plis",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_outbound_fir_total",
    type: "counter",
    help: "Full intra requests received by publishers (outbound-rtp firCount).",
    unit: "firs",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_bytes_total",
    type: "counter",
    help: "RTP payload bytes received on subscribed tracks (inbound-rtp bytesReceived); bitrate = 8 * rate().",
    unit: "bytes",
    labels: [...run, "kind"],
    grafanaUnit: "Bps",
  }),
  swarm({
    name: "lkswarm_inbound_header_bytes_total",
    type: "counter",
    help: "RTP header and padding bytes received on subscribed tracks (inbound-rtp headerBytesReceived); the RTP bitrate = 8 * (rate(this) + rate(lkswarm_inbound_bytes_total)), without IP/UDP/SRTP overhead (lkswarm_inbound_wire_bytes_total has it).",
    unit: "bytes",
    labels: [...run, "kind"],
    grafanaUnit: "Bps",
  }),
  swarm({
    name: "lkswarm_inbound_wire_bytes_total",
    type: "counter",
    help: "Bytes received on subscribed tracks as an IP-level link cap counts them: RTP payload + RTP header and padding + 38 bytes a packet (IPv4 20, UDP 8, SRTP auth tag 10), retransmissions included; no link-layer framing (14 more a packet on Ethernet or veth), no RTCP. Wire bitrate = 8 * rate() (docs/observability.md 4.2).",
    unit: "bytes",
    labels: [...run, "kind"],
    grafanaUnit: "Bps",
  }),
  swarm({
    name: "lkswarm_inbound_packets_retransmitted_total",
    type: "counter",
    help: "RTX packets received on subscribed tracks (inbound-rtp retransmittedPacketsReceived): repairs, and probes the SFU pads with; out of the loss maths (docs/observability.md 1.1).",
    unit: "packets",
    labels: [...run, "kind"],
    grafanaUnit: "pps",
  }),
  swarm({
    name: "lkswarm_inbound_frame_height_pixels",
    type: "histogram",
    help: "Height of the last decoded frame of one subscribed video track at the end of one sampling window (inbound-rtp frameHeight): the simulcast layer actually received.",
    unit: "pixels",
    labels: [...run],
    buckets: [90, 180, 270, 360, 540, 720, 1080, 1440, 2160],
    grafanaUnit: "none",
  }),
  swarm({
    name: "lkswarm_outbound_bytes_total",
    type: "counter",
    help: "RTP payload bytes sent on published tracks, all simulcast layers (outbound-rtp bytesSent); bitrate = 8 * rate().",
    unit: "bytes",
    labels: [...run, "kind"],
    grafanaUnit: "Bps",
  }),
  swarm({
    name: "lkswarm_inbound_frames_decoded_total",
    type: "counter",
    help: "Video frames decoded on subscribed tracks (inbound-rtp framesDecoded); frame rate = rate().",
    unit: "frames",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_frames_dropped_total",
    type: "counter",
    help: "Video frames dropped before or after decoding on subscribed tracks (inbound-rtp framesDropped).",
    unit: "frames",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_freezes_total",
    type: "counter",
    help: "Video freezes on subscribed tracks (inbound-rtp freezeCount; needs a rendering sink to move).",
    unit: "freezes",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_freeze_seconds_total",
    type: "counter",
    help: "Time subscribed video spent frozen, measured from decoded frames by the W3C freeze rule where a participant decodes them (latency probes); other tracks add nothing, since rtc-node leaves totalFreezesDuration unfilled.",
    unit: "seconds",
    labels: [...run],
    grafanaUnit: "percentunit",
  }),
  swarm({
    name: "lkswarm_inbound_audio_concealed_samples_total",
    type: "counter",
    help: "Audio samples synthesised to hide lost or late packets on subscribed tracks (inbound-rtp concealedSamples).",
    unit: "samples",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_inbound_audio_samples_total",
    type: "counter",
    help: "Audio samples received on subscribed tracks, concealed ones included (inbound-rtp totalSamplesReceived).",
    unit: "samples",
    labels: [...run],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_connection_quality_changes_total",
    type: "counter",
    help: "ConnectionQualityChanged events LiveKit sent about the participant itself, by new quality (excellent, good, poor, lost).",
    unit: "changes",
    labels: [...run, "role", "quality"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_connection_quality_seconds_total",
    type: "counter",
    help: "Participant time spent at each LiveKit connection quality; rate() is the number of participants at that quality.",
    unit: "seconds",
    labels: [...run, "role", "quality"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_end_to_end_latency_seconds",
    type: "histogram",
    help: "Capture-to-decode video latency read by latency probes from the capture time stamped in the frames: one observation per probe per sampling window, the median of the frames it decoded.",
    unit: "seconds",
    labels: [...run, "kind"],
    buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5],
    grafanaUnit: "s",
    // ITU-T G.114 keeps one-way delay under 150 ms for good conversation and 400 ms as the limit.
    // A probe adds encode, the jitter buffer and decode on a generator that shares its cores with
    // many participants, so 300 ms warns early and 500 ms fails only where talk-over would start.
    thresholds: [{ warn: 0.3, fail: 0.5, op: "<", aggregation: "p95", population: "windows" }],
  }),
  swarm({
    name: "lkswarm_data_messages_sent_total",
    type: "counter",
    help: "Data packets published by swarm participants.",
    unit: "messages",
    labels: [...run, "role"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_data_messages_received_total",
    type: "counter",
    help: "Data packets received by swarm participants; each receiver counts each packet once.",
    unit: "messages",
    labels: [...run, "role"],
    grafanaUnit: "short",
  }),
  swarm({
    name: "lkswarm_worker_event_loop_busy_ratio",
    type: "gauge",
    help: "The swarm's own worker processes: the share of the last stats interval each worker's main-thread event loop was busy (0-1). From 0.9 a worker is saturated: its timers run late and what it measures is partly its own (docs/engine-costs.md, \"Did the swarm keep up?\").",
    unit: "ratio",
    labels: [...run],
    grafanaUnit: "percentunit",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_e2ee_decryption_failures_total",
    type: "counter",
    help: "E2EE: subscriber-publisher pairs whose frames the subscriber could not decrypt (its frame cryptor reported decryption_failed or missing_key, or an internal error on that publisher's frames); +1 once per pair, not per frame, whether or not it decrypts again later (summary.json tells those apart), and never counted as loss.",
    unit: "pairs",
    labels: [...run, "role"],
    grafanaUnit: "short",
  }),
  // the signalling storm (`swarm storm`, scenarios/k6): signal-only joins and RoomService calls timed by k6
  swarm({
    name: "lkswarm_storm_join_duration_seconds",
    type: "histogram",
    help: "Signalling storm: time from opening the /rtc WebSocket to the JoinResponse, one observation per join (signal only, no PeerConnection).",
    unit: "seconds",
    labels: [...run],
    buckets: joinBuckets,
    grafanaUnit: "s",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_joins_total",
    type: "counter",
    help: "Signalling storm: joins answered with a JoinResponse.",
    unit: "joins",
    labels: [...run],
    grafanaUnit: "short",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_join_failures_total",
    type: "counter",
    help: "Signalling storm: joins without a JoinResponse, by reason (rejected, refused, timeout, closed, leave, refused_by_server, connect).",
    unit: "joins",
    labels: [...run, "reason"],
    grafanaUnit: "short",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_sessions_open",
    type: "gauge",
    help: "Signalling storm: joined signal-only sessions whose WebSocket is still open (joins minus sessions closed), as k6's points arrive.",
    unit: "sessions",
    labels: [...run],
    grafanaUnit: "short",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_reconnect_duration_seconds",
    type: "histogram",
    help: "Signalling storm: time from reopening /rtc with reconnect=1 to the server's first answer, by state (resumed: a ReconnectResponse; rejoined: a full JoinResponse; leave: the session was already closed).",
    unit: "seconds",
    labels: [...run, "state"],
    buckets: joinBuckets,
    grafanaUnit: "s",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_reconnect_failures_total",
    type: "counter",
    help: "Signalling storm: resumes without an answer, by reason (as for joins).",
    unit: "reconnects",
    labels: [...run, "reason"],
    grafanaUnit: "short",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_api_duration_seconds",
    type: "histogram",
    help: "Signalling storm: RoomService (Twirp) call duration by method, successful calls only.",
    unit: "seconds",
    labels: [...run, "method"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    grafanaUnit: "s",
    optInLabels: [],
  }),
  swarm({
    name: "lkswarm_storm_api_failures_total",
    type: "counter",
    help: "Signalling storm: RoomService (Twirp) calls that failed, by method and reason (http_<status>, connect).",
    unit: "calls",
    labels: [...run, "method", "reason"],
    grafanaUnit: "short",
    optInLabels: [],
  }),
] as const;

const FORWARD_STATS =
  "rtc.forward_stats (summary_interval, report_interval, report_window) all set; otherwise the series is exported but stays 0";

/**
 * livekit-server v1.13.5, pkg/telemetry/prometheus and livekit/protocol rpc + webhook. Left out:
 * livekit_debug_ref_count and livekit_config_* are registered but never observed in 1.13.5, so a
 * panel on them could only ever be empty.
 */
const livekitEntries = [
  livekit({
    name: "livekit_node_messages",
    type: "counter",
    help: "Signal relay requests and responses handled, by outcome.",
    unit: "messages",
    labels: ["type", "status", "direction"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_node_service_operation",
    type: "counter",
    help: "Service operations (participant_join, peer_connection, offer, answer) by status and error type.",
    unit: "operations",
    labels: ["type", "status", "error_type"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_node_twirp_request_status",
    type: "counter",
    help: "Server API (Twirp) requests by service, method, status family and code.",
    unit: "requests",
    labels: ["service", "method", "status", "code"],
    grafanaUnit: "short",
    presence: { conditional: "a server API (Twirp) call such as RoomService; token-only joins make none" },
  }),
  livekit({
    name: "livekit_node_twirp_request_latency_ms",
    type: "histogram",
    help: "Server API (Twirp) request latency in milliseconds.",
    unit: "milliseconds",
    labels: ["service", "method", "status"],
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000],
    grafanaUnit: "ms",
    presence: { conditional: "a server API (Twirp) call such as RoomService; token-only joins make none" },
  }),
  livekit({
    name: "livekit_node_packet_total",
    type: "gauge",
    help: "Host qdisc packets sent (type=out) and dropped (type=dropped) since the node started; updated with node stats.",
    unit: "packets",
    labels: ["type"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_packet_total",
    type: "counter",
    help: "RTP packets through the SFU by direction (incoming = from publishers) and transmission (initial, retransmit).",
    unit: "packets",
    labels: ["direction", "transmission", "country"],
    grafanaUnit: "pps",
    presence: "always",
  }),
  livekit({
    name: "livekit_packet_bytes",
    type: "counter",
    help: "RTP bytes through the SFU by direction and transmission.",
    unit: "bytes",
    labels: ["direction", "transmission", "country"],
    grafanaUnit: "Bps",
    presence: "always",
  }),
  livekit({
    name: "livekit_nack_total",
    type: "counter",
    help: "Sequence numbers NACKed, by direction (the SFU adds up the packet lists of NACK feedback, not feedback packets).",
    unit: "nacks",
    labels: ["direction", "country"],
    grafanaUnit: "short",
    presence: { conditional: "packet loss: incremented only when a stats window has NACKs" },
  }),
  livekit({
    name: "livekit_pli_total",
    type: "counter",
    help: "Picture loss indications by direction.",
    unit: "plis",
    labels: ["direction", "country"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_fir_total",
    type: "counter",
    help: "Full intra requests by direction.",
    unit: "firs",
    labels: ["direction", "country"],
    grafanaUnit: "short",
    presence: { conditional: "a client that sends FIR; libwebrtc asks for keyframes with PLI" },
  }),
  livekit({
    name: "livekit_packet_loss_total",
    type: "counter",
    help: "Packets lost, by direction, track source and type; downstream loss excludes loss already upstream.",
    unit: "packets",
    labels: LIVEKIT_STREAM_LABELS,
    grafanaUnit: "pps",
    presence: { conditional: "packet loss: incremented only when a stats window lost packets" },
  }),
  livekit({
    name: "livekit_packet_loss_percent",
    type: "histogram",
    help: "Loss of one stream over one 5 s stats window, in percent.",
    unit: "percent",
    labels: LIVEKIT_STREAM_LABELS,
    buckets: LIVEKIT_PERCENT_BUCKETS,
    grafanaUnit: "percent",
    presence: "always",
  }),
  livekit({
    name: "livekit_packet_out_of_order_total",
    type: "counter",
    help: "Packets received out of order, by direction, track source and type.",
    unit: "packets",
    labels: LIVEKIT_STREAM_LABELS,
    grafanaUnit: "pps",
    presence: { conditional: "reordering: incremented only when a stats window saw out-of-order packets" },
  }),
  livekit({
    name: "livekit_packet_out_of_order_percent",
    type: "histogram",
    help: "Out-of-order packets of one stream over one 5 s stats window, in percent.",
    unit: "percent",
    labels: LIVEKIT_STREAM_LABELS,
    buckets: LIVEKIT_PERCENT_BUCKETS,
    grafanaUnit: "percent",
    presence: "always",
  }),
  livekit({
    name: "livekit_jitter_us",
    type: "histogram",
    help: "Maximum jitter of one stream over one 5 s stats window, in microseconds; observed only when above 0.",
    unit: "microseconds",
    labels: LIVEKIT_STREAM_LABELS,
    buckets: [1000, 10000, 30000, 50000, 70000, 100000, 300000, 600000, 1000000],
    grafanaUnit: "µs",
    presence: "always",
  }),
  livekit({
    name: "livekit_rtt_ms",
    type: "histogram",
    help: "Maximum RTT of one stream over one 5 s stats window, in whole milliseconds; observed only when above 0.",
    unit: "milliseconds",
    labels: LIVEKIT_STREAM_LABELS,
    buckets: [50, 100, 150, 200, 250, 500, 750, 1000, 5000, 10000],
    grafanaUnit: "ms",
    presence: { conditional: "an RTT of at least 1 ms; on loopback it rounds to 0 and nothing is observed" },
  }),
  livekit({
    name: "livekit_participant_join_total",
    type: "counter",
    help: "Join progress and failures by state (signal_connected, signal_failed, rtc_init, rtc_connected, rtc_active, rtc_success, rtc_failure, ...).",
    unit: "joins",
    labels: ["state"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_connection_total",
    type: "gauge",
    help: "Open TURN sockets by kind (incoming, outgoing).",
    unit: "connections",
    labels: ["kind"],
    grafanaUnit: "short",
    presence: { conditional: "the embedded TURN server enabled and used by a client" },
  }),
  livekit({
    name: "livekit_forward_latency",
    type: "gauge",
    help: "Long-term average SFU forwarding latency in nanoseconds.",
    unit: "nanoseconds",
    labels: [],
    grafanaUnit: "ns",
    presence: { conditional: FORWARD_STATS },
  }),
  livekit({
    name: "livekit_forward_jitter",
    type: "gauge",
    help: "Long-term average SFU forwarding jitter in nanoseconds.",
    unit: "nanoseconds",
    labels: [],
    grafanaUnit: "ns",
    presence: { conditional: FORWARD_STATS },
  }),
  livekit({
    name: "livekit_forward_latency_ns",
    type: "histogram",
    help: "SFU forwarding latency samples in nanoseconds.",
    unit: "nanoseconds",
    labels: [],
    buckets: [50e3, 100e3, 250e3, 500e3, 1e6, 2e6, 3e6, 5e6, 10e6, 20e6],
    grafanaUnit: "ns",
    presence: { conditional: FORWARD_STATS },
  }),
  livekit({
    name: "livekit_room_total",
    type: "gauge",
    help: "Rooms hosted on this node.",
    unit: "rooms",
    labels: [],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_room_duration_seconds",
    type: "histogram",
    help: "Lifetime of rooms that closed on this node.",
    unit: "seconds",
    labels: [],
    buckets: [5, 10, 60, 300, 600, 1800, 3600, 7200, 18000, 36000],
    grafanaUnit: "s",
    presence: "always",
  }),
  livekit({
    name: "livekit_participant_total",
    type: "gauge",
    help: "Participants on this node: in its rooms, and those whose signal connection it relays to a room on another node (counted on both; docs/livekit-behaviour.md).",
    unit: "participants",
    labels: [],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_track_published_total",
    type: "gauge",
    help: "Tracks published on this node right now, by kind.",
    unit: "tracks",
    labels: ["kind"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_track_subscribed_total",
    type: "gauge",
    help: "Subscriptions on this node right now, by kind.",
    unit: "tracks",
    labels: ["kind"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_track_publish_counter",
    type: "counter",
    help: "Track publications by kind and state (attempt, success, cancel).",
    unit: "publications",
    labels: ["kind", "state"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_track_subscribe_counter",
    type: "counter",
    help: "Subscriptions by state (attempt, success, failure, cancel); error carries the error text.",
    unit: "subscriptions",
    labels: ["state", "error"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_session_join_latency_ms",
    type: "histogram",
    help: "Time from the signal request to the initial join response on the WebSocket, in milliseconds.",
    unit: "milliseconds",
    labels: ["protocol_version"],
    buckets: exponentialBucketsRange(10, 10000, 15),
    grafanaUnit: "ms",
    presence: "always",
  }),
  livekit({
    name: "livekit_session_start_time_ms",
    type: "histogram",
    help: "Time from RTC session start to the participant becoming active, in milliseconds.",
    unit: "milliseconds",
    labels: ["protocol_version"],
    buckets: exponentialBucketsRange(100, 10000, 15),
    grafanaUnit: "ms",
    presence: "always",
  }),
  livekit({
    name: "livekit_session_duration_ms",
    type: "histogram",
    help: "Length of participant sessions that ended, in milliseconds.",
    unit: "milliseconds",
    labels: ["protocol_version"],
    buckets: exponentialBucketsRange(100, 4 * 60 * 60 * 1000, 15),
    grafanaUnit: "ms",
    presence: { conditional: "a participant session that ended (someone left)" },
  }),
  livekit({
    name: "livekit_pubsubtime_ms",
    type: "histogram",
    help: "Time to publish, to subscribe, and to the first subscribed media (direction=subscribe-stream-start), in milliseconds.",
    unit: "milliseconds",
    labels: [...LIVEKIT_STREAM_LABELS, "sdk", "kind", "count"],
    buckets: [100, 200, 500, 700, 1000, 5000, 10000],
    grafanaUnit: "ms",
    presence: "always",
  }),
  livekit({
    name: "livekit_peer_connection_state",
    type: "counter",
    help: "Peer connection state transitions (started, ice_connected, connected, fully_established) by transport.",
    unit: "transitions",
    labels: ["transport", "state"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_quality_rating",
    type: "histogram",
    help: "Connection quality per participant per evaluation: 0 POOR, 1 GOOD, 2 EXCELLENT; LOST (3) lands in +Inf.",
    unit: "rating",
    labels: [],
    buckets: [0, 1, 2],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_quality_score",
    type: "histogram",
    help: "MOS-like connection score (1.0 to 4.5) per participant per evaluation.",
    unit: "mos",
    labels: [],
    buckets: [1, 2, 2.5, 3, 3.25, 3.5, 3.75, 4, 4.25, 4.5],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_datapacket_stream_dest_count",
    type: "histogram",
    help: "Destinations per data stream header, by stream type and MIME type.",
    unit: "destinations",
    labels: ["type", "mime_type"],
    buckets: [1, 2, 3, 4, 5, 10, 15, 25, 50],
    grafanaUnit: "short",
    presence: { conditional: "data streams (text or byte streams) sent through the room" },
  }),
  livekit({
    name: "livekit_datapacket_stream_bytes",
    type: "histogram",
    help: "Declared size of data streams, by stream type and MIME type.",
    unit: "bytes",
    labels: ["type", "mime_type"],
    buckets: [128, 512, 2048, 8192, 32768, 131072, 524288, 2097152, 8388608, 33554432],
    grafanaUnit: "bytes",
    presence: { conditional: "data streams (text or byte streams) sent through the room" },
  }),
  livekit({
    name: "livekit_psrpc_request_time_ms",
    type: "histogram",
    help: "Internal RPC latency (unary and multi) in milliseconds, by role, kind, service and method.",
    unit: "milliseconds",
    labels: ["role", "kind", "service", "method"],
    buckets: PSRPC_BUCKETS,
    grafanaUnit: "ms",
    presence: {
      conditional: "a unary internal RPC, e.g. routing across nodes (redis) or a RoomService call",
    },
  }),
  livekit({
    name: "livekit_psrpc_stream_send_time_ms",
    type: "histogram",
    help: "Internal RPC stream send time in milliseconds; signal relays are streams even on one node.",
    unit: "milliseconds",
    labels: ["role", "service", "method"],
    buckets: PSRPC_BUCKETS,
    grafanaUnit: "ms",
    presence: "always",
  }),
  livekit({
    name: "livekit_psrpc_stream_receive_total",
    type: "counter",
    help: "Messages received on internal RPC streams.",
    unit: "messages",
    labels: ["role", "service", "method"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_psrpc_stream_count",
    type: "gauge",
    help: "Open internal RPC streams, e.g. one signal relay per participant.",
    unit: "streams",
    labels: ["role", "service", "method"],
    grafanaUnit: "short",
    presence: "always",
  }),
  livekit({
    name: "livekit_psrpc_error_total",
    type: "counter",
    help: "Internal RPC errors by role, kind, service and method.",
    unit: "errors",
    labels: ["role", "kind", "service", "method"],
    grafanaUnit: "short",
    presence: { conditional: "a failed internal RPC" },
  }),
  livekit({
    name: "livekit_psrpc_bytes_total",
    type: "counter",
    help: "Internal RPC bytes by role, kind, service, method and direction (rx, tx).",
    unit: "bytes",
    labels: ["role", "kind", "service", "method", "direction"],
    grafanaUnit: "Bps",
    presence: "always",
  }),
  livekit({
    name: "livekit_webhook_dispatch_total",
    type: "counter",
    help: "Webhook deliveries by status (success, failure, drop) and drop reason.",
    unit: "dispatches",
    labels: ["status", "reason"],
    grafanaUnit: "short",
    presence: { conditional: "webhooks configured (webhook.urls)" },
  }),
  livekit({
    name: "livekit_webhook_queue_length",
    type: "histogram",
    help: "Webhook queue length when an event is queued.",
    unit: "events",
    labels: [],
    buckets: [1, 2, 3, 4, 5, 10, 20, 40, 80],
    grafanaUnit: "short",
    presence: {
      conditional: "webhooks configured (webhook.urls); otherwise the series is exported but stays empty",
    },
  }),
] as const;

const entries = [...swarmEntries, ...livekitEntries] as const;

/** Every metric name the catalog knows; a renamed metric breaks every typed use of the old name. */
export type MetricName = (typeof entries)[number]["name"];
export type SwarmMetricName = (typeof swarmEntries)[number]["name"];
export type LivekitMetricName = (typeof livekitEntries)[number]["name"];

export const catalog: readonly MetricDefinition[] = entries;

const byName = new Map<string, MetricDefinition>(catalog.map((m) => [m.name, m]));

export function metricByName(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** The definition of a name known at compile time. */
export function metric(name: SwarmMetricName): SwarmMetric;
export function metric(name: LivekitMetricName): LivekitMetric;
export function metric(name: MetricName): MetricDefinition;
export function metric(name: MetricName): MetricDefinition {
  const found = byName.get(name);
  if (!found) throw new Error(`metric ${name} is typed as known but missing from the catalog`);
  return found;
}

export function swarmMetrics(): readonly SwarmMetric[] {
  return swarmEntries;
}

export function livekitMetrics(): readonly LivekitMetric[] {
  return livekitEntries;
}

export interface DefaultThreshold {
  readonly metric: MetricName;
  readonly threshold: MetricThreshold;
}

/** The catalog's thresholds flattened, in catalog order: the gate's defaults. */
export function defaultThresholds(): DefaultThreshold[] {
  return entries.flatMap((m) => (m.thresholds ?? []).map((threshold) => ({ metric: m.name, threshold })));
}

function withoutPrefix(name: string): string {
  for (const prefix of [SWARM_METRIC_PREFIX, LIVEKIT_METRIC_PREFIX]) {
    if (name.startsWith(prefix)) return name.slice(prefix.length);
  }
  return name;
}

/** Closest catalog names for "did you mean"; a name typed without its prefix still matches. */
export function suggestMetric(name: string, limit = 3): string[] {
  const bare = withoutPrefix(name);
  const names = catalog.map((m) => m.name);
  const direct = closestMatches(name, names, limit);
  const stripped = new Map(names.map((n) => [withoutPrefix(n), n]));
  const viaBare = closestMatches(bare, stripped.keys(), limit).flatMap((s) => {
    const full = stripped.get(s);
    return full === undefined ? [] : [full];
  });
  return [...new Set([...direct, ...viaBare])].slice(0, limit);
}

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(["le", "quantile"]);
const NON_BASE_UNIT_SUFFIXES = [
  "_ms",
  "_us",
  "_ns",
  "_milliseconds",
  "_microseconds",
  "_nanoseconds",
  "_minutes",
  "_hours",
  "_percent",
  "_bits",
  "_kbps",
];
const BASE_UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  seconds: "_seconds",
  ratio: "_ratio",
  bytes: "_bytes",
};

const AGGREGATIONS_BY_TYPE: Readonly<Record<MetricType, readonly Aggregation[]>> = {
  counter: ["count", "rate"],
  gauge: ["p50", "p95", "p99", "min", "max", "avg"],
  histogram: ["p50", "p95", "p99", "min", "max", "avg", "count"],
};

function checkLabels(m: MetricDefinition, problem: (text: string) => void): void {
  const seen = new Set<string>();
  const all: readonly string[] = m.source === "swarm" ? [...m.labels, ...m.optInLabels] : m.labels;
  for (const label of all) {
    if (!LABEL_NAME.test(label) || label.startsWith("__")) problem(`label "${label}" is not a valid name`);
    if (RESERVED_LABELS.has(label)) problem(`label "${label}" is reserved by Prometheus`);
    if (seen.has(label)) problem(`label "${label}" is listed twice`);
    seen.add(label);
  }
  if (m.source === "swarm") {
    const allowed: readonly string[] = swarmLabelNames;
    const optIn: readonly string[] = optInLabelNames;
    for (const label of m.labels) {
      if (!allowed.includes(label)) {
        problem(`label "${label}" is not a swarm label (${swarmLabelNames.join(", ")})`);
      }
    }
    for (const label of m.optInLabels) {
      if (!optIn.includes(label)) {
        problem(`opt-in label "${label}" is not one of ${optInLabelNames.join(", ")}`);
      }
    }
  } else {
    const constant: readonly string[] = livekitConstLabels;
    for (const label of m.labels) {
      if (constant.includes(label)) problem(`label "${label}" is a constant label, not a variable one`);
    }
  }
}

function checkSwarmName(m: SwarmMetric, problem: (text: string) => void): void {
  if (!m.name.startsWith(SWARM_METRIC_PREFIX))
    problem(`swarm metric names start with ${SWARM_METRIC_PREFIX}`);
  if (m.type === "counter") {
    if (!m.name.endsWith("_total")) problem("counter names end with _total");
    if (m.name.endsWith("_total_total")) problem("name ends with _total twice");
  } else if (m.name.endsWith("_total")) {
    problem(`a ${m.type} name must not end with _total, which marks counters`);
  }
  const base = m.type === "counter" ? m.name.replace(/_total$/, "") : m.name;
  for (const suffix of NON_BASE_UNIT_SUFFIXES) {
    if (base.endsWith(suffix)) problem(`${suffix} is not a base unit; use seconds, ratio or bytes`);
  }
  for (const [unit, suffix] of Object.entries(BASE_UNIT_SUFFIXES)) {
    if (m.unit === unit && !base.endsWith(suffix)) problem(`unit ${unit} needs a name ending ${suffix}`);
    if (m.unit !== unit && base.endsWith(suffix)) problem(`name ends ${suffix} but unit is ${m.unit}`);
  }
  if (m.type !== "counter" && m.unit === "seconds" && m.grafanaUnit !== "s") {
    problem(`seconds are shown in Grafana unit "s", not "${m.grafanaUnit}"`);
  }
  if (m.unit === "ratio" && m.grafanaUnit !== "percentunit") {
    problem(`ratios are shown in Grafana unit "percentunit", not "${m.grafanaUnit}"`);
  }
  if ("presence" in m) problem("presence is for livekit metrics only");
}

function checkBuckets(m: MetricDefinition, problem: (text: string) => void): void {
  if (m.type !== "histogram") {
    if (m.buckets !== undefined) problem(`a ${m.type} has no buckets`);
    return;
  }
  const buckets = m.buckets;
  if (buckets === undefined || buckets.length === 0) {
    problem("a histogram needs buckets");
    return;
  }
  buckets.forEach((bound, i) => {
    if (!Number.isFinite(bound)) problem(`bucket ${bound} is not a finite number (+Inf is implicit)`);
    const previous = buckets[i - 1];
    if (previous !== undefined && !(bound > previous)) {
      problem(`buckets are not strictly increasing at ${previous}, ${bound}`);
    }
  });
  if (m.unit === "ratio" && buckets.some((b) => b < 0 || b > 1)) problem("ratio buckets lie within 0..1");
}

function checkThresholds(m: MetricDefinition, problem: (text: string) => void): void {
  for (const t of m.thresholds ?? []) {
    const where = `threshold ${t.aggregation} ${t.op}`;
    if (!thresholdOps.includes(t.op)) problem(`${where}: unknown op "${t.op}"`);
    if (!populations.includes(t.population)) problem(`${where}: unknown population "${t.population}"`);
    if (!AGGREGATIONS_BY_TYPE[m.type].includes(t.aggregation)) {
      problem(`${where}: ${t.aggregation} does not apply to a ${m.type}`);
    }
    if (t.warn === undefined && t.fail === undefined) problem(`${where}: needs warn, fail or both`);
    for (const [severity, value] of [
      ["warn", t.warn],
      ["fail", t.fail],
    ] as const) {
      if (value === undefined) continue;
      if (!Number.isFinite(value)) {
        problem(`${where}: ${severity} ${value} is not a finite number`);
        continue;
      }
      if (m.type === "histogram" && !(m.buckets ?? []).includes(value)) {
        problem(
          `${where}: ${severity} ${value} is not a bucket boundary, so its quantile would be interpolated`,
        );
      }
      if (m.unit === "ratio" && (value < 0 || value > 1))
        problem(`${where}: ${severity} ${value} is not a ratio`);
    }
    if (t.warn !== undefined && t.fail !== undefined) {
      const stricter = t.op === "<" || t.op === "<=" ? t.warn <= t.fail : t.warn >= t.fail;
      if (!stricter) problem(`${where}: warn ${t.warn} must be stricter than fail ${t.fail}`);
    }
  }
}

function checkPresence(m: LivekitMetric, problem: (text: string) => void): void {
  if (!m.name.startsWith(LIVEKIT_METRIC_PREFIX)) {
    problem(`livekit metric names start with ${LIVEKIT_METRIC_PREFIX}`);
  }
  const presence: unknown = m.presence;
  const valid =
    presence === "always" ||
    (typeof presence === "object" &&
      presence !== null &&
      "conditional" in presence &&
      typeof presence.conditional === "string" &&
      presence.conditional.trim() !== "");
  if (!valid) problem(`presence must be "always" or { conditional: "<why>" }`);
}

/** Problems with catalog entries, one line each prefixed with the metric name; empty when sound. */
export function validateCatalog(entries: readonly MetricDefinition[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const m of entries) {
    const problem = (text: string): void => {
      problems.push(`${m.name === "" ? "(unnamed)" : m.name}: ${text}`);
    };
    if (!METRIC_NAME.test(m.name)) problem("not a valid metric name (colons are for recording rules)");
    if (names.has(m.name)) problem("defined more than once");
    names.add(m.name);
    if (m.help.trim() === "" || m.help.includes("\n")) problem("help must be one non-empty line");
    if (m.unit.trim() === "") problem("unit is empty");
    if (!grafanaUnits.includes(m.grafanaUnit)) problem(`unknown Grafana unit "${m.grafanaUnit}"`);
    checkLabels(m, problem);
    checkBuckets(m, problem);
    checkThresholds(m, problem);
    if (m.source === "swarm") checkSwarmName(m, problem);
    else checkPresence(m, problem);
  }
  return problems;
}
