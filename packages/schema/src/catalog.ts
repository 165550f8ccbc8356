/**
 * The metric catalog: its entries (catalog-swarm.ts, catalog-livekit.ts), their names as types, the
 * lookups every package uses, and the checks an entry must pass.
 */
import { livekitEntries } from "./catalog-livekit.js";
import { swarmEntries } from "./catalog-swarm.js";
import {
  LIVEKIT_METRIC_PREFIX,
  SWARM_METRIC_PREFIX,
  grafanaUnits,
  livekitConstLabels,
  optInLabelNames,
  populations,
  swarmLabelNames,
  thresholdOps,
  type Aggregation,
  type MetricThreshold,
  type LivekitMetric,
  type MetricDefinition,
  type MetricType,
  type SwarmMetric,
} from "./catalog-types.js";
import { closestMatches } from "./suggest.js";

export * from "./catalog-types.js";

const entries = [...swarmEntries, ...livekitEntries] as const;

/** Every metric name the catalog knows; a renamed metric breaks every typed use of the old name. */
export type MetricName = (typeof entries)[number]["name"];
export type SwarmMetricName = (typeof swarmEntries)[number]["name"];
export type LivekitMetricName = (typeof livekitEntries)[number]["name"];

export const catalog: readonly MetricDefinition[] = entries;

const byName = new Map<string, MetricDefinition>(catalog.map((m) => [m.name, m]));

export function metricByName(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** The definition of a name known at compile time. */
export function metric(name: SwarmMetricName): SwarmMetric;
export function metric(name: LivekitMetricName): LivekitMetric;
export function metric(name: MetricName): MetricDefinition;
export function metric(name: MetricName): MetricDefinition {
  const found = byName.get(name);
  if (!found) throw new Error(`metric ${name} is typed as known but missing from the catalog`);
  return found;
}

export function swarmMetrics(): readonly SwarmMetric[] {
  return swarmEntries;
}

export function livekitMetrics(): readonly LivekitMetric[] {
  return livekitEntries;
}

export interface DefaultThreshold {
  readonly metric: MetricName;
  readonly threshold: MetricThreshold;
}

/** The catalog's thresholds flattened, in catalog order: the gate's defaults. */
export function defaultThresholds(): DefaultThreshold[] {
  return entries.flatMap((m) => (m.thresholds ?? []).map((threshold) => ({ metric: m.name, threshold })));
}

function withoutPrefix(name: string): string {
  for (const prefix of [SWARM_METRIC_PREFIX, LIVEKIT_METRIC_PREFIX]) {
    if (name.startsWith(prefix)) return name.slice(prefix.length);
  }
  return name;
}

/** Closest catalog names for "did you mean"; a name typed without its prefix still matches. */
export function suggestMetric(name: string, limit = 3): string[] {
  const bare = withoutPrefix(name);
  const names = catalog.map((m) => m.name);
  const direct = closestMatches(name, names, limit);
  const stripped = new Map(names.map((n) => [withoutPrefix(n), n]));
  const viaBare = closestMatches(bare, stripped.keys(), limit).flatMap((s) => {
    const full = stripped.get(s);
    return full === undefined ? [] : [full];
  });
  return [...new Set([...direct, ...viaBare])].slice(0, limit);
}

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(["le", "quantile"]);
const NON_BASE_UNIT_SUFFIXES = [
  "_ms",
  "_us",
  "_ns",
  "_milliseconds",
  "_microseconds",
  "_nanoseconds",
  "_minutes",
  "_hours",
  "_percent",
  "_bits",
  "_kbps",
];
const BASE_UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  seconds: "_seconds",
  ratio: "_ratio",
  bytes: "_bytes",
};

const AGGREGATIONS_BY_TYPE: Readonly<Record<MetricType, readonly Aggregation[]>> = {
  counter: ["count", "rate"],
  gauge: ["p50", "p95", "p99", "min", "max", "avg"],
  histogram: ["p50", "p95", "p99", "min", "max", "avg", "count"],
};

function checkLabels(m: MetricDefinition, problem: (text: string) => void): void {
  const seen = new Set<string>();
  const all: readonly string[] = m.source === "swarm" ? [...m.labels, ...m.optInLabels] : m.labels;
  for (const label of all) {
    if (!LABEL_NAME.test(label) || label.startsWith("__")) problem(`label "${label}" is not a valid name`);
    if (RESERVED_LABELS.has(label)) problem(`label "${label}" is reserved by Prometheus`);
    if (seen.has(label)) problem(`label "${label}" is listed twice`);
    seen.add(label);
  }
  if (m.source === "swarm") {
    const allowed: readonly string[] = swarmLabelNames;
    const optIn: readonly string[] = optInLabelNames;
    for (const label of m.labels) {
      if (!allowed.includes(label)) {
        problem(`label "${label}" is not a swarm label (${swarmLabelNames.join(", ")})`);
      }
    }
    for (const label of m.optInLabels) {
      if (!optIn.includes(label)) {
        problem(`opt-in label "${label}" is not one of ${optInLabelNames.join(", ")}`);
      }
    }
  } else {
    const constant: readonly string[] = livekitConstLabels;
    for (const label of m.labels) {
      if (constant.includes(label)) problem(`label "${label}" is a constant label, not a variable one`);
    }
  }
}

function checkSwarmName(m: SwarmMetric, problem: (text: string) => void): void {
  if (!m.name.startsWith(SWARM_METRIC_PREFIX))
    problem(`swarm metric names start with ${SWARM_METRIC_PREFIX}`);
  if (m.type === "counter") {
    if (!m.name.endsWith("_total")) problem("counter names end with _total");
    if (m.name.endsWith("_total_total")) problem("name ends with _total twice");
  } else if (m.name.endsWith("_total")) {
    problem(`a ${m.type} name must not end with _total, which marks counters`);
  }
  const base = m.type === "counter" ? m.name.replace(/_total$/, "") : m.name;
  for (const suffix of NON_BASE_UNIT_SUFFIXES) {
    if (base.endsWith(suffix)) problem(`${suffix} is not a base unit; use seconds, ratio or bytes`);
  }
  for (const [unit, suffix] of Object.entries(BASE_UNIT_SUFFIXES)) {
    if (m.unit === unit && !base.endsWith(suffix)) problem(`unit ${unit} needs a name ending ${suffix}`);
    if (m.unit !== unit && base.endsWith(suffix)) problem(`name ends ${suffix} but unit is ${m.unit}`);
  }
  if (m.type !== "counter" && m.unit === "seconds" && m.grafanaUnit !== "s") {
    problem(`seconds are shown in Grafana unit "s", not "${m.grafanaUnit}"`);
  }
  if (m.unit === "ratio" && m.grafanaUnit !== "percentunit") {
    problem(`ratios are shown in Grafana unit "percentunit", not "${m.grafanaUnit}"`);
  }
  if ("presence" in m) problem("presence is for livekit metrics only");
}

function checkBuckets(m: MetricDefinition, problem: (text: string) => void): void {
  if (m.type !== "histogram") {
    if (m.buckets !== undefined) problem(`a ${m.type} has no buckets`);
    return;
  }
  const buckets = m.buckets;
  if (buckets === undefined || buckets.length === 0) {
    problem("a histogram needs buckets");
    return;
  }
  buckets.forEach((bound, i) => {
    if (!Number.isFinite(bound)) problem(`bucket ${bound} is not a finite number (+Inf is implicit)`);
    const previous = buckets[i - 1];
    if (previous !== undefined && !(bound > previous)) {
      problem(`buckets are not strictly increasing at ${previous}, ${bound}`);
    }
  });
  if (m.unit === "ratio" && buckets.some((b) => b < 0 || b > 1)) problem("ratio buckets lie within 0..1");
}

function checkThresholds(m: MetricDefinition, problem: (text: string) => void): void {
  for (const t of m.thresholds ?? []) {
    const where = `threshold ${t.aggregation} ${t.op}`;
    if (!thresholdOps.includes(t.op)) problem(`${where}: unknown op "${t.op}"`);
    if (!populations.includes(t.population)) problem(`${where}: unknown population "${t.population}"`);
    if (!AGGREGATIONS_BY_TYPE[m.type].includes(t.aggregation)) {
      problem(`${where}: ${t.aggregation} does not apply to a ${m.type}`);
    }
    if (t.warn === undefined && t.fail === undefined) problem(`${where}: needs warn, fail or both`);
    for (const [severity, value] of [
      ["warn", t.warn],
      ["fail", t.fail],
    ] as const) {
      if (value === undefined) continue;
      if (!Number.isFinite(value)) {
        problem(`${where}: ${severity} ${value} is not a finite number`);
        continue;
      }
      if (m.type === "histogram" && !(m.buckets ?? []).includes(value)) {
        problem(
          `${where}: ${severity} ${value} is not a bucket boundary, so its quantile would be interpolated`,
        );
      }
      if (m.unit === "ratio" && (value < 0 || value > 1))
        problem(`${where}: ${severity} ${value} is not a ratio`);
    }
    if (t.warn !== undefined && t.fail !== undefined) {
      const stricter = t.op === "<" || t.op === "<=" ? t.warn <= t.fail : t.warn >= t.fail;
      if (!stricter) problem(`${where}: warn ${t.warn} must be stricter than fail ${t.fail}`);
    }
  }
}

function checkPresence(m: LivekitMetric, problem: (text: string) => void): void {
  if (!m.name.startsWith(LIVEKIT_METRIC_PREFIX)) {
    problem(`livekit metric names start with ${LIVEKIT_METRIC_PREFIX}`);
  }
  const presence: unknown = m.presence;
  const valid =
    presence === "always" ||
    (typeof presence === "object" &&
      presence !== null &&
      "conditional" in presence &&
      typeof presence.conditional === "string" &&
      presence.conditional.trim() !== "");
  if (!valid) problem(`presence must be "always" or { conditional: "<why>" }`);
}

/** Problems with catalog entries, one line each prefixed with the metric name; empty when sound. */
export function validateCatalog(entries: readonly MetricDefinition[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const m of entries) {
    const problem = (text: string): void => {
      problems.push(`${m.name === "" ? "(unnamed)" : m.name}: ${text}`);
    };
    if (!METRIC_NAME.test(m.name)) problem("not a valid metric name (colons are for recording rules)");
    if (names.has(m.name)) problem("defined more than once");
    names.add(m.name);
    if (m.help.trim() === "" || m.help.includes("\n")) problem("help must be one non-empty line");
    if (m.unit.trim() === "") problem("unit is empty");
    if (!grafanaUnits.includes(m.grafanaUnit)) problem(`unknown Grafana unit "${m.grafanaUnit}"`);
    checkLabels(m, problem);
    checkBuckets(m, problem);
    checkThresholds(m, problem);
    if (m.source === "swarm") checkSwarmName(m, problem);
    else checkPresence(m, problem);
  }
  return problems;
}
