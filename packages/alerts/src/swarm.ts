import {
  WORKER_LATE_TICK_MS as LATE_TICK_MS,
  WORKER_SATURATED_EVENT_LOOP as EVENT_LOOP_SATURATED,
} from "@livekit-swarm/schema";
import { breachOp, catalogLimit, quantileOf, type AlertOptions, type RuleGroup } from "./rules.js";

/** Labels summed away: one swarm run spreads over workers and scrape targets. */
const PER_RUN = "without (instance, shard, worker)";

/**
 * Events counted in the last 5 minutes. The exporter creates a labelled counter series at its first
 * event, with value 1, and `increase()` cannot see a step from a sample that does not exist: a
 * series younger than 5 minutes counts in full, an older one by its increase.
 */
function eventsIn5m(counter: string): string {
  return `(${counter} unless ${counter} offset 5m) or increase(${counter}[5m])`;
}

export function swarmGroups(options: Required<AlertOptions>): RuleGroup[] {
  const w = options.rateWindow;
  const lossRatio = `scenario_run_kind:lkswarm_inbound_packets_lost_per_expected:ratio_rate${w}`;
  const jitterBuckets = `scenario_run_kind_le:lkswarm_inbound_jitter_seconds_bucket:rate${w}`;
  const latencyBuckets = `scenario_run_kind_le:lkswarm_end_to_end_latency_seconds_bucket:rate${w}`;

  const loss = catalogLimit("lkswarm_inbound_loss_ratio");
  const jitter = catalogLimit("lkswarm_inbound_jitter_seconds");
  const latency = catalogLimit("lkswarm_end_to_end_latency_seconds");
  const joins = catalogLimit("lkswarm_join_failures_total");
  const reconnects = catalogLimit("lkswarm_reconnects_total");

  const records: RuleGroup = {
    name: "lkswarm.rules",
    rules: [
      {
        record: `scenario_run_kind:lkswarm_inbound_packets_lost:rate${w}`,
        expr: `sum ${PER_RUN} (rate(lkswarm_inbound_packets_lost_total[${w}]))`,
      },
      {
        record: `scenario_run_kind:lkswarm_inbound_packets_expected:rate${w}`,
        expr: `sum ${PER_RUN} (rate(lkswarm_inbound_packets_expected_total[${w}]))`,
      },
      {
        // a ratio of sums, never an average of ratios (docs/observability.md 1.2)
        record: lossRatio,
        expr: `scenario_run_kind:lkswarm_inbound_packets_lost:rate${w} / scenario_run_kind:lkswarm_inbound_packets_expected:rate${w}`,
      },
      {
        record: jitterBuckets,
        expr: `sum ${PER_RUN} (rate(lkswarm_inbound_jitter_seconds_bucket[${w}]))`,
      },
      {
        record: latencyBuckets,
        expr: `sum ${PER_RUN} (rate(lkswarm_end_to_end_latency_seconds_bucket[${w}]))`,
      },
    ],
  };

  const alerts: RuleGroup = {
    name: "lkswarm.alerts",
    rules: [
      {
        alert: "LiveKitSwarmPacketLossHigh",
        expr: `${lossRatio} ${breachOp(loss.threshold.op)} ${loss.source.value}`,
        for: "30s",
        severity: loss.severity,
        summary: "Swarm subscribers lose too many inbound RTP packets.",
        description: `Inbound {{ $labels.kind }} packet loss of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) is {{ $value | humanizePercentage }} over ${w}, above ${loss.source.value * 100}%.`,
        meaning: `lost / expected inbound packets (ratio of sums over ${w}) per run and kind`,
        forReason:
          "The rate window already smooths single-window blips; 30s is 15 evaluations at the testbed's 2s and still fires inside a 1-2 minute CI phase.",
        threshold: loss.source,
      },
      {
        alert: "LiveKitSwarmJitterHigh",
        expr: `histogram_quantile(${quantileOf(jitter.threshold.aggregation)}, ${jitterBuckets}) ${breachOp(jitter.threshold.op)} ${jitter.source.value}`,
        for: "30s",
        severity: jitter.severity,
        summary: "Swarm subscribers see high inbound jitter.",
        description: `p95 inbound {{ $labels.kind }} jitter of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) is {{ $value | humanizeDuration }}, at or above ${jitter.source.value}s.`,
        meaning: `p95 of lkswarm_inbound_jitter_seconds over ${w} (population: windows, as the gate)`,
        forReason: "Same as the loss alert: a CI phase must be able to fire it.",
        threshold: jitter.source,
      },
      {
        alert: "LiveKitSwarmEndToEndLatencyHigh",
        expr: `histogram_quantile(${quantileOf(latency.threshold.aggregation)}, ${latencyBuckets}) ${breachOp(latency.threshold.op)} ${latency.source.value}`,
        for: "1m",
        severity: latency.severity,
        summary: "Capture-to-decode latency measured by the swarm's latency probes is too high.",
        description: `p95 end-to-end {{ $labels.kind }} latency of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) is {{ $value | humanizeDuration }}, at or above ${latency.source.value}s.`,
        meaning: `p95 of lkswarm_end_to_end_latency_seconds over ${w}`,
        forReason:
          "Probes report one median per sampling window, few observations: 1m waits for several windows before paging.",
        threshold: latency.source,
      },
      {
        alert: "LiveKitSwarmJoinFailures",
        expr: `sum without (instance, shard, worker, role) (${eventsIn5m("lkswarm_join_failures_total")}) ${breachOp(joins.threshold.op)} ${joins.source.value}`,
        for: "30s",
        severity: joins.severity,
        summary: "Swarm participants fail to join their rooms.",
        description:
          '{{ $value | printf "%.0f" }} joins of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) failed with reason {{ $labels.reason }} in the last 5 minutes.',
        meaning: "join failures in the last 5m, by reason",
        forReason:
          "A failed join is a fact, not a blip, but a 30s wait lets a one-off server restart ride through; the 5m increase keeps it firing long enough to be seen.",
        threshold: joins.source,
      },
      {
        alert: "LiveKitSwarmReconnects",
        expr: `sum without (instance, shard, worker, role) (${eventsIn5m("lkswarm_reconnects_total")}) ${breachOp(reconnects.threshold.op)} ${reconnects.source.value}`,
        for: "1m",
        severity: reconnects.severity,
        summary: "Swarm participants had to reconnect.",
        description:
          '{{ $value | printf "%.0f" }} reconnects in run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) in the last 5 minutes.',
        meaning: "any reconnect in the last 5m (the catalog gates a run at 0)",
        forReason: "A warning, not a page: 1m keeps a single blip from opening and closing a ticket.",
        threshold: reconnects.source,
      },
      {
        alert: "LiveKitSwarmReconnectStorm",
        expr: `sum without (instance, shard, worker, role) (${eventsIn5m("lkswarm_reconnects_total")}) / sum without (instance, shard, worker, role, state) (lkswarm_participants) > ${options.reconnectStormShare}`,
        for: "1m",
        severity: "critical",
        summary: "Many swarm participants are reconnecting at once.",
        description: `Reconnects in the last 5 minutes amount to {{ $value | humanizePercentage }} of the participants of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}), above ${options.reconnectStormShare * 100}%.`,
        meaning: "reconnects in 5m per participant",
        forReason: "A storm is sustained by definition; 1m separates it from one node's restart.",
        thresholdNote:
          "generator option reconnectStormShare (the catalog's 0 is a per-run gate, not a storm)",
      },
      {
        alert: "LiveKitSwarmWorkerSaturated",
        expr: `min_over_time(lkswarm_worker_event_loop_busy_ratio[2m]) >= ${EVENT_LOOP_SATURATED}`,
        for: "1m",
        severity: "warning",
        summary: "A swarm worker's event loop is full: the swarm's figures are partly its own.",
        description:
          "Worker {{ $labels.worker }} (shard {{ $labels.shard }}) of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) has had its event loop at least {{ $value | humanizePercentage }} busy for 3 minutes: its timers run late, so loss, jitter and join times it reports may be its own. Give it fewer participants (--workers, more shards).",
        meaning: `every stats window of the last 2m at ${EVENT_LOOP_SATURATED * 100}% busy or more, per worker`,
        forReason:
          "A join ramp fills a worker for a few windows by itself; 2m of windows all full, held 1m more, is a worker that cannot keep up.",
        thresholdNote: `${EVENT_LOOP_SATURATED}: the line swarm run's own verdict uses (docs/engine-costs.md)`,
      },
      {
        alert: "LiveKitSwarmMediaThreadLate",
        // the share of the last 2m each worker's gauge (its last window's p99) stood at the line:
        // windows are of one length, so that is the share of its windows late, as the verdict counts
        expr: `avg_over_time((lkswarm_worker_media_tick_late_seconds >= bool ${LATE_TICK_MS / 1000})[2m:]) >= 0.5`,
        for: "1m",
        severity: "warning",
        summary:
          "A swarm worker's native media thread sends late: the jitter its subscribers read is partly its own.",
        description:
          "Worker {{ $labels.worker }} (shard {{ $labels.shard }}) of run {{ $labels.run_id }} (scenario {{ $labels.scenario }}) has run its 20 ms media ticks " +
          `${LATE_TICK_MS} ms late or more (p99 of a window) in {{ $value | humanizePercentage }} of the last 2 minutes, and in half or more for 3 minutes: its native audio publishers send that late, so jitter, loss and latency it reports may be its own. Give its core back (a real-time or pinned neighbour, a CPU limit) or give it fewer participants.`,
        meaning: `each worker's windows with a p99 tick lateness of ${LATE_TICK_MS} ms or more, half or more of the last 2m`,
        forReason:
          "One burst of a neighbour can make a window late; half of 2m of windows late, held 1m more, is a thread that cannot get its core.",
        thresholdNote: `${LATE_TICK_MS / 1000} s in 0.5 of the windows: the line and the share swarm run's own verdict uses (docs/engine-costs.md)`,
      },
      {
        alert: "LiveKitCanaryDown",
        expr: `absent(lkswarm_participants{scenario="canary",state="connected"} > 0)`,
        for: "1m",
        severity: "critical",
        summary: "The LiveKit canary has no connected participant, or is not scraped at all.",
        description:
          'No participant of the canary (scenario="canary") is connected, or its /metrics is gone: the deployment cannot be shown to carry media.',
        meaning: 'no lkswarm_participants{scenario="canary",state="connected"} above 0',
        forReason:
          "The canary rejoins after 1s (backing off to 30s) and a restart misses a scrape or two; 1m pages only when it stays down.",
      },
      {
        alert: "LiveKitCanaryNotAllConnected",
        expr: `sum without (instance, shard, worker, role, state) (lkswarm_participants{scenario="canary",state!="connected"}) > 0`,
        for: "3m",
        severity: "warning",
        summary: "Some canary participants are not connected.",
        description:
          '{{ $value | printf "%.0f" }} canary participants have been reconnecting, disconnected or failed for 3 minutes.',
        meaning: "canary participants in a state other than connected",
        forReason:
          "Several of the canary's rejoin attempts (its backoff caps at 30s) must fail before anyone should look.",
      },
    ],
  };
  return [records, alerts];
}
