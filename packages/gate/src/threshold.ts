import {
  catalog,
  metricByName,
  parseDuration,
  quoted,
  suggestMetric,
  type MetricDefinition,
  type MetricThreshold,
  KnownError,
  messageOf,
} from "@livekit-swarm/schema";
import type { Population } from "@livekit-swarm/stats";

export type Op = "<" | "<=" | ">" | ">=" | "==" | "!=";
export type Severity = "warn" | "fail";

/**
 * One quality threshold: `aggregation(metric{where}) over population  op  value`. Evaluated in-process
 * from raw observations (exact quantiles), or through PromQL for sharded runs.
 */
export interface Threshold {
  /** As written, for messages and reports. */
  readonly text: string;
  readonly metric: string;
  /** Label equality filters, e.g. kind=video. */
  readonly where: Readonly<Record<string, string>>;
  /** p0..p100 as `p95`, or max, min, avg, count, rate. */
  readonly aggregation: string;
  /** Whose values a percentile or mean is over; undefined for count and rate. */
  readonly population: Population | undefined;
  readonly op: Op;
  /** In the metric's base unit (ratio, seconds, bytes; count per second for rate). */
  readonly value: number;
  readonly severity: Severity;
  /** Fewer observations than this fail the threshold: no data never passes. */
  readonly minSamples: number;
  /** Observations from the first `warmupMs` of the run are left out. */
  readonly warmupMs: number | undefined;
  /** Abort the run once the threshold has been breached for this long (fail severity only). */
  readonly abortAfterMs: number | undefined;
  /** `baseline + 20%`, `baseline + 0.5pt`, `baseline * 1.2`: the limit comes from a baseline run. */
  readonly relative?: RelativeLimit;
  /** Status of a breach within run-to-run noise (relative thresholds): warn unless noise=fail. */
  readonly noiseSeverity?: Severity;
  /** Set by `applyBaseline`: the baseline's value of this threshold, and `value` is then the limit. */
  readonly baseline?: ResolvedBaseline;
}

/** How a relative threshold's limit follows from the baseline value b. */
export interface RelativeLimit {
  readonly op: "+" | "-" | "*";
  /** percent: b·(1 ± amount/100); points: b ± amount (in the metric's unit); factor: b·amount; absolute: b ± amount. */
  readonly unit: "percent" | "points" | "factor" | "absolute";
  readonly amount: number;
  /** As written after the operator, e.g. "baseline + 20%". */
  readonly text: string;
}

/** The baseline run's side of a relative threshold. */
export interface ResolvedBaseline {
  /** The summary it came from (file or run id), for messages. */
  readonly source: string;
  /** The threshold's aggregation over the baseline run; undefined when the baseline lacks it. */
  readonly value: number | undefined;
  readonly n: number;
  /** Per-participant or per-track values for the noise test; undefined when the summary has none. */
  readonly samples: readonly number[] | undefined;
}

/** A malformed threshold: the message quotes the text and says what to write instead. */
export class ThresholdError extends KnownError<"threshold"> {
  override readonly name = "ThresholdError";
  constructor(
    readonly text: string,
    problem: string,
  ) {
    super("threshold", `threshold ${quoted(text)}: ${problem}`);
  }
  override toJSON(): { name: string; reason: "threshold"; text: string; message: string } {
    return { ...super.toJSON(), text: this.text };
  }
}

const OPS: readonly Op[] = ["<=", ">=", "==", "!=", "<", ">"];
const POPULATIONS: readonly Population[] = ["participants", "tracks", "windows"];
const TIME_UNITS: Readonly<Record<string, number>> = { us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const RATE_UNITS: Readonly<Record<string, number>> = {
  "B/s": 1,
  "kB/s": 1e3,
  "MB/s": 1e6,
  bps: 1 / 8,
  kbps: 1e3 / 8,
  Mbps: 1e6 / 8,
};
const EXAMPLE = 'e.g. "lkswarm_inbound_loss_ratio{kind=video} p95 over participants < 2%"';

function grammar(): string {
  return `write METRIC[{label=value,...}] AGGREGATION [over participants|tracks|windows] OP VALUE|baseline [+ 20%|+ 0.5pt|* 1.2] [severity=warn] [min_samples=N] [warmup=30s] [abort=20s], ${EXAMPLE}`;
}

/** Parses one threshold expression; every problem is a ThresholdError naming the text and the fix. */
export function parseThreshold(text: string, options: { allowServerMetrics?: boolean } = {}): Threshold {
  const source = text.trim();
  const fail = (problem: string): never => {
    throw new ThresholdError(source, problem);
  };
  const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(.*)$/.exec(source);
  if (match === null) return fail(`expected a metric name first; ${grammar()}`);
  const name = match[1] ?? "";
  const metric = metricByName(name);
  if (metric === undefined) {
    const suggestions = suggestMetric(name);
    return fail(
      `unknown metric ${name}${suggestions.length > 0 ? ` (did you mean ${suggestions.join(" or ")}?)` : ""}; the metrics are listed in packages/schema/README.md`,
    );
  }
  if (metric.source !== "swarm" && options.allowServerMetrics !== true) {
    return fail(
      `${name} is a LiveKit server metric: gate it with \`swarm gate --prometheus URL\`, not in-process`,
    );
  }
  const where = parseWhere(match[2], metric, fail);
  const words = (match[3] ?? "").split(/\s+/).filter((w) => w !== "");

  const aggregation = words.shift() ?? fail(`expected an aggregation after ${name}; ${grammar()}`);
  validateAggregation(aggregation, metric, fail, options.allowServerMetrics === true);
  let population: Population | undefined;
  if (words[0] === "over") {
    words.shift();
    const pop = words.shift();
    if (pop === undefined || !(POPULATIONS as readonly string[]).includes(pop)) {
      return fail(`expected "over participants", "over tracks" or "over windows", got "over ${pop ?? ""}"`);
    }
    if (aggregation === "count" || aggregation === "rate") {
      return fail(`${aggregation} sums every event: drop "over ${pop}"`);
    }
    population = pop as Population;
  } else if (aggregation !== "count" && aggregation !== "rate") {
    population = defaultPopulation(metric);
  }

  // the comparison may be written with or without spaces: "< 2%", "<2%", "< 2 s"
  const rest = words.join(" ");
  const rel =
    /^(<=|>=|==|!=|<|>)\s*baseline\b\s*(?:([+*-])\s*(\d+(?:\.\d+)?)\s*(%|pt|[A-Za-zµ/]+)?)?(?=\s|$)(\s.*)?$/.exec(
      rest,
    );
  const cmp =
    rel !== null
      ? null
      : /^(<=|>=|==|!=|<|>)\s*(\S+?(?:\s+(?:%|[µu]s|ms|s|m|h|[kM]?B\/s|[kM]?bps)(?=\s|$))?)(\s.*)?$/.exec(
          rest,
        );
  if (cmp === null && rel === null)
    return fail(`expected a comparison (${OPS.join(" ")}) and a value after "${aggregation}"; ${grammar()}`);
  const op = ((cmp ?? rel)?.[1] ?? "<") as Op;
  let value: number;
  let relative: RelativeLimit | undefined;
  if (rel !== null) {
    relative = parseRelative(rel, metric, aggregation, fail);
    value = Number.NaN;
  } else {
    value = parseValue((cmp?.[2] ?? "").replace(/\s+/, ""), metric, aggregation, fail);
  }
  let noiseSeverity: Severity | undefined;

  let severity: Severity = "fail";
  let minSamples = 1;
  let warmupMs: number | undefined;
  let abortAfterMs: number | undefined;
  for (const option of ((cmp ?? rel)?.[cmp !== null ? 3 : 5] ?? "").split(/\s+/).filter((w) => w !== "")) {
    const [key, val] = option.split("=", 2) as [string, string | undefined];
    if (val === undefined || val === "")
      return fail(`option "${option}": expected key=value (severity, min_samples, warmup, abort, noise)`);
    switch (key) {
      case "severity":
        if (val !== "warn" && val !== "fail") return fail(`severity: expected warn or fail, got "${val}"`);
        severity = val;
        break;
      case "min_samples":
        if (!/^\d+$/.test(val) || Number(val) < 1)
          return fail(`min_samples: expected a whole number of at least 1, got "${val}"`);
        minSamples = Number(val);
        break;
      case "warmup":
        warmupMs = duration(val, "warmup", fail);
        break;
      case "abort":
        abortAfterMs = duration(val, "abort", fail);
        break;
      case "noise":
        if (relative === undefined)
          return fail('noise= applies to thresholds relative to a baseline ("<= baseline + 20%")');
        if (val !== "warn" && val !== "fail") return fail(`noise: expected warn or fail, got "${val}"`);
        noiseSeverity = val;
        break;
      default:
        return fail(`unknown option "${key}": expected severity, min_samples, warmup, abort or noise`);
    }
  }
  if (abortAfterMs !== undefined && severity === "warn")
    return fail("abort applies to fail thresholds only: drop severity=warn or abort=");
  return {
    text: source,
    metric: name,
    where,
    aggregation,
    population,
    op,
    value,
    severity,
    minSamples,
    warmupMs,
    abortAfterMs,
    ...(relative !== undefined ? { relative } : {}),
    ...(noiseSeverity !== undefined ? { noiseSeverity } : {}),
  };
}

function parseRelative(
  m: RegExpExecArray,
  metric: MetricDefinition,
  aggregation: string,
  fail: (problem: string) => never,
): RelativeLimit {
  const sign = m[2] as "+" | "-" | "*" | undefined;
  const text = sign === undefined ? "baseline" : `baseline ${sign} ${m[3]}${m[4] ?? ""}`;
  if (sign === undefined) return { op: "+", unit: "absolute", amount: 0, text };
  const number = Number(m[3]);
  const unit = m[4] ?? "";
  if (sign === "*") {
    if (unit !== "") return fail(`"baseline * ${m[3]}${unit}": a factor takes no unit, e.g. baseline * 1.2`);
    return { op: sign, unit: "factor", amount: number, text };
  }
  if (unit === "%") return { op: sign, unit: "percent", amount: number, text };
  if (unit === "pt") {
    if (metric.unit !== "ratio" && metric.unit !== "percent")
      return fail(
        `pt (percentage points) applies to ratio metrics; ${metric.name} is in ${metric.unit}: write baseline + 20% or baseline + 100ms`,
      );
    return { op: sign, unit: "points", amount: metric.unit === "ratio" ? number / 100 : number, text };
  }
  return {
    op: sign,
    unit: "absolute",
    amount: parseValue(`${m[3]}${unit}`, metric, aggregation, fail),
    text,
  };
}

/** A relative threshold's limit from the baseline value. */
export function relativeLimit(relative: RelativeLimit, baseline: number): number {
  const sign = relative.op === "-" ? -1 : 1;
  switch (relative.unit) {
    case "percent":
      return baseline * (1 + (sign * relative.amount) / 100);
    case "factor":
      return baseline * relative.amount;
    case "points":
    case "absolute":
      return baseline + sign * relative.amount;
  }
}

function parseWhere(
  block: string | undefined,
  metric: MetricDefinition,
  fail: (problem: string) => never,
): Record<string, string> {
  const where: Record<string, string> = {};
  if (block === undefined) return where;
  const inner = block.slice(1, -1).trim();
  if (inner === "") return where;
  for (const part of inner.split(",")) {
    const m = /^\s*([a-z_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
    if (m === null) return fail(`label filter "${part.trim()}": expected label=value, e.g. {kind=video}`);
    const label = m[1] ?? "";
    const allowed = [...metric.labels, ...(metric.source === "swarm" ? metric.optInLabels : [])].filter(
      (l) => l !== "scenario" && l !== "run_id",
    );
    if (!(allowed as readonly string[]).includes(label)) {
      return fail(
        `${metric.name} has no label "${label}"${allowed.length > 0 ? `; its labels are ${allowed.join(", ")}` : " to filter on"}`,
      );
    }
    where[label] = m[2] ?? "";
  }
  return where;
}

function validateAggregation(
  aggregation: string,
  metric: MetricDefinition,
  fail: (problem: string) => never,
  throughPrometheus: boolean,
): void {
  const isPercentile = /^p(\d{1,2}(\.\d+)?|100)$/.test(aggregation);
  const known = isPercentile || ["max", "min", "avg", "count", "rate"].includes(aggregation);
  if (!known)
    return fail(
      `unknown aggregation "${aggregation}": expected p50, p95, p99 (any pNN), max, min, avg, count or rate`,
    );
  if (metric.type === "counter" && aggregation !== "count" && aggregation !== "rate") {
    return fail(`${metric.name} is a counter: use count (total) or rate (per second), not ${aggregation}`);
  }
  if (metric.type === "gauge" && !throughPrometheus) {
    return fail(
      `${metric.name} is a gauge of the live swarm: gate it through Prometheus (\`swarm gate --prometheus\`)`,
    );
  }
  if (metric.type === "histogram" && aggregation === "rate") {
    return fail(`rate needs a counter; for ${metric.name} use a percentile, max, min, avg or count`);
  }
}

/** The catalog's population for the metric's default threshold, else each metric's natural one. */
function defaultPopulation(metric: MetricDefinition): Population {
  const fromCatalog = metric.thresholds?.find(
    (t: MetricThreshold) => t.aggregation !== "count" && t.aggregation !== "rate",
  );
  if (fromCatalog !== undefined) return fromCatalog.population;
  return /join|reconnect/.test(metric.name) ? "participants" : "windows";
}

function parseValue(
  token: string,
  metric: MetricDefinition,
  aggregation: string,
  fail: (problem: string) => never,
): number {
  const m = /^(-?\d+(?:\.\d+)?)([A-Za-zµ%/]*)$/.exec(token);
  if (m === null) return fail(`value "${token}": expected a number with an optional unit (2%, 30ms, 1.5s)`);
  const n = Number(m[1]);
  // Every catalogued figure (times, ratios, counts, bytes) is zero or more, so a negative limit
  // would make a threshold that always passes or always fails whatever the run did.
  if (n < 0) return fail(`value "${token}": ${metric.name} is never negative; write a limit of 0 or more`);
  const unit = m[2] ?? "";
  if (unit === "") return n;
  if (aggregation === "count") return fail(`count is a number of events: write ${n}, not ${token}`);
  if (unit === "%") {
    if (metric.unit !== "ratio" && metric.unit !== "percent")
      return fail(`% applies to ratio metrics; ${metric.name} is in ${metric.unit}`);
    return metric.unit === "percent" ? n : n / 100;
  }
  if (unit in TIME_UNITS) {
    if (metric.unit !== "seconds")
      return fail(`${unit} applies to time metrics; ${metric.name} is in ${metric.unit}`);
    return n * (TIME_UNITS[unit] ?? 1);
  }
  if (unit in RATE_UNITS) {
    if (metric.unit !== "bytes" || aggregation !== "rate")
      return fail(`${unit} applies to the rate of a bytes counter`);
    return n * (RATE_UNITS[unit] ?? 1);
  }
  return fail(`unknown unit "${unit}" in "${token}": use %, us, ms, s, m, h, or B/s, kB/s, kbps, Mbps`);
}

function duration(text: string, key: string, fail: (problem: string) => never): number {
  try {
    return parseDuration(text);
  } catch (err) {
    return fail(`${key}: ${messageOf(err)}`);
  }
}

/** The catalog's default thresholds (`--gate default`), written out as expressions. */
export function defaultThresholds(): Threshold[] {
  const out: Threshold[] = [];
  for (const m of catalog) {
    if (m.source !== "swarm") continue;
    for (const t of m.thresholds ?? []) {
      const over = t.aggregation === "count" || t.aggregation === "rate" ? "" : ` over ${t.population}`;
      if (t.fail !== undefined)
        out.push(parseThreshold(`${m.name} ${t.aggregation}${over} ${t.op} ${t.fail}`));
      if (t.warn !== undefined)
        out.push(parseThreshold(`${m.name} ${t.aggregation}${over} ${t.op} ${t.warn} severity=warn`));
    }
  }
  return out;
}

export function compare(observed: number, op: Op, limit: number): boolean {
  switch (op) {
    case "<":
      return observed < limit;
    case "<=":
      return observed <= limit;
    case ">":
      return observed > limit;
    case ">=":
      return observed >= limit;
    case "==":
      return observed === limit;
    case "!=":
      return observed !== limit;
  }
}
