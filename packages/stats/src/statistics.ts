/** A dimensionless fraction in [0, 1]. */
export type Ratio = number;

/**
 * What one observation stands for. "p95 = 2%" means three different things over participants
 * (one ratio per participant), tracks (one per track) or windows (one per track-window), so every
 * statistic carries its population.
 */
export type Population = "participants" | "tracks" | "windows";

export interface Percentile {
  /**
   * Nearest rank: the smallest observed value with at least p% of observations at or below it. It is
   * always a value some participant/track/window really had, so a gate verdict can name it, and
   * "p95 ≤ x" reads exactly as "at least 95% of the population saw ≤ x".
   */
  readonly method: "nearest-rank";
  /** In [0, 100]. */
  readonly p: number;
  readonly population: Population;
  /** Observations the percentile is over: undefined and non-finite inputs are not counted. */
  readonly n: number;
  /** Undefined when n is 0. */
  readonly value: number | undefined;
}

export interface Summary {
  readonly population: Population;
  readonly n: number;
  /** All undefined when n is 0, so an empty population can never leak a NaN or a fake 0. */
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly avg: number | undefined;
  readonly sum: number | undefined;
}

/** Structurally satisfied by `InboundWindow` and by per-participant totals. */
export interface LossCounts {
  readonly packetsLost: number;
  readonly packetsExpected: number;
}

/** Σlost / Σexpected: one number for the whole input, dominated by the heaviest streams by design. */
export interface LossRatioOfSums {
  readonly method: "ratio-of-sums";
  readonly packetsLost: number;
  readonly packetsExpected: number;
  /** Undefined when nothing was expected: "no traffic" is not "no loss". */
  readonly value: Ratio | undefined;
}

/** Percentile of nearest rank over the finite values; see `Percentile.method`. */
export function percentile(
  values: Iterable<number | undefined>,
  p: number,
  population: Population,
): Percentile {
  return percentilesOfSorted(sortedFinite(values), [p], population)[0] ?? emptyPercentile(p, population);
}

/** Several percentiles of the same population with one sort. */
export function percentiles(
  values: Iterable<number | undefined>,
  ps: readonly number[],
  population: Population,
): Percentile[] {
  return percentilesOfSorted(sortedFinite(values), ps, population);
}

export function summarize(values: Iterable<number | undefined>, population: Population): Summary {
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!isFiniteNumber(v)) continue;
    n += 1;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) return { population, n, min: undefined, max: undefined, avg: undefined, sum: undefined };
  return { population, n, min, max, avg: sum / n, sum };
}

/**
 * Overall loss: Σlost / Σexpected across everything given (all windows of all tracks of all
 * participants, say). Never a mean of per-item ratios, which would weigh a 10-packet window like a
 * 10 000-packet one.
 */
export function lossRatioOfSums(items: Iterable<LossCounts>): LossRatioOfSums {
  let packetsLost = 0;
  let packetsExpected = 0;
  for (const item of items) {
    packetsLost += item.packetsLost;
    packetsExpected += item.packetsExpected;
  }
  return {
    method: "ratio-of-sums",
    packetsLost,
    packetsExpected,
    value: packetsExpected > 0 ? packetsLost / packetsExpected : undefined,
  };
}

/** One ratio of sums per group (per participant, or per track), for per-group detail and percentiles. */
export function lossRatioByGroup<K>(groups: ReadonlyMap<K, Iterable<LossCounts>>): Map<K, LossRatioOfSums> {
  const out = new Map<K, LossRatioOfSums>();
  for (const [key, items] of groups) out.set(key, lossRatioOfSums(items));
  return out;
}

/**
 * Per-group loss, then a percentile over groups: each participant's (or track's) own Σlost/Σexpected
 * is one observation. This is what "95% of participants saw < x" means. Groups that expected nothing
 * have no ratio and are not in the population.
 */
export function lossRatioPercentile<K>(
  groups: ReadonlyMap<K, Iterable<LossCounts>>,
  p: number,
  population: "participants" | "tracks",
): Percentile {
  return percentile(
    [...lossRatioByGroup(groups).values()].map((r) => r.value),
    p,
    population,
  );
}

function percentilesOfSorted(
  sorted: readonly number[],
  ps: readonly number[],
  population: Population,
): Percentile[] {
  return ps.map((p) => {
    checkP(p);
    const n = sorted.length;
    if (n === 0) return emptyPercentile(p, population);
    return { method: "nearest-rank", p, population, n, value: sorted[rankOf(p, n) - 1] };
  });
}

function emptyPercentile(p: number, population: Population): Percentile {
  return { method: "nearest-rank", p, population, n: 0, value: undefined };
}

function sortedFinite(values: Iterable<number | undefined>): number[] {
  const out: number[] = [];
  for (const v of values) if (isFiniteNumber(v)) out.push(v);
  return out.sort((a, b) => a - b);
}

function isFiniteNumber(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v);
}

/**
 * A nearest-rank percentile over a population where some observations are right-censored: known
 * only to exceed a bound (a track that had received nothing when the run ended, a participant
 * still joining). `censored: true` means the rank landed on such an observation and `value` is a
 * lower bound ("> value"); otherwise `value` is an observed value (exact when every censored bound
 * is at least that value, an upper bound otherwise).
 */
export interface CensoredPercentile extends Percentile {
  readonly censored: boolean;
}

/**
 * Percentiles over observed values plus censored ones, each censored observation given by its
 * bound. `n` counts both, so a censored observation is never silently dropped. Censored
 * observations rank above every observed value (their true value is unknown and may be anything
 * above the bound); a rank that lands on them gives the rank-th smallest of all lower bounds
 * (observed values and bounds together), which the true percentile is at least.
 */
export function censoredPercentiles(
  observed: Iterable<number | undefined>,
  censoredBounds: Iterable<number | undefined>,
  ps: readonly number[],
  population: Population,
): CensoredPercentile[] {
  const exact = sortedFinite(observed);
  const bounds = sortedFinite(censoredBounds);
  const lower = [...exact, ...bounds].sort((a, b) => a - b);
  const n = lower.length;
  return ps.map((p) => {
    checkP(p);
    if (n === 0) return { ...emptyPercentile(p, population), censored: false };
    const rank = rankOf(p, n);
    const censored = rank > exact.length;
    return {
      method: "nearest-rank",
      p,
      population,
      n,
      value: (censored ? lower : exact)[rank - 1],
      censored,
    };
  });
}

/** Within the package: a percentile's p, refused outside [0, 100]. */
export function checkP(p: number): void {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
}

/** Nearest rank, 1-based: ceil(p/100 · n), at least 1 (within the package: the sketch's ranks too). */
export function rankOf(p: number, n: number): number {
  // p*n/100 is often meant to be an integer but lands a hair above it in binary floating point
  // (p = 0.07 * 100 gives 7.000000000000001); without the tolerance ceil would skip a rank.
  const exact = (p * n) / 100;
  return Math.min(n, Math.max(1, Math.ceil(exact - exact * Number.EPSILON * 4)));
}

/** One sampling window's latencies as every engine reports them: nearest-rank median, maximum, count. */
export interface WindowLatency {
  readonly p50: number;
  readonly max: number;
  readonly n: number;
}

/** The window's latency summary (`WindowSample.latencyS`), undefined when it saw none. */
export function windowLatency(values: readonly number[]): WindowLatency | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: sorted[Math.ceil(sorted.length / 2) - 1] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    n: sorted.length,
  };
}

/**
 * A participant's round trip for one window from its latest measurements (each PeerConnection's
 * candidate pair, each published stream's RTCP receiver report): their median, the mean of the
 * middle two for an even count; undefined for none. They all time the one path to the SFU, so the
 * largest of them is not a worse path but the luckiest draw: under jitter it read the path's median
 * plus half a standard deviation and more (docs/observability.md 5.1).
 */
export function windowRoundTrip(latest: readonly number[]): number | undefined {
  const sorted = [...latest].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
