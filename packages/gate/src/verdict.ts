import { percentile, summarize } from "@livekit-swarm/stats";
import type { Measurements } from "./measurements.js";
import { compare, type Threshold } from "./threshold.js";

export type ThresholdStatus = "pass" | "fail" | "warn" | "no-data";

export interface ThresholdResult {
  readonly threshold: string;
  readonly metric: string;
  readonly severity: Threshold["severity"];
  readonly status: ThresholdStatus;
  /** In the metric's base unit; undefined when there was no data. */
  readonly observed: number | undefined;
  readonly limit: number;
  readonly op: Threshold["op"];
  readonly population: string;
  readonly n: number;
  /** One line for CI logs: what was measured, over what, against which limit. */
  readonly message: string;
}

export interface Verdict {
  readonly passed: boolean;
  readonly results: readonly ThresholdResult[];
}

/** The observed value of a threshold's aggregation, and how many observations it rests on. */
export function observe(
  threshold: Threshold,
  measurements: Measurements,
): { value: number | undefined; n: number } {
  const start = measurements.runStartMs;
  const selection = {
    where: threshold.where,
    ...(start !== undefined ? { fromMs: start + (threshold.warmupMs ?? 0) } : {}),
  };
  if (threshold.aggregation === "count") {
    const c = measurements.count(threshold.metric, selection);
    return { value: c.total, n: c.n };
  }
  if (threshold.aggregation === "rate") {
    const r = measurements.rate(threshold.metric, selection);
    return { value: r.perSecond, n: r.n };
  }
  const d = measurements.distribution(threshold.metric, threshold.population ?? "windows", selection);
  const pm = /^p(.+)$/.exec(threshold.aggregation);
  if (pm !== null) {
    const p = percentile(d.values, Number(pm[1]), d.population);
    return { value: p.value, n: p.n };
  }
  const s = summarize(d.values, d.population);
  const value = threshold.aggregation === "max" ? s.max : threshold.aggregation === "min" ? s.min : s.avg;
  return { value, n: s.n };
}

/**
 * Evaluates every threshold. A fail-severity threshold that is breached, or has fewer than
 * min_samples observations, fails the verdict; a warn-severity one only reports.
 */
export function evaluate(thresholds: readonly Threshold[], measurements: Measurements): Verdict {
  const results = thresholds.map((t) => {
    const { value, n } = observe(t, measurements);
    return judge(t, value, n);
  });
  return { passed: results.every((r) => r.status === "pass" || r.status === "warn"), results };
}

/** A threshold's result from its observed value and how many observations that value rests on. */
export function judge(t: Threshold, value: number | undefined, n: number): ThresholdResult {
  const over = t.population !== undefined ? ` over ${n} ${t.population}` : ` from ${n} events`;
  // counts of events: no event at all is a count of 0, a real observation
  const enough = t.aggregation === "count" ? true : n >= t.minSamples;
  let status: ThresholdStatus;
  let message: string;
  if (value === undefined || !enough) {
    status = t.severity === "fail" ? "no-data" : "warn";
    message = `${t.text}: only ${n} observation(s), min_samples is ${t.minSamples}: no data never passes`;
  } else if (compare(value, t.op, t.value)) {
    status = "pass";
    message = `${t.text}: observed ${format(value)}${over}`;
  } else {
    status = t.severity === "fail" ? "fail" : "warn";
    message = `${t.text}: observed ${format(value)}${over}, breaching ${t.op} ${format(t.value)}`;
  }
  return {
    threshold: t.text,
    metric: t.metric,
    severity: t.severity,
    status,
    observed: value,
    limit: t.value,
    op: t.op,
    population: t.population ?? "events",
    n,
    message,
  };
}

function format(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
