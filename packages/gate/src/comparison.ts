/**
 * One run against another, figure by figure: the model `swarm compare`, report.html and report.md
 * all render, so the three never disagree. Pure: two run records in, rows out; the renderers here
 * are the terminal's and markdown's, report.html's lives with the page (load's report/comparison).
 */
import { metricByName } from "@livekit-swarm/schema";
import type { Population } from "@livekit-swarm/stats";
import { findSamples, formatFigure, noisePopulation, noiseText, type RunRecord } from "./baseline.js";
import { mannWhitney, type NoiseTest } from "./noise.js";
import { TOTALS, type Direction } from "./totals.js";

/**
 * worse / better: a change in the direction that is (or is not) a regression, beyond run-to-run
 * noise or without samples to test it on. noise: the Mann-Whitney test finds no difference.
 * same: an equal value. missing: one run lacks the figure.
 */
export type Change = "worse" | "better" | "noise" | "same" | "missing";

export interface ComparedFigure {
  readonly label: string;
  /** The catalog metric, when the figure is one (totals like "reconnects" are counts of the run). */
  readonly metric: string | undefined;
  readonly kind: string | undefined;
  /** A percentile of the figure's population, or the run's total (a count or a ratio of sums). */
  readonly stat: "p50" | "p95" | "total";
  readonly population: Population | "run";
  readonly unit: string;
  readonly direction: Direction;
  readonly baseline: number | undefined;
  readonly current: number | undefined;
  /** The value is a lower bound: part of the population never got one (a censored figure). */
  readonly baselineBound: boolean;
  readonly currentBound: boolean;
  /** current - baseline, in the unit (a ratio's delta is in points: 0.01 is 1 pt). */
  readonly delta: number | undefined;
  /** delta / baseline; undefined when the baseline is 0. */
  readonly deltaRatio: number | undefined;
  /** Undefined when either run carries no per-participant values for it. */
  readonly noise: NoiseTest | undefined;
  readonly change: Change;
}

/** A run compared: its file, its id, and why its figures are not a whole measurement (RunRecord's `partial`). */
export interface ComparedRun {
  readonly file: string;
  readonly runId: string | undefined;
  readonly partial?: string;
}

export interface Comparison {
  readonly baseline: ComparedRun;
  readonly current: ComparedRun;
  readonly rows: readonly ComparedFigure[];
  /** How many rows of each change. */
  readonly counts: Readonly<Record<Change, number>>;
}

const STATS = ["p50", "p95"] as const;

/** The change a delta is, given which way is worse and what the noise test said. */
export function changeOf(
  delta: number | undefined,
  direction: Direction,
  noise: NoiseTest | undefined,
): Change {
  if (delta === undefined) return "missing";
  if (delta === 0) return "same";
  if (noise?.withinNoise === true) return "noise";
  return delta > 0 === (direction === "higher-is-worse") ? "worse" : "better";
}

function row(
  head: Pick<ComparedFigure, "label" | "metric" | "kind" | "stat" | "population" | "unit" | "direction">,
  baseline: number | undefined,
  current: number | undefined,
  noise: NoiseTest | undefined,
  bounds: { readonly baseline: boolean; readonly current: boolean } = { baseline: false, current: false },
): ComparedFigure {
  const delta = baseline !== undefined && current !== undefined ? current - baseline : undefined;
  return {
    ...head,
    baseline,
    current,
    baselineBound: bounds.baseline,
    currentBound: bounds.current,
    delta,
    deltaRatio:
      delta !== undefined && baseline !== undefined && baseline !== 0 ? delta / baseline : undefined,
    noise,
    change: changeOf(delta, head.direction, noise),
  };
}

function noiseOf(
  baseline: RunRecord,
  current: RunRecord,
  metric: string,
  population: Population | undefined,
  where: Readonly<Record<string, string>>,
): NoiseTest | undefined {
  const pop = noisePopulation(population, metric);
  const a = findSamples(baseline.samples, metric, pop, where);
  const b = findSamples(current.samples, metric, pop, where);
  return a !== undefined && b !== undefined ? mannWhitney(a, b) : undefined;
}

/** Seconds and ratios are worse higher; bitrate, frame rate and height are worse lower. */
function figureDirection(unit: string | undefined): Direction {
  return unit === "bps" || unit === "count" ? "lower-is-worse" : "higher-is-worse";
}

/**
 * The current run against the baseline: the run's totals first (joined, failures, reconnects, loss
 * of all packets...), then p50 and p95 of every figure both summaries have, each with the
 * Mann-Whitney test of the per-participant (or per-track) values where both runs recorded them.
 */
export function compareRuns(baseline: RunRecord, current: RunRecord): Comparison {
  const rows: ComparedFigure[] = [];
  for (const t of TOTALS) {
    const a = baseline.totals[t.name];
    const b = current.totals[t.name];
    if (a === undefined && b === undefined) continue;
    const noise =
      t.noise === undefined
        ? undefined
        : noiseOf(baseline, current, t.noise.metric, t.noise.population, t.noise.where);
    rows.push(
      row(
        {
          label: t.label,
          metric: t.noise?.metric,
          kind: t.kind,
          stat: "total",
          population: "run",
          unit: t.unit,
          direction: t.direction,
        },
        a,
        b,
        noise,
      ),
    );
  }
  for (const fb of current.figures) {
    const fa = baseline.figures.find(
      (f) => f.metric === fb.metric && f.population === fb.population && f.kind === fb.kind,
    );
    if (fa === undefined || (fa.n === 0 && fb.n === 0)) continue;
    // a figure's kind is a filter only where the metric has the label (first frame is video-only)
    const kindLabel = metricByName(fb.metric)?.labels.includes("kind");
    const where: Record<string, string> =
      fb.kind !== undefined && kindLabel === true ? { kind: fb.kind } : {};
    const noise = noiseOf(baseline, current, fb.metric, fb.population, where);
    const unit = fb.unit ?? metricByName(fb.metric)?.unit ?? "count";
    for (const stat of STATS) {
      rows.push(
        row(
          {
            label: fb.label ?? fb.metric,
            metric: fb.metric,
            kind: fb.kind,
            stat,
            population: fb.population,
            unit,
            direction: figureDirection(unit),
          },
          fa[stat],
          fb[stat],
          noise,
          {
            baseline: fa.censored?.above.includes(stat) === true,
            current: fb.censored?.above.includes(stat) === true,
          },
        ),
      );
    }
  }
  const counts: Record<Change, number> = { worse: 0, better: 0, noise: 0, same: 0, missing: 0 };
  for (const r of rows) counts[r.change]++;
  return {
    baseline: comparedRun(baseline),
    current: comparedRun(current),
    rows,
    counts,
  };
}

/** The figure's value, `> ` when it is a lower bound. */
export function comparedValue(r: ComparedFigure, side: "baseline" | "current"): string {
  const bound = side === "baseline" ? r.baselineBound : r.currentBound;
  return `${bound ? "> " : ""}${formatFigure(r[side], r.unit)}`;
}

/** The absolute delta: points for a ratio ("+1.20 pt"), the unit otherwise. */
export function deltaText(r: ComparedFigure): string {
  if (r.delta === undefined) return "-";
  if (r.unit === "ratio") return `${r.delta > 0 ? "+" : ""}${(r.delta * 100).toFixed(2)} pt`;
  return formatFigure(r.delta, r.unit, true);
}

/** The delta relative to the baseline: "+12.5%"; "-" when the baseline is 0. */
export function relativeText(r: ComparedFigure): string {
  if (r.deltaRatio === undefined) return r.delta === undefined || r.delta === 0 ? "-" : "new";
  return `${r.deltaRatio > 0 ? "+" : ""}${(r.deltaRatio * 100).toFixed(1)}%`;
}

/** The change as a word a reader scans for. */
export function changeText(r: ComparedFigure): string {
  switch (r.change) {
    case "worse":
      return "WORSE";
    case "better":
      return "better";
    case "noise":
      return "within noise";
    case "same":
      return "same";
    case "missing":
      return "not in both";
  }
}

/** "2 worse, 1 better, 14 within noise, 5 the same" (the kinds that occur). */
export function comparisonHeadline(c: Comparison): string {
  const parts = [
    c.counts.worse > 0 ? `${c.counts.worse} worse` : "",
    c.counts.better > 0 ? `${c.counts.better} better` : "",
    c.counts.noise > 0 ? `${c.counts.noise} within noise` : "",
    c.counts.same > 0 ? `${c.counts.same} the same` : "",
    c.counts.missing > 0 ? `${c.counts.missing} in one run only` : "",
  ].filter((p) => p !== "");
  return parts.length === 0 ? "nothing to compare" : parts.join(", ");
}

function comparedRun(r: RunRecord): ComparedRun {
  return { file: r.file, runId: r.runId, ...(r.partial !== undefined ? { partial: r.partial } : {}) };
}

/** The run's file and id, and, for a run that was not whole, what it was: a reader weighs its figures by it. */
export function comparedRunName(side: ComparedRun): string {
  return (
    `${side.file}${side.runId !== undefined ? ` (run ${side.runId})` : ""}` +
    (side.partial !== undefined ? `: NOT A WHOLE RUN, it ${side.partial}` : "")
  );
}

/** The columns every renderer shows, in order: header and cell text. */
export const COMPARISON_COLUMNS: readonly {
  readonly header: string;
  readonly text: (r: ComparedFigure) => string;
  /** Numbers: right-aligned in the terminal. */
  readonly numeric?: boolean;
}[] = [
  { header: "figure", text: (r) => r.label },
  { header: "kind", text: (r) => r.kind ?? "" },
  { header: "over", text: (r) => r.population },
  { header: "stat", text: (r) => r.stat },
  { header: "baseline", text: (r) => comparedValue(r, "baseline"), numeric: true },
  { header: "this run", text: (r) => comparedValue(r, "current"), numeric: true },
  { header: "delta", text: deltaText, numeric: true },
  { header: "relative", text: relativeText, numeric: true },
  { header: "change", text: changeText },
  // "no samples": coloured by direction alone, untested (bitrates, counts of the whole run)
  { header: "noise (Mann-Whitney)", text: (r) => noiseText(r.noise) },
];

/** The comparison as a plain-text table for the terminal. */
export function comparisonTable(c: Comparison): string {
  const body = c.rows.map((r) => COMPARISON_COLUMNS.map((col) => col.text(r)));
  const widths = COMPARISON_COLUMNS.map((col, i) =>
    Math.max(col.header.length, ...body.map((cells) => (cells[i] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) =>
        COMPARISON_COLUMNS[i]?.numeric === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [
    `baseline: ${comparedRunName(c.baseline)}`,
    `this run: ${comparedRunName(c.current)}`,
    `against the baseline: ${comparisonHeadline(c)}`,
    "",
    line(COMPARISON_COLUMNS.map((col) => col.header)),
    ...body.map(line),
    "",
  ].join("\n");
}

const MARK: Record<Change, string> = {
  worse: "🔴",
  better: "🟢",
  noise: "⚪",
  same: "⚪",
  missing: "",
};

/** The comparison as markdown, for report.md and GitHub's step summary. */
export function comparisonMarkdown(c: Comparison): string {
  const cell = (s: string): string => s.replace(/\|/g, "\\|");
  const header = COMPARISON_COLUMNS.map((col) => col.header);
  return [
    `### Against the baseline: ${comparisonHeadline(c)}`,
    "",
    `Baseline ${cell(comparedRunName(c.baseline))}.`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${COMPARISON_COLUMNS.map((col) => (col.numeric === true ? "---:" : "---")).join(" | ")} |`,
    ...c.rows.map(
      (r) =>
        `| ${COMPARISON_COLUMNS.map((col) => {
          const text = cell(col.text(r));
          return col.header === "change" && MARK[r.change] !== "" ? `${MARK[r.change]} ${text}` : text;
        }).join(" | ")} |`,
    ),
    "",
  ].join("\n");
}
