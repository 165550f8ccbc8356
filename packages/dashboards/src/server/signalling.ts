import { panel, quantiles, type Row } from "../common.js";
import { NODE } from "./selectors.js";

/** LiveKit's own view of the signalling plane (v1.13.5 metrics): what a join storm or API load moves. */
export function signallingRow(): Row {
  return {
    title: "Signalling and server API",
    panels: [
      panel({
        title: "Signal connections per second",
        description: "WebSocket joins whose JoinResponse was written (signal_connected) or that failed before it (signal_failed), per node.",
        unitOf: "livekit_participant_join_total",
        queries: [
          {
            expr: `sum by (instance, state) (rate(livekit_participant_join_total{${NODE}, state=~"signal_.*"}[$__rate_interval]))`,
            legend: "{{state}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Server API requests per second",
        description: "RoomService and other Twirp requests per second, by method and status family.",
        unitOf: "livekit_node_twirp_request_status",
        queries: [
          {
            expr: `sum by (method, status) (rate(livekit_node_twirp_request_status{${NODE}}[$__rate_interval]))`,
            legend: "{{method}} {{status}}",
          },
        ],
      }),
      panel({
        title: "Server API latency",
        description: "Twirp request latency by method, as the server measured it.",
        unitOf: "livekit_node_twirp_request_latency_ms",
        queries: quantiles("livekit_node_twirp_request_latency_ms", NODE, ["method"]),
      }),
      panel({
        title: "Signal relay messages per second",
        description: "Signal requests and responses relayed between nodes and the RTC service, by type, status and direction.",
        unitOf: "livekit_node_messages",
        queries: [
          {
            expr: `sum by (type, status, direction) (rate(livekit_node_messages{${NODE}}[$__rate_interval]))`,
            legend: "{{type}} {{status}} {{direction}}",
          },
        ],
      }),
    ],
  };
}
