import { panel, quantiles, type Row } from "../common.js";
import { RUN } from "./selectors.js";

/** `swarm storm` (k6) as the generator saw it; LiveKit's side is the server dashboard's signalling row. */
export function stormRow(): Row {
  return {
    title: "Signalling storm",
    panels: [
      panel({
        title: "Storm joins per second",
        description: "Signal-only joins answered with a JoinResponse per second (swarm storm, k6).",
        unitOf: "lkswarm_storm_joins_total",
        queries: [{ expr: `sum(rate(lkswarm_storm_joins_total{${RUN}}[$__rate_interval]))`, legend: "joins" }],
      }),
      panel({
        title: "Storm join time",
        description: "Time from opening the /rtc WebSocket to the JoinResponse, over joins.",
        unitOf: "lkswarm_storm_join_duration_seconds",
        queries: quantiles("lkswarm_storm_join_duration_seconds", RUN),
      }),
      panel({
        title: "Storm join failures per second",
        description: "Joins without a JoinResponse per second, by reason (rejected, refused, timeout, closed, leave, ...).",
        unitOf: "lkswarm_storm_join_failures_total",
        queries: [
          {
            expr: `sum by (reason) (rate(lkswarm_storm_join_failures_total{${RUN}}[$__rate_interval]))`,
            legend: "{{reason}}",
          },
        ],
      }),
      panel({
        title: "Open signal sessions",
        description: "Joined storm sessions whose WebSocket is still open: the signal-only population the server holds.",
        unitOf: "lkswarm_storm_sessions_open",
        queries: [{ expr: `sum(lkswarm_storm_sessions_open{${RUN}})`, legend: "open" }],
      }),
      panel({
        title: "RoomService call time",
        description: "Successful RoomService (Twirp) calls' duration by method, as the storm timed them.",
        unitOf: "lkswarm_storm_api_duration_seconds",
        queries: quantiles("lkswarm_storm_api_duration_seconds", RUN, ["method"]),
      }),
      panel({
        title: "RoomService failures per second",
        description: "RoomService (Twirp) calls that failed per second, by method and reason (http_<status>, connect).",
        unitOf: "lkswarm_storm_api_failures_total",
        queries: [
          {
            expr: `sum by (method, reason) (rate(lkswarm_storm_api_failures_total{${RUN}}[$__rate_interval]))`,
            legend: "{{method}} {{reason}}",
          },
        ],
      }),
    ],
  };
}
