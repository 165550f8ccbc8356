import type { GroupFigures } from "../run/groups.js";
import { formatValue } from "./format.js";

/**
 * The per-group rows every report shows (terminal table, report.md, report.html) for transports
 * and engines: who joined in the group and what it cost them. One set of cells, so the three never
 * disagree.
 */
const COLUMNS: readonly { readonly header: string; readonly cell: (g: GroupFigures) => string }[] = [
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

type GroupColumn = (typeof COLUMNS)[number];

/**
 * Per engine, the frame rate beside the rest: decoded (native, browser) or assembled from RTP
 * (lean), which part ways under heavy loss (docs/observability.md 4.3).
 */
const FRAME_RATE: GroupColumn = { header: "fps p50", cell: (g) => frameRateText(g) };

/** A group's median frame rate to one decimal, "-" without video: the per-engine cell everywhere. */
export function frameRateText(g: GroupFigures): string {
  return g.frameRateP50 === undefined ? "-" : g.frameRateP50.toFixed(1);
}

/** What a group section is about: its name column and, for report.md, its title and what it means. */
interface GroupSection {
  readonly nameHeader: string;
  readonly title: string;
  readonly note: string;
  /** Columns after the common ones. */
  readonly extra?: readonly GroupColumn[];
}

const TRANSPORTS: GroupSection = {
  nameHeader: "transport",
  title: "Per transport",
  note: "The class of each participant's selected ICE candidate pair: direct UDP, ICE/TCP, or TURN over UDP, TCP or TLS.",
};

const ENGINES: GroupSection = {
  nameHeader: "engine",
  title: "Per engine",
  note: "The bulk and the probes of a mixed run (or a run with browser probes) on the same path: their loss should agree. Frame rates are decoded ones, but lean's, which are frames received whole or not: under heavy loss lean's reads above a decoder's.",
  extra: [FRAME_RATE],
};

function groupCells(
  groups: readonly GroupFigures[],
  section: GroupSection,
): { header: string[]; rows: string[][] } {
  const columns = [...COLUMNS, ...(section.extra ?? [])];
  return {
    header: [section.nameHeader, ...columns.map((c) => c.header)],
    rows: groups.map((g) => [g.name, ...columns.map((c) => c.cell(g))]),
  };
}

function groupText(groups: readonly GroupFigures[], section: GroupSection): string {
  const { header, rows } = groupCells(groups, section);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i > 0 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  return [fmt(header), ...rows.map(fmt)].join("\n");
}

function groupMarkdown(groups: readonly GroupFigures[], section: GroupSection): string {
  const { header, rows } = groupCells(groups, section);
  return [
    `### ${section.title}`,
    "",
    section.note,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
  ].join("\n");
}

/** Aligned text for the terminal; empty when no engine saw a selected pair. */
export function transportText(groups: readonly GroupFigures[]): string {
  return groups.length === 0 ? "" : groupText(groups, TRANSPORTS);
}

/** A markdown section for report.md; empty when no engine saw a selected pair. */
export function transportMarkdown(groups: readonly GroupFigures[]): string {
  return groups.length === 0 ? "" : groupMarkdown(groups, TRANSPORTS);
}

/** Aligned text for the terminal; empty when the run had one engine (the totals say it all). */
export function engineText(groups: readonly GroupFigures[]): string {
  return groups.length < 2 ? "" : groupText(groups, ENGINES);
}

/** A markdown section for report.md; empty when the run had one engine. */
export function engineMarkdown(groups: readonly GroupFigures[]): string {
  return groups.length < 2 ? "" : groupMarkdown(groups, ENGINES);
}

/** report.html's note under "Per engine". */
export const ENGINES_NOTE = ENGINES.note;
