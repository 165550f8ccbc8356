import { describe, expect, it } from "vitest";
import type { MetricDefinition, SwarmMetric } from "./catalog.js";
import {
  catalog,
  defaultThresholds,
  livekitConstLabels,
  livekitMetrics,
  metric,
  metricByName,
  optInLabelNames,
  suggestMetric,
  swarmLabelNames,
  swarmMetrics,
  validateCatalog,
} from "./catalog.js";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

describe("catalog", () => {
  it("passes its own validation", () => {
    expect(validateCatalog(catalog)).toEqual([]);
  });

  it("has unique names", () => {
    const names = catalog.map((m) => m.name);
    const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
    expect(duplicates).toEqual([]);
  });

  it("splits into swarm and livekit entries by prefix", () => {
    expect(swarmMetrics().length + livekitMetrics().length).toBe(catalog.length);
    for (const m of swarmMetrics()) expect(m.name, m.name).toMatch(/^lkswarm_/);
    for (const m of livekitMetrics()) expect(m.name, m.name).toMatch(/^livekit_/);
  });

  describe("swarm metrics use base units", () => {
    it.each(swarmMetrics().map((m) => [m.name, m] as const))("%s", (_, m) => {
      if (m.type === "counter") {
        expect(m.name).toMatch(/_total$/);
        expect(m.name).not.toMatch(/_total_total$/);
      } else {
        expect(m.name).not.toMatch(/_total$/);
      }
      const base = m.name.replace(/_total$/, "");
      if (m.unit === "seconds") expect(base).toMatch(/_seconds$/);
      if (m.unit === "ratio") expect(base).toMatch(/_ratio$/);
      if (m.unit === "bytes") expect(base).toMatch(/_bytes$/);
      expect(base).not.toMatch(/_(ms|us|ns|milliseconds|microseconds|percent|bits)$/);
    });
  });

  describe("histograms", () => {
    const histograms = catalog.filter((m) => m.type === "histogram");

    it.each(histograms.map((m) => [m.name, m] as const))("%s has strictly increasing buckets", (_, m) => {
      const buckets = m.buckets ?? [];
      expect(buckets.length).toBeGreaterThan(0);
      for (let i = 1; i < buckets.length; i++) {
        expect(buckets[i], `bucket ${i} of ${m.name}`).toBeGreaterThan(buckets[i - 1] ?? -Infinity);
      }
    });

    it.each(histograms.filter((m) => m.thresholds).map((m) => [m.name, m] as const))(
      "%s has a boundary at each threshold",
      (_, m) => {
        for (const t of m.thresholds ?? []) {
          for (const value of [t.warn, t.fail]) {
            if (value !== undefined) expect(m.buckets, `${t.aggregation} ${t.op} ${value}`).toContain(value);
          }
        }
      },
    );

    it("puts LiveKit's video and Opus loss boundaries in the loss ratio buckets", () => {
      expect(metric("lkswarm_inbound_loss_ratio").buckets).toEqual(
        expect.arrayContaining([0.02, 0.025, 0.06, 0.075]),
      );
    });
  });

  it("refers only to known metrics in its default thresholds", () => {
    const thresholds = defaultThresholds();
    expect(thresholds.length).toBeGreaterThan(0);
    for (const { metric: name } of thresholds) expect(metricByName(name), name).toBeDefined();
  });

  it("gates what a user feels with the agreed defaults", () => {
    expect(metric("lkswarm_join_duration_seconds").thresholds).toEqual([
      { fail: 2, op: "<", aggregation: "p99", population: "participants" },
      { warn: 1, op: "<", aggregation: "p95", population: "participants" },
    ]);
    expect(metric("lkswarm_join_failures_total").thresholds).toEqual([
      { fail: 0, op: "<=", aggregation: "count", population: "participants" },
    ]);
    expect(metric("lkswarm_inbound_loss_ratio").thresholds).toEqual([
      { warn: 0.01, fail: 0.02, op: "<", aggregation: "p95", population: "participants" },
    ]);
    expect(metric("lkswarm_inbound_jitter_seconds").thresholds?.[0]?.fail).toBe(0.03);
  });

  it("uses valid label names, drawn from the allowed sets", () => {
    const allowed: readonly string[] = swarmLabelNames;
    const optIn: readonly string[] = optInLabelNames;
    for (const m of catalog) {
      for (const label of m.labels) expect(label, m.name).toMatch(LABEL_NAME);
      if (m.source === "swarm") {
        for (const label of m.labels) expect(allowed, `${m.name} ${label}`).toContain(label);
        for (const label of m.optInLabels) expect(optIn, `${m.name} ${label}`).toContain(label);
      } else {
        for (const label of livekitConstLabels) expect(m.labels, m.name).not.toContain(label);
      }
    }
  });

  it("catalogues every observable livekit-server 1.13.5 metric under its exposed name", () => {
    expect(livekitMetrics().map((m) => m.name)).toEqual([
      "livekit_node_messages",
      "livekit_node_service_operation",
      "livekit_node_twirp_request_status",
      "livekit_node_twirp_request_latency_ms",
      "livekit_node_packet_total",
      "livekit_packet_total",
      "livekit_packet_bytes",
      "livekit_nack_total",
      "livekit_pli_total",
      "livekit_fir_total",
      "livekit_packet_loss_total",
      "livekit_packet_loss_percent",
      "livekit_packet_out_of_order_total",
      "livekit_packet_out_of_order_percent",
      "livekit_jitter_us",
      "livekit_rtt_ms",
      "livekit_participant_join_total",
      "livekit_connection_total",
      "livekit_forward_latency",
      "livekit_forward_jitter",
      "livekit_forward_latency_ns",
      "livekit_room_total",
      "livekit_room_duration_seconds",
      "livekit_participant_total",
      "livekit_track_published_total",
      "livekit_track_subscribed_total",
      "livekit_track_publish_counter",
      "livekit_track_subscribe_counter",
      "livekit_session_join_latency_ms",
      "livekit_session_start_time_ms",
      "livekit_session_duration_ms",
      "livekit_pubsubtime_ms",
      "livekit_peer_connection_state",
      "livekit_quality_rating",
      "livekit_quality_score",
      "livekit_datapacket_stream_dest_count",
      "livekit_datapacket_stream_bytes",
      "livekit_psrpc_request_time_ms",
      "livekit_psrpc_stream_send_time_ms",
      "livekit_psrpc_stream_receive_total",
      "livekit_psrpc_stream_count",
      "livekit_psrpc_error_total",
      "livekit_psrpc_bytes_total",
      "livekit_webhook_dispatch_total",
      "livekit_webhook_queue_length",
    ]);
  });

  it("marks feature-dependent livekit metrics as conditional", () => {
    const conditional = livekitMetrics()
      .filter((m) => m.presence !== "always")
      .map((m) => m.name);
    expect(conditional).toEqual(
      expect.arrayContaining([
        "livekit_connection_total",
        "livekit_forward_latency",
        "livekit_forward_jitter",
        "livekit_forward_latency_ns",
        "livekit_webhook_dispatch_total",
        "livekit_webhook_queue_length",
        "livekit_datapacket_stream_dest_count",
        "livekit_datapacket_stream_bytes",
      ]),
    );
    expect(metric("livekit_participant_total").presence).toBe("always");
  });

  it("reproduces Go's ExponentialBucketsRange for session latency", () => {
    const buckets = metric("livekit_session_join_latency_ms").buckets ?? [];
    expect(buckets).toHaveLength(15);
    expect(buckets[0]).toBe(10);
    expect(buckets[14]).toBeCloseTo(10000, 6);
  });
});

describe("validateCatalog", () => {
  const good: SwarmMetric = {
    name: "lkswarm_example_seconds",
    type: "histogram",
    help: "An example.",
    unit: "seconds",
    labels: ["scenario"],
    optInLabels: [],
    buckets: [0.1, 0.5, 1],
    grafanaUnit: "s",
    source: "swarm",
    thresholds: [{ warn: 0.5, fail: 1, op: "<", aggregation: "p95", population: "windows" }],
  };
  const broken = (overrides: Partial<SwarmMetric>): MetricDefinition => ({ ...good, ...overrides });

  it("accepts a sound entry", () => {
    expect(validateCatalog([good])).toEqual([]);
  });

  it.each<[string, MetricDefinition[], string]>([
    ["duplicate", [good, good], "lkswarm_example_seconds: defined more than once"],
    [
      "counter without _total",
      [
        broken({
          name: "lkswarm_joins",
          type: "counter",
          unit: "joins",
          buckets: undefined,
          thresholds: undefined,
        }),
      ],
      "lkswarm_joins: counter names end with _total",
    ],
    [
      "non-base unit",
      [broken({ name: "lkswarm_example_ms", unit: "milliseconds", thresholds: undefined })],
      "lkswarm_example_ms: _ms is not a base unit; use seconds, ratio or bytes",
    ],
    [
      "seconds without suffix",
      [broken({ name: "lkswarm_example", thresholds: undefined })],
      "lkswarm_example: unit seconds needs a name ending _seconds",
    ],
    [
      "threshold off a boundary",
      [broken({ thresholds: [{ fail: 0.75, op: "<", aggregation: "p95", population: "windows" }] })],
      "lkswarm_example_seconds: threshold p95 <: fail 0.75 is not a bucket boundary, so its quantile would be interpolated",
    ],
    [
      "unsorted buckets",
      [broken({ buckets: [0.1, 1, 0.5], thresholds: undefined })],
      "lkswarm_example_seconds: buckets are not strictly increasing at 1, 0.5",
    ],
    [
      "unknown label",
      [broken({ labels: ["scenario", "track_sid"] as unknown as SwarmMetric["labels"] })],
      'lkswarm_example_seconds: label "track_sid" is not a swarm label',
    ],
    [
      "reserved label",
      [broken({ labels: ["le"] as unknown as SwarmMetric["labels"] })],
      'lkswarm_example_seconds: label "le" is reserved by Prometheus',
    ],
    [
      "percentile on a counter",
      [
        broken({
          name: "lkswarm_example_total",
          type: "counter",
          unit: "joins",
          buckets: undefined,
          thresholds: [{ fail: 0, op: "<=", aggregation: "p95", population: "participants" }],
        }),
      ],
      "lkswarm_example_total: threshold p95 <=: p95 does not apply to a counter",
    ],
    [
      "warn looser than fail",
      [broken({ thresholds: [{ warn: 1, fail: 0.5, op: "<", aggregation: "p95", population: "windows" }] })],
      "lkswarm_example_seconds: threshold p95 <: warn 1 must be stricter than fail 0.5",
    ],
    [
      "histogram without buckets",
      [broken({ buckets: undefined, thresholds: undefined })],
      "lkswarm_example_seconds: a histogram needs buckets",
    ],
  ])("reports %s", (_, entries, expected) => {
    expect(validateCatalog(entries).some((p) => p.startsWith(expected))).toBe(true);
  });

  it("exempts livekit entries from the base-unit rules but not from presence", () => {
    const external: MetricDefinition = {
      name: "livekit_rtt_ms",
      type: "histogram",
      help: "RTT.",
      unit: "milliseconds",
      labels: ["direction"],
      buckets: [50, 100],
      grafanaUnit: "ms",
      source: "livekit",
      presence: { conditional: "" },
    };
    expect(validateCatalog([external])).toEqual([
      'livekit_rtt_ms: presence must be "always" or { conditional: "<why>" }',
    ]);
  });
});

describe("suggestMetric", () => {
  it.each([
    ["lkswarm_join_duration_secs", "lkswarm_join_duration_seconds"],
    ["join_duration_seconds", "lkswarm_join_duration_seconds"],
    ["livekit_packet_total_total", "livekit_packet_total"],
    ["livekit_jitter_ms", "livekit_jitter_us"],
    ["lkswarm_inbound_loss_ratios", "lkswarm_inbound_loss_ratio"],
  ])("suggests %s -> %s first", (typo, expected) => {
    expect(suggestMetric(typo)[0]).toBe(expected);
  });

  it("suggests nothing for an unrelated word", () => {
    expect(suggestMetric("xyz")).toEqual([]);
  });
});
