import { panel, quantiles, type Row } from "../common.js";
import { RUN } from "./selectors.js";

export function latencyRow(): Row {
  return {
    title: "Latency and reconnects",
    panels: [
      panel({
        title: "End-to-end latency",
        description: "Capture-to-decode video latency measured by latency probes.",
        unitOf: "lkswarm_end_to_end_latency_seconds",
        thresholdsOf: "lkswarm_end_to_end_latency_seconds",
        queries: quantiles("lkswarm_end_to_end_latency_seconds", RUN),
      }),
      panel({
        title: "Reconnects per second",
        description: "Times participants entered Reconnecting, by role; the catalog warns on any.",
        unitOf: "lkswarm_reconnects_total",
        queries: [
          {
            expr: `sum by (role) (rate(lkswarm_reconnects_total{${RUN}}[$__rate_interval]))`,
            legend: "{{role}}",
          },
        ],
      }),
      panel({
        title: "Reconnect duration",
        description: "Time from Reconnecting to Reconnected.",
        unitOf: "lkswarm_reconnect_duration_seconds",
        queries: quantiles("lkswarm_reconnect_duration_seconds", RUN),
      }),
    ],
  };
}
