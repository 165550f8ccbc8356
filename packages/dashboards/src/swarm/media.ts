import { panel, quantiles, type Row } from "../common.js";
import { RUN } from "./selectors.js";

export function mediaRow(): Row {
  return {
    title: "Media quality",
    panels: [
      panel({
        title: "Packet loss",
        description: "Lost over expected RTP packets on subscribed tracks, a ratio of sums by kind.",
        unitOf: "lkswarm_inbound_loss_ratio",
        thresholdsOf: "lkswarm_inbound_loss_ratio",
        queries: [
          {
            expr: `sum by (kind) (rate(lkswarm_inbound_packets_lost_total{${RUN}}[$__rate_interval])) / sum by (kind) (rate(lkswarm_inbound_packets_expected_total{${RUN}}[$__rate_interval]))`,
            legend: "{{kind}}",
          },
        ],
      }),
      panel({
        title: "Jitter",
        description: "Interarrival jitter of subscribed tracks, quantiles over track windows.",
        unitOf: "lkswarm_inbound_jitter_seconds",
        thresholdsOf: "lkswarm_inbound_jitter_seconds",
        queries: quantiles("lkswarm_inbound_jitter_seconds", RUN, ["kind"]),
      }),
      panel({
        title: "Round-trip time",
        description: "RTT to the SFU, quantiles over participant windows.",
        unitOf: "lkswarm_round_trip_time_seconds",
        thresholdsOf: "lkswarm_round_trip_time_seconds",
        queries: quantiles("lkswarm_round_trip_time_seconds", RUN),
      }),
      panel({
        title: "NACK and PLI rate",
        description: "NACKs and picture loss indications sent by subscribers, per second.",
        unitOf: "lkswarm_inbound_nack_total",
        queries: [
          {
            expr: `sum by (kind) (rate(lkswarm_inbound_nack_total{${RUN}}[$__rate_interval]))`,
            legend: "NACK {{kind}}",
          },
          {
            expr: `sum(rate(lkswarm_inbound_pli_total{${RUN}}[$__rate_interval]))`,
            legend: "PLI",
          },
        ],
      }),
      panel({
        title: "Bitrate",
        description: "RTP payload bytes per second received by subscribers and sent by publishers.",
        unitOf: "lkswarm_inbound_bytes_total",
        queries: [
          {
            expr: `sum by (kind) (rate(lkswarm_inbound_bytes_total{${RUN}}[$__rate_interval]))`,
            legend: "in {{kind}}",
          },
          {
            expr: `sum by (kind) (rate(lkswarm_outbound_bytes_total{${RUN}}[$__rate_interval]))`,
            legend: "out {{kind}}",
          },
        ],
      }),
      panel({
        title: "Video freezes",
        description: "Video freezes per second on subscribed tracks (needs a rendering sink to move).",
        unitOf: "lkswarm_inbound_freezes_total",
        queries: [
          {
            expr: `sum(rate(lkswarm_inbound_freezes_total{${RUN}}[$__rate_interval]))`,
            legend: "freezes",
          },
        ],
      }),
      panel({
        title: "E2EE decryption failures",
        description:
          "Subscriber-publisher pairs newly unable to decrypt (wrong or missing key), by role; each pair counts once. These are not packet loss: the packets arrive whole.",
        unitOf: "lkswarm_e2ee_decryption_failures_total",
        queries: [
          {
            expr: `sum by (role) (increase(lkswarm_e2ee_decryption_failures_total{${RUN}}[$__rate_interval]))`,
            legend: "{{role}}",
          },
        ],
      }),
    ],
  };
}
