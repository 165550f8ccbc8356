/**
 * The timeline plot of a drill report: one row per participant, one column per time bucket around T0.
 * Pure: a journal in, fixed-width text out.
 */
import type { DrillJournal, FaultRun, TimelineEvent } from "./journal.js";

/** The widest plot, in columns: it must stay readable in a terminal and a GitHub comment. */
const MAX_COLUMNS = 100;
/** At least this much before T0 is shown, so the steady state before the fault is visible. */
const MIN_LEAD_MS = 10_000;
const TICK_EVERY = 10;

type Link = "absent" | "connected" | "reconnecting" | "lost";

interface ParticipantState {
  link: Link;
  /** Subscribed tracks stalled and not yet resumed. */
  stalls: number;
}

/** Cell glyphs, mildest first: a cell shows the worst state its participant was in during the bucket. */
const GLYPHS = [" ", "█", "░", "~", "x"] as const;
type Glyph = (typeof GLYPHS)[number];

function glyph(state: ParticipantState): Glyph {
  switch (state.link) {
    case "absent":
      return " ";
    case "lost":
      return "x";
    case "reconnecting":
      return "~";
    case "connected":
      return state.stalls > 0 ? "░" : "█";
  }
}

function worse(a: Glyph, b: Glyph): Glyph {
  return GLYPHS.indexOf(a) >= GLYPHS.indexOf(b) ? a : b;
}

function apply(state: ParticipantState, event: TimelineEvent): void {
  switch (event.kind) {
    case "joined":
    case "reconnected":
      state.link = "connected";
      break;
    case "reconnecting":
      state.link = "reconnecting";
      break;
    case "disconnected":
      state.link = "lost";
      break;
    case "media-stalled":
      state.stalls += 1;
      break;
    case "media-resumed":
      state.stalls = Math.max(0, state.stalls - 1);
      break;
    default:
      break;
  }
}

/** 1 s, 2 s, 5 s, 10 s, 20 s, 50 s, 100 s... (from 100 ms for the HTML chart's finer grain) */
function* bucketSizes(smallestMs: 100 | 1000): Generator<number> {
  for (let unit = smallestMs; ; unit *= 10) {
    yield unit;
    yield 2 * unit;
    yield 5 * unit;
  }
}

interface PlotAxis {
  readonly startMs: number;
  readonly bucketMs: number;
  readonly columns: number;
  /** The column holding t = 0. */
  readonly t0Column: number;
}

function plotAxis(journal: DrillJournal, maxColumns = MAX_COLUMNS, smallestMs: 100 | 1000 = 1000): PlotAxis {
  let firstMs = -MIN_LEAD_MS;
  let lastMs = 0;
  for (const e of journal.timeline) {
    firstMs = Math.min(firstMs, e.tMs);
    lastMs = Math.max(lastMs, e.tMs);
  }
  for (const f of journal.faults) {
    lastMs = Math.max(lastMs, f.confirmedMs ?? 0, f.revertedMs ?? 0);
  }
  if (journal.t0 !== null) {
    const endMs = Date.parse(journal.end) - Date.parse(journal.t0);
    if (Number.isFinite(endMs)) lastMs = Math.max(lastMs, endMs);
  }
  for (const bucketMs of bucketSizes(smallestMs)) {
    const startMs = Math.floor(firstMs / bucketMs) * bucketMs;
    const columns = Math.floor((lastMs - startMs) / bucketMs) + 1;
    if (columns <= maxColumns) return { startMs, bucketMs, columns, t0Column: -startMs / bucketMs };
  }
  throw new Error("unreachable: bucket sizes grow without bound");
}

function tickLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  return s === 0 ? "0s" : `${s > 0 ? "+" : "-"}${Math.abs(s)}s`;
}

function participantCells(events: readonly TimelineEvent[], axis: PlotAxis): string {
  // A participant whose first sign of life is a join before T0 was not there before it; anyone else
  // (no events before T0, or a first event that is not a join) was connected when the plot starts.
  const first = events[0];
  const state: ParticipantState = {
    link: first !== undefined && first.kind === "joined" && first.tMs < 0 ? "absent" : "connected",
    stalls: 0,
  };
  let next = 0;
  let cells = "";
  for (let column = 0; column < axis.columns; column++) {
    const from = axis.startMs + column * axis.bucketMs;
    const to = from + axis.bucketMs;
    for (let e = events[next]; e !== undefined && e.tMs <= from; e = events[++next]) apply(state, e);
    let cell = glyph(state);
    for (let e = events[next]; e !== undefined && e.tMs < to; e = events[++next]) {
      apply(state, e);
      cell = worse(cell, glyph(state));
    }
    cells += cell;
  }
  return cells;
}

function faultCells(faults: readonly FaultRun[], axis: PlotAxis): string {
  const cells: string[] = Array.from({ length: axis.columns }, () => " ");
  const mark = (ms: number | null, symbol: "▼" | "▲"): void => {
    if (ms === null) return;
    const column = Math.floor((ms - axis.startMs) / axis.bucketMs);
    const current = cells[column];
    if (current === undefined) return;
    cells[column] = current === " " || current === symbol ? symbol : "◆";
  };
  for (const f of faults) {
    mark(f.confirmedMs, "▼");
    mark(f.revertedMs, "▲");
  }
  return cells.join("");
}

/** Each participant's cells: the worst state it was in during each bucket of `axis`. */
function participantRows(journal: DrillJournal, axis: PlotAxis): { label: string; cells: string }[] {
  const bySubject = new Map<string, TimelineEvent[]>();
  for (const e of journal.timeline) {
    const list = bySubject.get(e.subject);
    if (list === undefined) bySubject.set(e.subject, [e]);
    else list.push(e);
  }
  for (const list of bySubject.values()) list.sort((a, b) => a.tMs - b.tMs);
  return journal.participants.map((p) => ({
    label: `${p.room}/${p.identity}`,
    cells: participantCells(
      bySubject.get(`${p.room}/${p.identity}`) ?? bySubject.get(p.identity) ?? [],
      axis,
    ),
  }));
}

/** Participants per state and bucket around T0, each counted in the worst state of its bucket. */
export interface StateCounts {
  /** Bucket starts, ms after T0. */
  readonly tMs: readonly number[];
  readonly connected: readonly number[];
  readonly stalled: readonly number[];
  readonly reconnecting: readonly number[];
  readonly lost: readonly number[];
}

/** The same replay as the text plot, at up to `maxColumns` buckets: the HTML report's timeline. */
export function stateCounts(journal: DrillJournal, maxColumns: number): StateCounts {
  const axis = plotAxis(journal, maxColumns, 100);
  const rows = participantRows(journal, axis);
  const count = (g: Glyph): number[] =>
    Array.from({ length: axis.columns }, (_, c) => rows.filter((r) => r.cells[c] === g).length);
  return {
    tMs: Array.from({ length: axis.columns }, (_, c) => axis.startMs + c * axis.bucketMs),
    connected: count("█"),
    stalled: count("░"),
    reconnecting: count("~"),
    lost: count("x"),
  };
}

/**
 * A fixed-width chart, one row per participant and one column per time bucket, of who was connected,
 * stalled, reconnecting or lost around T0, with the faults marked above. Plain text, no code fence.
 */
export function renderTimelinePlot(journal: DrillJournal): string {
  const axis = plotAxis(journal);
  const rows = participantRows(journal, axis);
  const faults = faultCells(journal.faults, axis);
  const width = Math.max("faults".length, ...rows.map((r) => r.label.length));
  const line = (label: string, cells: string): string => `${label.padEnd(width)}  ${cells}`.trimEnd();

  let labels = "";
  const ticks: string[] = Array.from({ length: axis.columns }, () => "-");
  for (let column = 0; column < axis.columns; column++) {
    const offset = column - axis.t0Column;
    if (offset % TICK_EVERY !== 0) continue;
    ticks[column] = offset === 0 ? "|" : "+";
    if (column === 0 || labels.length < column)
      labels = labels.padEnd(column) + tickLabel(offset * axis.bucketMs);
  }

  const bucket = `${String(axis.bucketMs / 1000)} s`;
  const legend = [
    "█ connected, media flowing   ░ connected, subscribed media stalled   ~ reconnecting",
    "x disconnected or lost       (blank) not joined yet",
    `▼ fault confirmed   ▲ fault reverted${faults.includes("◆") ? "   ◆ confirmed and reverted" : ""}   | T0 (first fault confirmed)   + every ${TICK_EVERY} columns`,
    `one column = ${bucket}; a cell shows the worst state within its ${bucket}`,
  ];
  return [
    line("", labels),
    line("", ticks.join("")),
    line("faults", faults),
    ...rows.map((r) => line(r.label, r.cells)),
    "",
    ...legend,
  ].join("\n");
}
