import { panel, type Row } from "../common.js";
import { RUN } from "./selectors.js";

export function participantsRow(): Row {
  return {
    title: "Participants and joins",
    panels: [
      panel({
        title: "Participants by state",
        description: "Swarm participants right now, by role and connection state.",
        unitOf: "lkswarm_participants",
        stack: true,
        queries: [
          {
            expr: `sum by (role, state) (lkswarm_participants{${RUN}})`,
            legend: "{{role}} {{state}}",
          },
        ],
      }),
      panel({
        title: "Swarm workers' event loop",
        description:
          "How busy each of the swarm's own worker processes was (main-thread event loop, 0-100%): from 90% a worker is saturated and the figures beside it are partly its own (docs/engine-costs.md).",
        unitOf: "lkswarm_worker_event_loop_busy_ratio",
        queries: [
          {
            expr: `max by (shard, worker) (lkswarm_worker_event_loop_busy_ratio{${RUN}})`,
            legend: "shard {{shard}} worker {{worker}}",
          },
        ],
      }),
      panel({
        title: "Swarm workers' native media thread",
        description:
          "How late each worker's native media thread (lean's native path, LKSWARM_LEAN_NATIVE=1) ran its 20 ms ticks, p99 of its last window: from 10 ms in half a run's windows its audio leaves late enough that subscribers read the generator's lateness as the network's jitter (docs/engine-costs.md). Beside it, the thread's own send jitter (RFC 3550's estimator over its sends, before the server and the network), to set beside the subscribers' jitter. Empty for workers without that thread.",
        unitOf: "lkswarm_worker_media_tick_late_seconds",
        queries: [
          {
            expr: `max by (shard, worker) (lkswarm_worker_media_tick_late_seconds{${RUN}})`,
            legend: "late p99, shard {{shard}} worker {{worker}}",
          },
          {
            expr: `max by (shard, worker) (lkswarm_worker_media_send_jitter_seconds{${RUN}})`,
            legend: "send jitter, shard {{shard}} worker {{worker}}",
          },
        ],
      }),
      panel({
        title: "Joins per second",
        description: "Successful joins (observations of the join-time histogram) per second, by role.",
        unitOf: "lkswarm_participants",
        queries: [
          {
            expr: `sum by (role) (rate(lkswarm_join_duration_seconds_count{${RUN}}[$__rate_interval]))`,
            legend: "{{role}}",
          },
        ],
      }),
      panel({
        title: "Join failures per second",
        description: "Failed join attempts per second by reason; the catalog gate allows none.",
        unitOf: "lkswarm_join_failures_total",
        queries: [
          {
            expr: `sum by (reason) (rate(lkswarm_join_failures_total{${RUN}}[$__rate_interval]))`,
            legend: "{{reason}}",
          },
        ],
      }),
      panel({
        title: "Join time",
        description: "Time from the start of a join to the room being connected; dashed lines are the catalog's warn and fail bounds.",
        unitOf: "lkswarm_join_duration_seconds",
        thresholdsOf: "lkswarm_join_duration_seconds",
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(lkswarm_join_duration_seconds_bucket{${RUN}}[$__rate_interval])))`,
            legend: "p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(lkswarm_join_duration_seconds_bucket{${RUN}}[$__rate_interval])))`,
            legend: "p95",
          },
          {
            expr: `histogram_quantile(0.99, sum by (le) (rate(lkswarm_join_duration_seconds_bucket{${RUN}}[$__rate_interval])))`,
            legend: "p99",
          },
        ],
      }),
      panel({
        title: "Time to first frame",
        description: "Per subscribed video track: join start to first decoded frame.",
        unitOf: "lkswarm_time_to_first_frame_seconds",
        thresholdsOf: "lkswarm_time_to_first_frame_seconds",
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(lkswarm_time_to_first_frame_seconds_bucket{${RUN}}[$__rate_interval])))`,
            legend: "p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(lkswarm_time_to_first_frame_seconds_bucket{${RUN}}[$__rate_interval])))`,
            legend: "p95",
          },
        ],
      }),
      panel({
        title: "Join time over the run",
        description: "p95 of all joins in the selected range: the figure the gate checks, not a moving window.",
        unitOf: "lkswarm_join_duration_seconds",
        thresholdsOf: "lkswarm_join_duration_seconds",
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, role) (increase(lkswarm_join_duration_seconds_bucket{${RUN}}[$__range])))`,
            legend: "p95 {{role}}",
          },
        ],
      }),
    ],
  };
}
