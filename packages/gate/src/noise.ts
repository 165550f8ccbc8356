/**
 * Run-to-run noise: whether two runs' per-participant (or per-track) values differ by more than chance.
 * Mann-Whitney U with the normal approximation (tie-corrected, with continuity correction): no
 * assumption about the shape of the distributions, no randomness, so the same two runs always get
 * the same answer.
 */
export interface NoiseTest {
  readonly test: "mann-whitney";
  /** Sizes of the two samples. */
  readonly nA: number;
  readonly nB: number;
  readonly u: number;
  readonly z: number;
  /** Two-sided p-value: the chance of a difference at least this large between runs of the same system. */
  readonly p: number;
  /** p >= alpha: the difference is within run-to-run noise. */
  readonly withinNoise: boolean;
}

/** The significance level: a difference with p below it is called real. */
export const NOISE_ALPHA = 0.05;

/** Undefined when either sample is empty: nothing can be said. */
export function mannWhitney(
  a: readonly number[],
  b: readonly number[],
  alpha: number = NOISE_ALPHA,
): NoiseTest | undefined {
  const xs = a.filter(Number.isFinite);
  const ys = b.filter(Number.isFinite);
  const nA = xs.length;
  const nB = ys.length;
  if (nA === 0 || nB === 0) return undefined;
  const all = [...xs.map((v) => ({ v, a: true })), ...ys.map((v) => ({ v, a: false }))].sort(
    (p, q) => p.v - q.v,
  );
  const n = all.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1]?.v === all[i]?.v) j++;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (all[k]?.a === true) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (nA * (nA + 1)) / 2;
  const mean = (nA * nB) / 2;
  const variance = ((nA * nB) / 12) * (n + 1 - (n > 1 ? tieTerm / (n * (n - 1)) : 0));
  const z = variance > 0 ? Math.max(0, Math.abs(u - mean) - 0.5) / Math.sqrt(variance) : 0;
  const p = Math.min(1, 2 * (1 - normalCdf(z)));
  return { test: "mann-whitney", nA, nB, u, z, p, withinNoise: p >= alpha };
}

/** Φ(z) through erf (Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  if (z === 0) return 0.5;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
