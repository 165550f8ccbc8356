import type { Measurements } from "@livekit-swarm/gate";
import type { SwarmMetricName } from "@livekit-swarm/schema";

/**
 * What a storm did to the media swarm it ran beside: the media's figures over the hold before the
 * storm, while it went on, and after it, side by side. No clock, no I/O.
 */

/** Epoch ms bounds of the three parts of the hold; each window is [from, to). */
export interface StormWindows {
  readonly before: readonly [number, number];
  readonly during: readonly [number, number];
  readonly after: readonly [number, number];
}

export interface ImpactRow {
  readonly figure: string;
  readonly metric: string;
  readonly unit: "ratio" | "seconds" | "count";
  readonly before: number | undefined;
  readonly during: number | undefined;
  readonly after: number | undefined;
}

/** p95 over sampling windows: one observation per track (or participant) and window, as the gate's "windows". */
const WINDOWED: readonly (readonly [string, SwarmMetricName, "ratio" | "seconds"])[] = [
  ["loss p95", "lkswarm_inbound_loss_ratio", "ratio"],
  ["jitter p95", "lkswarm_inbound_jitter_seconds", "seconds"],
  ["round-trip time p95", "lkswarm_round_trip_time_seconds", "seconds"],
  ["end-to-end latency p95", "lkswarm_end_to_end_latency_seconds", "seconds"],
];

const COUNTED: readonly (readonly [string, string])[] = [
  ["reconnects", "lkswarm_reconnects_total"],
  ["disconnects", "lkswarm_disconnects_total"],
  ["media join failures", "lkswarm_join_failures_total"],
];

/** The media figures per window; a windowed figure nothing observed (no probes, say) is left out. */
export function stormImpact(m: Measurements, w: StormWindows): ImpactRow[] {
  const rows: ImpactRow[] = [];
  const parts = (read: (fromMs: number, toMs: number) => number | undefined) => ({
    before: read(...w.before),
    during: read(...w.during),
    after: read(...w.after),
  });
  for (const [figure, metric, unit] of WINDOWED) {
    const row = parts((fromMs, toMs) => m.figure(metric, "windows", { fromMs, toMs }).p95.value);
    if (row.before !== undefined || row.during !== undefined || row.after !== undefined)
      rows.push({ figure, metric, unit, ...row });
  }
  for (const [figure, metric] of COUNTED)
    rows.push({
      figure,
      metric,
      unit: "count",
      ...parts((fromMs, toMs) => m.count(metric, { fromMs, toMs }).total),
    });
  return rows;
}

function show(v: number | undefined, unit: ImpactRow["unit"]): string {
  if (v === undefined) return "-";
  if (unit === "ratio") return `${(v * 100).toFixed(2)} %`;
  if (unit === "seconds") return `${(v * 1000).toFixed(1)} ms`;
  return String(v);
}

/** The impact as a markdown section of the run's report.md. */
export function impactSection(rows: readonly ImpactRow[], w: StormWindows): string {
  const s = (r: readonly [number, number]): string => ((r[1] - r[0]) / 1000).toFixed(1);
  return [
    "## What the storm did to the media",
    "",
    `The hold before the storm (${s(w.before)} s), during it (${s(w.during)} s) and after it (${s(w.after)} s).`,
    "",
    "| media figure | before | during the storm | after |",
    "| --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${show(r.before, r.unit)} | ${show(r.during, r.unit)} | ${show(r.after, r.unit)} |`,
    ),
    "",
  ].join("\n");
}
