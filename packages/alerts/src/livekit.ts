import { metric } from "@livekit-swarm/schema";
import { catalogLimit, type AlertOptions, type AlertRule, type RuleGroup } from "./rules.js";

/** node_id changes at every restart, so a per-node series keeps job and instance and drops it. */
const NODE_IDS = "node_id, node_type";

export function livekitGroups(options: Required<AlertOptions>): RuleGroup[] {
  const w = options.rateWindow;
  const job = `job="${options.livekitJob}"`;
  // The server's loss has no threshold of its own; LiveKit's video GOOD/POOR boundary is the same 2%
  // the catalog gates subscriber loss on, so the server side borrows that number.
  const loss = catalogLimit("lkswarm_inbound_loss_ratio");
  const scoreBuckets = metric("livekit_quality_score").buckets ?? [];
  if (!scoreBuckets.includes(options.poorQualityScore))
    throw new Error(
      `poorQualityScore ${options.poorQualityScore} is not a livekit_quality_score bucket bound (${scoreBuckets.join(", ")})`,
    );
  const lossRatio = `instance_direction:livekit_packet_loss_per_packet:ratio_rate${w}`;
  const twirpRatio = `instance_service:livekit_node_twirp_request_5xx_per_request:ratio_rate${w}`;
  const poorRatio = `instance:livekit_quality_score_poor_per_evaluation:ratio_rate${w}`;

  const records: RuleGroup = {
    name: "livekit.rules",
    rules: [
      {
        record: `instance_direction:livekit_packet_loss:rate${w}`,
        expr: `sum without (${NODE_IDS}, source, type, country) (rate(livekit_packet_loss_total{${job}}[${w}]))`,
      },
      {
        record: `instance_direction:livekit_packet:rate${w}`,
        expr: `sum without (${NODE_IDS}, transmission, country) (rate(livekit_packet_total{${job}}[${w}]))`,
      },
      {
        record: lossRatio,
        expr: `instance_direction:livekit_packet_loss:rate${w} / instance_direction:livekit_packet:rate${w}`,
      },
      {
        record: `instance_service:livekit_node_twirp_request_status:rate${w}`,
        expr: `sum without (${NODE_IDS}, method, code) (rate(livekit_node_twirp_request_status{${job}}[${w}]))`,
      },
      {
        record: twirpRatio,
        expr: `sum without (status) (instance_service:livekit_node_twirp_request_status:rate${w}{status="5xx"}) / sum without (status) (instance_service:livekit_node_twirp_request_status:rate${w})`,
      },
      {
        record: poorRatio,
        expr: `sum without (${NODE_IDS}, le) (rate(livekit_quality_score_bucket{${job},le="${options.poorQualityScore}"}[${w}])) / sum without (${NODE_IDS}) (rate(livekit_quality_score_count{${job}}[${w}]))`,
      },
      {
        record: "instance:livekit_participant_total:max",
        expr: `max without (${NODE_IDS}) (livekit_participant_total{${job}})`,
      },
      {
        record: "instance:livekit_room_total:max",
        expr: `max without (${NODE_IDS}) (livekit_room_total{${job}})`,
      },
    ],
  };

  const alerts: RuleGroup = {
    name: "livekit.alerts",
    rules: [
      {
        alert: "LiveKitNodeDown",
        expr: `up{${job}} == 0`,
        for: "1m",
        severity: "critical",
        summary: "A livekit-server node cannot be scraped.",
        description:
          "Prometheus has failed to scrape livekit-server {{ $labels.instance }} (job {{ $labels.job }}) for 1 minute: the node is down or its prometheus_port is unreachable.",
        meaning: `up{${job}} == 0`,
        forReason:
          "Rides through one or two failed scrapes and a fast restart; a node gone for 1m has dropped its rooms.",
      },
      {
        alert: "LiveKitNoNodeAvailable",
        expr: `absent(up{${job}} == 1)`,
        for: "30s",
        severity: "critical",
        summary: "No livekit-server node is up.",
        description: `No target of job ${options.livekitJob} has been up for 30 seconds: nobody can join a room.`,
        meaning: `no up{${job}} == 1 at all`,
        forReason: "A total outage pages faster than one node down.",
      },
      {
        alert: "LiveKitPacketLossHigh",
        expr: `${lossRatio} > ${loss.source.value}`,
        for: "1m",
        severity: "warning",
        summary: "A livekit-server node reports high packet loss.",
        description: `livekit-server {{ $labels.instance }} reports {{ $value | humanizePercentage }} {{ $labels.direction }} packet loss over ${w}, above ${loss.source.value * 100}%.`,
        meaning: `livekit_packet_loss_total / livekit_packet_total per node and direction over ${w}`,
        forReason:
          "Server loss mixes every stream on the node, including clients on bad networks; 1m and warning severity leave the page to the swarm's subscriber-side alert.",
        threshold: loss.source,
        thresholdNote: "borrowed: livekit_packet_loss_total has no catalog threshold",
      },
      {
        alert: "LiveKitQualityScoreLow",
        expr: `${poorRatio} > ${options.poorQualityShare}`,
        for: "2m",
        severity: "warning",
        summary: "Many participants on a livekit-server node have a poor connection quality score.",
        description: `{{ $value | humanizePercentage }} of the quality evaluations on livekit-server {{ $labels.instance }} scored MOS ${options.poorQualityScore} or less over ${w}.`,
        meaning: `share of livekit_quality_score evaluations <= MOS ${options.poorQualityScore} over ${w}`,
        forReason: "The score is already an EWMA inside LiveKit; 2m asks for a trend, not a dip.",
        thresholdNote: "generator options poorQualityScore (a bucket bound) and poorQualityShare",
      },
      {
        alert: "LiveKitTwirpErrors",
        expr: `${twirpRatio} > ${options.twirpErrorShare}`,
        for: "2m",
        severity: "critical",
        summary: "The livekit-server API (Twirp) answers many requests with 5xx.",
        description: `{{ $value | humanizePercentage }} of {{ $labels.service }} requests to livekit-server {{ $labels.instance }} failed with 5xx over ${w}.`,
        meaning: `5xx share of livekit_node_twirp_request_status per node and service over ${w}`,
        forReason:
          "API calls are bursty and a few failures retry fine; 2m of errors means the control plane is broken.",
        thresholdNote: "generator option twirpErrorShare",
      },
      nearCapacity(options, {
        alert: "LiveKitNodeParticipantsNearCapacity",
        series: "instance:livekit_participant_total:max",
        sizedFor: "participantsPerNode",
        summary: "A livekit-server node carries most of its known participant capacity.",
        holds: "carries",
        what: "participants",
        forReason: "Capacity is a trend; 5m skips a join burst that drains by itself.",
      }),
      nearCapacity(options, {
        alert: "LiveKitNodeRoomsNearCapacity",
        series: "instance:livekit_room_total:max",
        sizedFor: "roomsPerNode",
        summary: "A livekit-server node hosts most of its known room capacity.",
        holds: "hosts",
        what: "rooms",
        forReason: "Capacity is a trend; 5m skips a burst of short rooms.",
      }),
    ],
  };
  return [records, alerts];
}

/** A node above capacityShare of what it is sized for: the same rule for participants and rooms. */
function nearCapacity(
  options: Required<AlertOptions>,
  c: {
    readonly alert: string;
    readonly series: string;
    readonly sizedFor: "participantsPerNode" | "roomsPerNode";
    readonly summary: string;
    readonly holds: string;
    readonly what: string;
    readonly forReason: string;
  },
): AlertRule {
  const sized = options[c.sizedFor];
  return {
    alert: c.alert,
    expr: `${c.series} > ${sized * options.capacityShare}`,
    for: "5m",
    severity: "warning",
    summary: c.summary,
    description: `livekit-server {{ $labels.instance }} ${c.holds} {{ $value | printf "%.0f" }} ${c.what}, above ${options.capacityShare * 100}% of the ${sized} it is sized for.`,
    meaning: `${c.what} on a node > ${options.capacityShare} x ${c.sizedFor} (${sized})`,
    forReason: c.forReason,
    thresholdNote: `generator options ${c.sizedFor} x capacityShare`,
  };
}
