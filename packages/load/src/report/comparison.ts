import {
  COMPARISON_COLUMNS,
  comparedRunName,
  comparisonHeadline,
  type ComparedFigure,
  type Comparison,
} from "@livekit-swarm/gate";
import { escapeHtml, htmlTable, type Column } from "./page.js";

/** The cells a reader scans for colour: red worse, green better, grey within noise or the same. */
const COLOURED = new Set(["delta", "relative", "change"]);

/**
 * report.html's side-by-side table of a run against its baseline: the same rows and cells as
 * `swarm compare` prints (gate's COMPARISON_COLUMNS), with the delta, the relative change and the
 * change word coloured by what the change is.
 */
export function comparisonSection(c: Comparison): string {
  const columns: Column<ComparedFigure>[] = COMPARISON_COLUMNS.map((col) => ({
    header: col.header,
    text: col.text,
    ...(COLOURED.has(col.header) ? { className: (r: ComparedFigure) => r.change } : {}),
  }));
  const name = comparedRunName;
  return [
    `<h2 id="baseline">Against the baseline: ${escapeHtml(comparisonHeadline(c))}</h2>`,
    `<p class="meta">${escapeHtml(`baseline ${name(c.baseline)}; this run ${name(c.current)}`)}</p>`,
    `<p class="note">Every total of the run and p50 and p95 of every figure both runs have. Red: worse, beyond run-to-run noise (Mann-Whitney U over the per-participant or per-track values, p &lt; 0.05) or with no values to test; green: better; grey: within noise or the same. Ratios differ in points (pt).</p>`,
    // not in a scrolling box: a few dozen rows, and a screenshot of the page should show them all
    htmlTable(columns, c.rows, { empty: "No figure is in both runs.", id: "comparison" }),
  ].join("\n");
}
