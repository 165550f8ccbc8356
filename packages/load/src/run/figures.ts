import type { Measurements } from "@livekit-swarm/gate";
import type { SwarmMetricName } from "@livekit-swarm/schema";
import { QuantileSketch, SKETCH_EXACT_LIMIT, type Population } from "@livekit-swarm/stats";
import type { Kind } from "./messages.js";

/** One figure of the summary: a catalog metric's distribution over a stated population. */
export interface Figure {
  readonly metric: string;
  readonly label: string;
  readonly kind?: Kind;
  readonly unit: "s" | "ratio" | "bps" | "count";
  readonly population: Population;
  readonly n: number;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly max: number | undefined;
  readonly min: number | undefined;
  readonly avg: number | undefined;
  /**
   * Present when some of the population had no value by the end of the run (a track that never
   * received, a participant that never joined): `n` counts them, and the statistics listed in
   * `above` landed on one, so they are lower bounds ("> value"). `avg` is then undefined.
   */
  readonly censored?: { readonly n: number; readonly above: readonly CensorableStat[] };
  /**
   * Present when p50, p95 and p99 came from a bucketed quantile sketch (more windows than it holds
   * raw: docs/observability.md 6): each is within `relativeError` of the exact nearest-rank value.
   * n, min, max and avg stay exact.
   */
  readonly sketched?: { readonly relativeError: number };
}

export type CensorableStat = "p50" | "p95" | "p99" | "max";

/** What a figure is of, in summary.json's key order: the fields every figure starts with. */
function figureHead(
  metric: SwarmMetricName,
  label: string,
  unit: Figure["unit"],
  population: Population,
  kind: Kind | undefined,
): Pick<Figure, "metric" | "label" | "kind" | "unit" | "population"> {
  return { metric, label, ...(kind !== undefined ? { kind } : {}), unit, population };
}

/** A catalog metric's figure from the measurements the gate evaluates, censored values marked. */
export function measuredFigure(
  measurements: Measurements,
  metric: SwarmMetricName,
  label: string,
  unit: Figure["unit"],
  population: Population,
  kind?: Kind,
): Figure {
  const f = measurements.figure(metric, population, kind !== undefined ? { where: { kind } } : {});
  const named = { p50: f.p50, p95: f.p95, p99: f.p99, max: f.max };
  return {
    ...figureHead(metric, label, unit, population, kind),
    n: f.n,
    p50: f.p50.value,
    p95: f.p95.value,
    p99: f.p99.value,
    max: f.max.value,
    min: f.min.value,
    avg: f.censored > 0 ? undefined : f.avg.value,
    ...(f.censored > 0
      ? {
          censored: {
            n: f.censored,
            above: (Object.keys(named) as CensorableStat[]).filter((s) => named[s].censored),
          },
        }
      : {}),
    ...(f.exact ? {} : { sketched: { relativeError: f.relativeError } }),
  };
}

export function bitrateFigure(
  metric: SwarmMetricName,
  label: string,
  values: readonly (number | undefined)[],
): Figure {
  return valueFigure(metric, label, "bps", "participants", values);
}

export function valueFigure(
  metric: SwarmMetricName,
  label: string,
  unit: Figure["unit"],
  population: Population,
  values: readonly (number | undefined)[] | QuantileSketch,
  kind?: Kind,
): Figure {
  const sketch = values instanceof QuantileSketch ? values : sketchOf(values);
  const [p50, p95, p99] = sketch.percentiles([50, 95, 99], population);
  const n = sketch.count;
  return {
    ...figureHead(metric, label, unit, population, kind),
    n,
    p50: p50?.value,
    p95: p95?.value,
    p99: p99?.value,
    max: sketch.max,
    min: sketch.min,
    avg: n > 0 ? sketch.sum / n : undefined,
    ...(sketch.exact ? {} : { sketched: { relativeError: sketch.relativeError } }),
  };
}

/** Values in a sketch that holds them all raw: exact percentiles, however many. */
function sketchOf(values: readonly (number | undefined)[]): QuantileSketch {
  const sketch = new QuantileSketch(undefined, Math.max(SKETCH_EXACT_LIMIT, values.length));
  for (const v of values) sketch.add(v);
  return sketch;
}
