import { metric, type MetricThreshold, type MetricName, type ThresholdOp } from "@livekit-swarm/schema";

export type Severity = "warning" | "critical";

/** Which catalog threshold an alert compares against, so a test can hold it to the catalog's number. */
export interface ThresholdSource {
  readonly metric: MetricName;
  readonly level: "warn" | "fail";
  readonly value: number;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly description: string;
  /** Why this `for:` and not another: goes to the README table. */
  readonly forReason: string;
  /** One line for the README table. */
  readonly meaning: string;
  readonly threshold?: ThresholdSource;
  /** Where a hard-coded number comes from when it is not a catalog threshold. */
  readonly thresholdNote?: string;
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (AlertRule | RecordingRule)[];
}

export interface RuleFile {
  /** Repo-relative path of the generated file. */
  readonly path: string;
  readonly groups: readonly RuleGroup[];
}

/** Options of the generator; every one has a default that suits the testbed and a small deployment. */
export interface AlertOptions {
  /**
   * Where runbooks live; the alert name and `.md` are appended. By default the path in this
   * repository and its package (no host: the project is not published anywhere a link could name);
   * `npm run generate` takes LKSWARM_RUNBOOK_BASE_URL, e.g. your fork's
   * `https://github.com/<you>/livekit-swarm/blob/main/docs/runbooks/`.
   */
  readonly runbookBaseUrl?: string;
  /** Prometheus job that scrapes livekit-server nodes. */
  readonly livekitJob?: string;
  /** Range of every `rate()`; at least four scrape intervals of the slowest scrape. */
  readonly rateWindow?: string;
  /** Participants one livekit-server node is known to carry (measure it with a swarm ramp). */
  readonly participantsPerNode?: number;
  /** Rooms one livekit-server node is known to carry. */
  readonly roomsPerNode?: number;
  /** Share of that capacity at which the capacity alerts warn. */
  readonly capacityShare?: number;
  /** Share of server API (Twirp) requests answered 5xx that is an incident. */
  readonly twirpErrorShare?: number;
  /** MOS at or below which a livekit_quality_score evaluation counts as poor; must be a bucket bound. */
  readonly poorQualityScore?: number;
  /** Share of poor quality evaluations that is an incident. */
  readonly poorQualityShare?: number;
  /** Reconnects within 5 minutes per participant that make a reconnect storm. */
  readonly reconnectStormShare?: number;
}

export const defaultOptions: Required<AlertOptions> = {
  runbookBaseUrl: "docs/runbooks/",
  livekitJob: "livekit",
  rateWindow: "1m",
  // No published per-node figure exists; 1000 participants in ~100 rooms is a conservative 8-vCPU node.
  participantsPerNode: 1000,
  roomsPerNode: 100,
  // The 80% rule of thumb for capacity alerts, docs/engine-costs.md, capacity alerts.
  capacityShare: 0.8,
  twirpErrorShare: 0.05,
  poorQualityScore: 3.5,
  poorQualityShare: 0.1,
  reconnectStormShare: 0.25,
};

export function isAlert(rule: AlertRule | RecordingRule): rule is AlertRule {
  return "alert" in rule;
}

/** The comparison under which an alert fires: the negation of the threshold's passing condition. */
export function breachOp(op: ThresholdOp): ThresholdOp {
  switch (op) {
    case "<":
      return ">=";
    case "<=":
      return ">";
    case ">":
      return "<=";
    case ">=":
      return "<";
  }
}

export interface CatalogLimit {
  readonly source: ThresholdSource;
  readonly threshold: MetricThreshold;
  readonly severity: Severity;
}

/**
 * The catalog threshold an alert on `name` uses: the fail bound pages (critical), a warn-only metric
 * files a ticket (warning). `aggregation` picks one of several thresholds on the same metric.
 */
export function catalogLimit(name: MetricName, aggregation?: MetricThreshold["aggregation"]): CatalogLimit {
  const thresholds = metric(name).thresholds ?? [];
  const threshold = thresholds.find((t) => aggregation === undefined || t.aggregation === aggregation);
  if (threshold === undefined) throw new Error(`the catalog has no threshold on ${name}`);
  if (threshold.fail !== undefined)
    return {
      source: { metric: name, level: "fail", value: threshold.fail },
      threshold,
      severity: "critical",
    };
  if (threshold.warn !== undefined)
    return { source: { metric: name, level: "warn", value: threshold.warn }, threshold, severity: "warning" };
  throw new Error(`the catalog threshold on ${name} has neither warn nor fail`);
}

export function quantileOf(aggregation: MetricThreshold["aggregation"]): number {
  const match = /^p(\d+)$/.exec(aggregation);
  if (match?.[1] === undefined) throw new Error(`${aggregation} is not a percentile`);
  return Number(match[1]) / 100;
}
