import { panel, quantile, type Row } from "../common.js";
import { NODE } from "./selectors.js";

export function mediaRow(): Row {
  return {
    title: "Packets and quality",
    panels: [
      panel({
        title: "Packets",
        description: "RTP packets per second by direction, per node.",
        unitOf: "livekit_packet_total",
        queries: [
          {
            expr: `sum by (instance, direction) (rate(livekit_packet_total{${NODE}}[$__rate_interval]))`,
            legend: "{{direction}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Bytes",
        description: "RTP bytes per second by direction, per node.",
        unitOf: "livekit_packet_bytes",
        queries: [
          {
            expr: `sum by (instance, direction) (rate(livekit_packet_bytes{${NODE}}[$__rate_interval]))`,
            legend: "{{direction}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Packet loss",
        description: "p95 of per-stream loss percent over 5 s stats windows, by direction.",
        unitOf: "livekit_packet_loss_percent",
        queries: [
          {
            expr: quantile(0.95, "livekit_packet_loss_percent", NODE, ["instance", "direction"]),
            legend: "p95 {{direction}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Jitter",
        description: "p95 of per-stream jitter, by direction.",
        unitOf: "livekit_jitter_us",
        queries: [
          {
            expr: quantile(0.95, "livekit_jitter_us", NODE, ["instance", "direction"]),
            legend: "p95 {{direction}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Round-trip time",
        description: "p95 of per-stream RTT; nothing is observed while RTT rounds to 0 ms.",
        unitOf: "livekit_rtt_ms",
        queries: [
          {
            expr: quantile(0.95, "livekit_rtt_ms", NODE, ["instance", "direction"]),
            legend: "p95 {{direction}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "NACK and PLI rate",
        description: "NACKs and PLIs per second by direction, per node.",
        unitOf: "livekit_nack_total",
        queries: [
          {
            expr: `sum by (instance, direction) (rate(livekit_nack_total{${NODE}}[$__rate_interval]))`,
            legend: "NACK {{direction}} {{instance}}",
          },
          {
            expr: `sum by (instance, direction) (rate(livekit_pli_total{${NODE}}[$__rate_interval]))`,
            legend: "PLI {{direction}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Quality score",
        description: "Mean MOS-like connection score (1.0 to 4.5) per node.",
        unitOf: "livekit_quality_score",
        queries: [
          {
            expr: `sum by (instance) (rate(livekit_quality_score_sum{${NODE}}[$__rate_interval])) / sum by (instance) (rate(livekit_quality_score_count{${NODE}}[$__rate_interval]))`,
            legend: "{{instance}}",
          },
        ],
      }),
    ],
  };
}
