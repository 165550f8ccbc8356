import { panel, quantile, type Row } from "../common.js";
import { RUN } from "../swarm/selectors.js";

export function qualityRow(): Row {
  return {
    title: "Quality before, during and after",
    panels: [
      panel({
        title: "Packet loss",
        description: "Lost over expected packets; read it against the fault annotations.",
        unitOf: "lkswarm_inbound_loss_ratio",
        thresholdsOf: "lkswarm_inbound_loss_ratio",
        span: 12,
        queries: [
          {
            expr: `sum by (kind) (rate(lkswarm_inbound_packets_lost_total{${RUN}}[$__rate_interval])) / sum by (kind) (rate(lkswarm_inbound_packets_expected_total{${RUN}}[$__rate_interval]))`,
            legend: "{{kind}}",
          },
        ],
      }),
      panel({
        title: "Jitter p95",
        description: "p95 jitter of subscribed tracks; read it against the fault annotations.",
        unitOf: "lkswarm_inbound_jitter_seconds",
        thresholdsOf: "lkswarm_inbound_jitter_seconds",
        span: 12,
        queries: [
          { expr: quantile(0.95, "lkswarm_inbound_jitter_seconds", RUN, ["kind"]), legend: "p95 {{kind}}" },
        ],
      }),
      panel({
        title: "Reconnect duration p95",
        description: "How long reconnecting participants took to recover.",
        unitOf: "lkswarm_reconnect_duration_seconds",
        span: 12,
        queries: [{ expr: quantile(0.95, "lkswarm_reconnect_duration_seconds", RUN), legend: "p95" }],
      }),
      panel({
        title: "Time to first frame p95",
        description: "First-frame time of tracks (re)subscribed around a fault.",
        unitOf: "lkswarm_time_to_first_frame_seconds",
        thresholdsOf: "lkswarm_time_to_first_frame_seconds",
        span: 12,
        queries: [{ expr: quantile(0.95, "lkswarm_time_to_first_frame_seconds", RUN), legend: "p95" }],
      }),
    ],
  };
}
