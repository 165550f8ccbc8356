import { BaselineError, noisePopulation } from "./baseline.js";
import { distributionPercentiles, extremes, type Statistic } from "./distribution.js";
import type { Measurements } from "./measurements.js";
import { mannWhitney, type NoiseTest } from "./noise.js";
import { formatIn } from "./units.js";
import { compare, type Threshold } from "./threshold.js";

export type ThresholdStatus = "pass" | "fail" | "warn" | "no-data";

export interface ThresholdResult {
  readonly threshold: string;
  readonly metric: string;
  readonly severity: Threshold["severity"];
  readonly status: ThresholdStatus;
  /** In the metric's base unit; undefined when there was no data. */
  readonly observed: number | undefined;
  /**
   * The aggregation landed on a censored observation (docs/observability.md 2.1): `observed` is a
   * lower bound, the true value is at least that. Such a result passes only when every value
   * above the bound would (a `>` or `>=` limit the bound already meets).
   */
  readonly censored?: true;
  readonly limit: number;
  readonly op: Threshold["op"];
  readonly population: string;
  readonly n: number;
  /** One line for CI logs: what was measured, over what, against which limit. */
  readonly message: string;
  /** Relative thresholds only: the baseline's side and whether the difference is noise. */
  readonly baseline?: BaselineComparison;
}

export interface BaselineComparison {
  readonly source: string;
  readonly value: number | undefined;
  readonly n: number;
  /** observed - baseline, in the metric's unit. */
  readonly delta: number | undefined;
  /** delta / baseline; undefined when the baseline is 0 or missing. */
  readonly deltaRatio: number | undefined;
  /** Undefined when either side has no per-participant or per-track values. */
  readonly noise: NoiseTest | undefined;
}

export interface Verdict {
  readonly passed: boolean;
  readonly results: readonly ThresholdResult[];
}

/**
 * The observed value of a threshold's aggregation, how many observations it rests on, and whether
 * it is only a lower bound: over the same population as the summary's figures, censored
 * observations (never joined, never received) included.
 */
export function observe(threshold: Threshold, measurements: Measurements): Statistic {
  const start = measurements.runStartMs;
  const selection = {
    where: threshold.where,
    ...(start !== undefined ? { fromMs: start + (threshold.warmupMs ?? 0) } : {}),
  };
  if (threshold.aggregation === "count") {
    const c = measurements.count(threshold.metric, selection);
    return { value: c.total, n: c.n, censored: false };
  }
  if (threshold.aggregation === "rate") {
    const r = measurements.rate(threshold.metric, selection);
    return { value: r.perSecond, n: r.n, censored: false };
  }
  const d = measurements.distribution(threshold.metric, threshold.population ?? "windows", selection);
  const pm = /^p(.+)$/.exec(threshold.aggregation);
  if (pm !== null) {
    const [p] = distributionPercentiles(d, [Number(pm[1])]);
    return { value: p?.value, n: p?.n ?? 0, censored: p?.censored ?? false };
  }
  const { max, min, avg } = extremes(d);
  return threshold.aggregation === "max" ? max : threshold.aggregation === "min" ? min : avg;
}

/**
 * Evaluates every threshold. A fail-severity threshold that is breached, or has fewer than
 * min_samples observations, fails the verdict; a warn-severity one only reports.
 */
export function evaluate(thresholds: readonly Threshold[], measurements: Measurements): Verdict {
  const results = thresholds.map((t) => {
    return judge(t, observe(t, measurements), currentSamples(t, measurements));
  });
  return { passed: results.every((r) => r.status === "pass" || r.status === "warn"), results };
}

/** The run's per-participant or per-track values a relative threshold's noise test compares. */
function currentSamples(t: Threshold, measurements: Measurements): readonly number[] | undefined {
  const population = noisePopulation(t.population, t.metric);
  if (t.baseline?.samples === undefined || population === undefined) return undefined;
  const start = measurements.runStartMs;
  return measurements.distribution(t.metric, population, {
    where: t.where,
    ...(start !== undefined ? { fromMs: start + (t.warmupMs ?? 0) } : {}),
  }).values;
}

/**
 * A threshold's result from its observed value, how many observations that value rests on, and
 * whether it is a lower bound (censored). Relative thresholds must have been through
 * `applyBaseline`; `samples` are this run's values for their noise test. A breach within
 * run-to-run noise is a warn (noise=fail makes it fail). A censored value that cannot show the
 * limit is met is a breach, noise or not: the run ended before the value could be seen.
 */
export function judge(
  t: Threshold,
  observed: { readonly value: number | undefined; readonly n: number; readonly censored?: boolean },
  samples?: readonly number[],
): ThresholdResult {
  const { value, n } = observed;
  const censored = observed.censored === true && value !== undefined;
  if (t.relative !== undefined && t.baseline === undefined)
    throw new BaselineError(
      `threshold "${t.text}" compares with a baseline: pass --baseline <summary.json or run folder>`,
    );
  const over = t.population !== undefined ? ` over ${n} ${t.population}` : ` from ${n} events`;
  // counts of events: no event at all is a count of 0, a real observation
  const enough = t.aggregation === "count" ? true : n >= t.minSamples;
  const b = t.baseline;
  const noise =
    b?.samples !== undefined && samples !== undefined ? mannWhitney(b.samples, samples) : undefined;
  const baseline: BaselineComparison | undefined =
    b === undefined
      ? undefined
      : {
          source: b.source,
          value: b.value,
          n: b.n,
          delta: value !== undefined && b.value !== undefined ? value - b.value : undefined,
          deltaRatio:
            value !== undefined && b.value !== undefined && b.value !== 0
              ? (value - b.value) / b.value
              : undefined,
          noise,
        };
  const fmt = (v: number): string => formatIn(t.metric, v);
  const against =
    baseline === undefined
      ? ""
      : ` (baseline ${baseline.value === undefined ? "-" : fmt(baseline.value)}, delta ${baseline.delta === undefined ? "-" : formatIn(t.metric, baseline.delta, true)}${baseline.deltaRatio !== undefined ? ` = ${signed(baseline.deltaRatio * 100, 3)}%` : ""})`;
  let status: ThresholdStatus;
  let message: string;
  if (b !== undefined && b.value === undefined) {
    status = t.severity === "fail" ? "no-data" : "warn";
    message = `${t.text}: the baseline ${b.source} has no ${t.aggregation} of ${t.metric}${t.population !== undefined ? ` over ${t.population}` : ""}: record it in the baseline run, or write an absolute limit`;
  } else if (value === undefined || !enough) {
    status = t.severity === "fail" ? "no-data" : "warn";
    message = `${t.text}: only ${n} observation(s), min_samples is ${t.minSamples}: no data never passes`;
  } else if (censored && !(t.op.startsWith(">") && compare(value, t.op, t.value))) {
    status = t.severity === "fail" ? "fail" : "warn";
    message = compare(value, t.op, t.value)
      ? `${t.text}: censored: at least ${fmt(value)}, the run ended before it was observed (${n} ${t.population ?? "events"})${against}`
      : `${t.text}: observed > ${fmt(value)}${over}, breaching ${t.op} ${fmt(t.value)} (censored: the run ended before it was observed)${against}`;
  } else if (compare(value, t.op, t.value)) {
    status = "pass";
    message = `${t.text}: observed ${censored ? "> " : ""}${fmt(value)}${over}${against}`;
  } else if (noise?.withinNoise === true) {
    status = t.severity === "fail" && t.noiseSeverity === "fail" ? "fail" : "warn";
    message = `${t.text}: observed ${fmt(value)}${over}, breaching ${t.op} ${fmt(t.value)}${against}, within run-to-run noise (Mann-Whitney p=${noise.p.toFixed(3)}, n=${noise.nA} vs ${noise.nB})`;
  } else {
    status = t.severity === "fail" ? "fail" : "warn";
    const real =
      noise !== undefined ? `, beyond run-to-run noise (Mann-Whitney p=${noise.p.toFixed(3)})` : "";
    message = `${t.text}: observed ${fmt(value)}${over}, breaching ${t.op} ${fmt(t.value)}${against}${real}`;
  }
  return {
    threshold: t.text,
    metric: t.metric,
    severity: t.severity,
    status,
    observed: value,
    ...(censored ? { censored: true as const } : {}),
    limit: t.value,
    op: t.op,
    population: t.population ?? "events",
    n,
    message,
    ...(baseline !== undefined ? { baseline } : {}),
  };
}

function signed(v: number | undefined, digits = 4): string {
  if (v === undefined) return "-";
  return `${v > 0 ? "+" : ""}${Number.isInteger(v) ? String(v) : v.toPrecision(digits)}`;
}
