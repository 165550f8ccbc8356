import { panel, quantiles, type Row } from "../common.js";
import { NODE } from "./selectors.js";

export function sessionsRow(): Row {
  return {
    title: "Rooms and participants",
    panels: [
      panel({
        title: "Rooms",
        description: "Open rooms per node (livekit_room_total is a gauge despite its name).",
        unitOf: "livekit_room_total",
        stack: true,
        queries: [{ expr: `sum by (instance) (livekit_room_total{${NODE}})`, legend: "{{instance}}" }],
      }),
      panel({
        title: "Participants",
        description:
          "Participants per node (a gauge). A participant whose WebSocket reached another node than its room's counts on both, so the nodes' sum can exceed the cluster's participants: not stacked.",
        unitOf: "livekit_participant_total",
        queries: [{ expr: `sum by (instance) (livekit_participant_total{${NODE}})`, legend: "{{instance}}" }],
      }),
      panel({
        title: "Tracks",
        description: "Published and subscribed tracks per node and kind (gauges).",
        unitOf: "livekit_track_published_total",
        queries: [
          {
            expr: `sum by (instance, kind) (livekit_track_published_total{${NODE}})`,
            legend: "published {{kind}} {{instance}}",
          },
          {
            expr: `sum by (instance, kind) (livekit_track_subscribed_total{${NODE}})`,
            legend: "subscribed {{kind}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Join progress",
        description: "Join steps and failures per second by state.",
        unitOf: "livekit_participant_join_total",
        queries: [
          {
            expr: `sum by (instance, state) (rate(livekit_participant_join_total{${NODE}}[$__rate_interval]))`,
            legend: "{{state}} {{instance}}",
          },
        ],
      }),
      panel({
        title: "Join latency",
        description: "Session join latency reported by the server.",
        unitOf: "livekit_session_join_latency_ms",
        queries: quantiles("livekit_session_join_latency_ms", NODE),
      }),
      panel({
        title: "Twirp errors",
        description: "Server API (Twirp) requests per second answered with a non-2xx HTTP status, by method, status and Twirp code.",
        unitOf: "livekit_node_twirp_request_status",
        queries: [
          {
            expr: `sum by (instance, method, status, code) (rate(livekit_node_twirp_request_status{${NODE}, status!~"2.."}[$__rate_interval]))`,
            legend: "{{method}} {{status}} {{code}} {{instance}}",
          },
        ],
      }),
    ],
  };
}
