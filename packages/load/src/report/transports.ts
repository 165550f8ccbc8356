import type { GroupFigures } from "../run/groups.js";
import { formatValue } from "./format.js";

/**
 * The per-transport rows every report shows (terminal table, report.md, report.html): for each
 * class of selected candidate pair, who joined over it and what it cost them. One set of cells, so
 * the three never disagree.
 */
const COLUMNS: readonly { readonly header: string; readonly cell: (g: GroupFigures) => string }[] = [
  { header: "transport", cell: (g) => g.name },
  // a row of participants that got no path ("tcp-only none") says how many did not join
  {
    header: "participants",
    cell: (g) => (g.joined === g.participants ? String(g.joined) : `${g.joined} of ${g.participants}`),
  },
  { header: "join p95", cell: (g) => formatValue(g.joinP95S, "s") },
  { header: "ICE p95", cell: (g) => formatValue(g.iceP95S, "s") },
  { header: "loss", cell: (g) => formatValue(g.lossRatio, "ratio") },
  { header: "jitter p95", cell: (g) => formatValue(g.jitterP95S, "s") },
  { header: "reconnects", cell: (g) => String(g.reconnects) },
];

export function transportCells(groups: readonly GroupFigures[]): { header: string[]; rows: string[][] } {
  return {
    header: COLUMNS.map((c) => c.header),
    rows: groups.map((g) => COLUMNS.map((c) => c.cell(g))),
  };
}

/** Aligned text for the terminal; empty when no engine saw a selected pair. */
export function transportText(groups: readonly GroupFigures[]): string {
  if (groups.length === 0) return "";
  const { header, rows } = transportCells(groups);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i > 0 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  return [fmt(header), ...rows.map(fmt)].join("\n");
}

/** A markdown section for report.md; empty when no engine saw a selected pair. */
export function transportMarkdown(groups: readonly GroupFigures[]): string {
  if (groups.length === 0) return "";
  const { header, rows } = transportCells(groups);
  return [
    "### Per transport",
    "",
    "The class of each participant's selected ICE candidate pair: direct UDP, ICE/TCP, or TURN over UDP, TCP or TLS.",
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
  ].join("\n");
}
