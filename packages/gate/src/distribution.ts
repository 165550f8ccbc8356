/**
 * A population's values as Measurements hands them out (Distribution), and the figures taken from
 * them: nearest-rank percentiles, max, min and mean, each marked when censored members bound it.
 */
import {
  QuantileSketch,
  censoredPercentiles,
  checkP,
  rankOf,
  type CensoredPercentile,
  type Population,
} from "@livekit-swarm/stats";

export interface Distribution {
  readonly population: Population;
  /** Observed and censored together: the whole population. */
  readonly n: number;
  /**
   * Observed values of a participants or tracks population, one a member (exact, bounded by the
   * run's members); undefined for windows, which only `sketch` holds.
   */
  readonly values: readonly number[] | undefined;
  /** Observed values in a sketch: exact while small (`sketch.exact`), then within its relative error. */
  readonly sketch: QuantileSketch;
  /** Lower bounds of the censored members (docs/observability.md 2.1). */
  readonly censored: readonly number[];
}

/** A statistic over a population with censored members: `censored` means `value` is a lower bound. */
export interface Statistic {
  readonly value: number | undefined;
  readonly n: number;
  readonly censored: boolean;
}

export type Figure = Readonly<Record<"p50" | "p95" | "p99" | "max" | "min" | "avg", Statistic>> & {
  readonly n: number;
  readonly censored: number;
  /** The percentiles are exact nearest-rank values; false: each within `relativeError` of it. */
  readonly exact: boolean;
  readonly relativeError: number;
};

/** Whether a distribution's percentiles are the exact nearest-rank values. */
export function isExact(d: Distribution): boolean {
  return d.values !== undefined || d.sketch.exact;
}

/**
 * Nearest-rank percentiles of a distribution with its censored members (`censoredPercentiles`):
 * exact over a participants or tracks population, and over windows while the sketch is exact;
 * past that, a rank among the observed values is the sketch's (within its relative error), and a
 * rank that lands on the censored ones the rank-th smallest of observed values and bounds together.
 */
export function distributionPercentiles(d: Distribution, ps: readonly number[]): CensoredPercentile[] {
  if (d.values !== undefined) return censoredPercentiles(d.values, d.censored, ps, d.population);
  if (d.sketch.exact) return censoredPercentiles(d.sketch.exactValues(), d.censored, ps, d.population);
  const observed = d.sketch.count;
  const n = observed + d.censored.length;
  let lower: QuantileSketch | undefined;
  return ps.map((p) => {
    checkP(p);
    if (n === 0)
      return { method: "nearest-rank", p, population: d.population, n, value: undefined, censored: false };
    const rank = rankOf(p, n);
    const censored = rank > observed;
    if (censored && lower === undefined) {
      lower = new QuantileSketch(d.sketch.relativeError);
      lower.merge(d.sketch);
      for (const b of d.censored) lower.add(b);
    }
    const value = censored ? lower?.atRank(rank) : d.sketch.atRank(rank);
    return { method: "nearest-rank", p, population: d.population, n, value, censored };
  });
}

export function statistic(p: CensoredPercentile | undefined): Statistic {
  return { value: p?.value, n: p?.n ?? 0, censored: p?.censored ?? false };
}

/**
 * Max, min and mean of a population with censored members, each a lower bound when a censored
 * member could change it: the max and the mean whenever there is one, the min when a bound is
 * below every observed value.
 */
export function extremes(d: Distribution): Pick<Figure, "max" | "min" | "avg"> {
  const n = d.n;
  if (n === 0) {
    const none = { value: undefined, n, censored: false };
    return { max: none, min: none, avg: none };
  }
  // the sketch's count, sum, min and max are exact; loops, not Math.max(...values): a run's
  // members can outnumber the arguments a call may take
  let max = d.sketch.max ?? -Infinity;
  const minObserved = d.sketch.min ?? Infinity;
  let sum = d.sketch.sum;
  let min = minObserved;
  for (const v of d.censored) {
    max = Math.max(max, v);
    min = Math.min(min, v);
    sum += v;
  }
  const anyCensored = d.censored.length > 0;
  return {
    max: { value: max, n, censored: anyCensored },
    min: { value: min, n, censored: min < minObserved },
    avg: { value: sum / n, n, censored: anyCensored },
  };
}
