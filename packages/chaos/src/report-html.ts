/**
 * report.html of a drill, beside report.md: the verdict and expectations first, participants by
 * state around T0 with the faults marked, recovery per population and per room, every participant.
 * Pure: a journal and uPlot's assets in, HTML out.
 */
import {
  banner,
  escapeHtml,
  chartSlot,
  htmlPage,
  htmlTable,
  type ChartSpec,
  type PageAssets,
} from "@livekit-swarm/load";
import type {
  Distribution,
  DrillJournal,
  ExpectationResult,
  FaultRun,
  ParticipantOutcome,
  RoomOutcome,
  TransportAggregate,
} from "./journal.js";
import { backOverText, lossDuring, mediaBack, seconds } from "./report.js";
import { stateCounts } from "./report-timeline.js";

/** Fine enough to show a sub-second reconnect on a drill of a few minutes. */
const MAX_TIMELINE_POINTS = 600;

const BANNER = { pass: "pass", fail: "fail", deviated: "fail", inconclusive: "warn" } as const;

export function renderDrillHtml(journal: DrillJournal, assets: PageAssets): string {
  const title = `Chaos drill: ${journal.drill.name}`;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${escapeHtml(
      [
        `backend ${journal.drill.backend}`,
        `started ${journal.start}`,
        `duration ${seconds(journal.durationMs)}`,
        journal.t0 === null ? "T0 none (no fault was confirmed)" : `T0 ${journal.t0} (first fault confirmed)`,
        `run ${journal.runId}`,
      ].join(" · "),
    )}</p>`,
    stoppedBanner(journal),
    banner(
      BANNER[journal.verdict],
      `${journal.verdict.toUpperCase()}: ${journal.reason}`,
      expectationsTable(journal.expectations),
    ),
    `<h2>Around T0</h2><p class="note">Participants in each state, each counted in its worst state within a bucket. Hover for values, drag to zoom, double-click to zoom out; dotted lines are faults confirmed and reverted.</p>`,
    `<div class="grid">${chartSlot(timelineChart(journal))}</div>`,
    `<h2>Faults</h2>`,
    faultsTable(journal.faults),
    `<h2>Recovery</h2>`,
    `<p>${escapeHtml(`Participants affected: ${journal.aggregates.affected} of ${journal.aggregates.participants}. Subscribed tracks that stalled and never resumed: ${journal.aggregates.tracksNotResumed}.`)}</p>`,
    recoveryTable(journal),
    `<h3>Per population</h3>`,
    populationTable(journal),
    journal.aggregates.byTransport !== undefined
      ? `<h3>Per path before the faults</h3><p class="note">UDP, ICE/TCP or TURN, from each participant's selected candidate pair (docs/transport.md): did those behind TURN come back, and over what.</p>${transportTable(journal.aggregates.byTransport)}`
      : "",
    `<h2>Per room</h2><p class="note">Rooms whose media came back last first. Click a header to sort.</p>`,
    roomsTable(journal.rooms),
    `<h2>Participants</h2><p class="note">The affected first, slowest to reconnect first.</p>`,
    participantsTable(journal.participants),
    journal.findings.length > 0 ? `<h2>Findings</h2>${findingsTable(journal)}` : "",
  ].join("\n");
  return htmlPage({ title, body, charts: [timelineChart(journal)] }, assets);
}

/**
 * A drill stopped before its end (Ctrl-C, SIGTERM, an abort condition) says so above its verdict,
 * with when, whether every fault was rolled back, and what the page below rests on: its figures
 * are what was measured until then, not the drill its file describes.
 */
export function stoppedBanner(journal: DrillJournal): string {
  if (journal.status !== "interrupted" && journal.status !== "aborted") return "";
  const stop = journal.abort;
  const when =
    stop?.atMs != null && journal.t0 !== null
      ? `at T0 ${stop.atMs < 0 ? "-" : "+"} ${seconds(Math.abs(stop.atMs))}`
      : journal.t0 === null
        ? "before any fault was confirmed"
        : "";
  const confirmed = journal.faults.filter((f) => f.confirmedMs !== null).length;
  const rolledBack = journal.rollbacks.filter((r) => r.ok).length;
  const notEvaluated = journal.expectations.filter((e) => e.notEvaluated !== undefined).length;
  const what =
    journal.status === "interrupted"
      ? "INTERRUPTED"
      : `ABORTED by ${stop?.condition ?? "an abort condition"}`;
  const headline = `${[what, when].filter((w) => w !== "").join(" ")}: partial results`;
  const measured = [
    `${seconds(journal.durationMs)} of drill`,
    `${journal.aggregates.participants} participants followed (${journal.aggregates.affected} affected)`,
    `${confirmed} of ${journal.faults.length} fault(s) confirmed`,
    `${journal.steadyState.before.length} steady-state probe(s) before the faults, ${journal.steadyState.after.length} after`,
  ];
  return banner(
    journal.status === "interrupted" ? "warn" : "fail",
    headline,
    `<p>${escapeHtml(`Why: ${stop === null ? journal.reason : `${stop.condition}: ${stop.detail}`}. ${rolledBack} of ${journal.rollbacks.length} rollback(s) succeeded${journal.rollbacks.length === rolledBack ? "" : ": see the faults below and undo the rest (swarm chaos rollback)"}.`)}</p>` +
      `<p>${escapeHtml(`What was measured until then, and what this page shows: ${measured.join("; ")}. ${notEvaluated} expectation(s) not evaluated: the data is incomplete.`)}</p>`,
    "stopped",
  );
}

function expectationsTable(expectations: readonly ExpectationResult[]): string {
  return htmlTable<ExpectationResult>(
    [
      {
        header: "met",
        text: (e) =>
          e.notEvaluated !== undefined ? "not evaluated" : e.met === null ? "n/a" : e.met ? "met" : "NOT MET",
        className: (e) => (e.met === true ? "pass" : e.met === false ? "fail" : "warn"),
      },
      { header: "expectation", text: (e) => e.name },
      { header: "expected", text: (e) => e.expected },
      { header: "observed", text: (e) => e.observed },
    ],
    expectations,
    { empty: "No expectations were declared.", id: "expectations" },
  );
}

function timelineChart(journal: DrillJournal): ChartSpec {
  const c = stateCounts(journal, MAX_TIMELINE_POINTS);
  const markers = journal.faults.flatMap((f) => [
    ...(f.confirmedMs !== null
      ? [{ x: f.confirmedMs / 1000, label: `${f.id} ${f.type}`, color: "#b02a25" }]
      : []),
    ...(f.revertedMs !== null
      ? [{ x: f.revertedMs / 1000, label: `${f.id} reverted`, color: "#1e7a3c" }]
      : []),
  ]);
  const abortAt = journal.abort?.atMs ?? null;
  return {
    id: "states",
    title: "Participants by state around T0",
    kind: "lines",
    xUnit: "t0",
    yUnit: "count",
    x: c.tMs.map((t) => t / 1000),
    series: [
      { label: "connected", color: "#2a9d5c", values: c.connected },
      { label: "media stalled", color: "#8a4ad0", values: c.stalled },
      { label: "reconnecting", color: "#c77800", values: c.reconnecting },
      { label: "lost", color: "#b02a25", values: c.lost },
    ],
    lines: [],
    markers:
      abortAt === null ? markers : [...markers, { x: abortAt / 1000, label: "abort", color: "#3b4a63" }],
  };
}

function faultsTable(faults: readonly FaultRun[]): string {
  return htmlTable<FaultRun>(
    [
      { header: "fault", text: (f) => f.id },
      { header: "type", text: (f) => f.type },
      { header: "target", text: (f) => f.selection },
      {
        header: "confirmed",
        text: (f) => (f.confirmedMs === null ? "never" : `T0 + ${seconds(f.confirmedMs)}`),
      },
      { header: "evidence", text: (f) => f.evidence ?? f.error ?? "-" },
      { header: "reverted", text: (f) => (f.revertedMs === null ? "-" : `T0 + ${seconds(f.revertedMs)}`) },
    ],
    faults,
    { empty: "No fault ran.", id: "faults" },
  );
}

const distributionColumns = (name: (d: [string, Distribution]) => string) =>
  [
    { header: "after T0", text: name },
    { header: "n", text: ([, d]: [string, Distribution]) => String(d.n) },
    { header: "p50", text: ([, d]: [string, Distribution]) => seconds(d.p50) },
    { header: "p95", text: ([, d]: [string, Distribution]) => seconds(d.p95) },
    { header: "max", text: ([, d]: [string, Distribution]) => seconds(d.max) },
  ] as const;

function recoveryTable(journal: DrillJournal): string {
  const a = journal.aggregates;
  const rows: [string, Distribution][] = [
    ["detect", a.detect],
    ["reconnect", a.reconnect],
    ["media resume", a.mediaResume],
  ];
  return htmlTable(
    distributionColumns(([n]) => n),
    rows,
    { empty: "none", id: "recovery" },
  );
}

function populationTable(journal: DrillJournal): string {
  const a = journal.aggregates;
  if (a.signalPaths === null)
    return `<p class="note">Signal paths are unknown for this backend, so participants are not split by how the fault reached them.</p>`;
  return htmlTable(
    [
      { header: "population", text: (p) => p.population },
      { header: "participants", text: (p) => String(p.participants) },
      { header: "affected", text: (p) => String(p.affected) },
      {
        header: "detect p50 / p95 / max",
        text: (p) => [p.detect.p50, p.detect.p95, p.detect.max].map(seconds).join(" / "),
      },
      {
        header: "reconnect p50 / p95 / max",
        text: (p) => [p.reconnect.p50, p.reconnect.p95, p.reconnect.max].map(seconds).join(" / "),
      },
    ],
    a.byPopulation,
    { empty: "No population had anyone in it.", id: "populations" },
  );
}

function transportTable(rows: readonly TransportAggregate[]): string {
  return htmlTable(
    [
      { header: "path before", text: (t) => t.transport },
      { header: "participants", text: (t) => String(t.participants) },
      { header: "affected", text: (t) => String(t.affected) },
      {
        header: "reconnect p50 / p95 / max",
        text: (t) => [t.reconnect.p50, t.reconnect.p95, t.reconnect.max].map(seconds).join(" / "),
      },
      { header: "back over", text: backOverText },
    ],
    rows,
    { empty: "No participant told its path.", id: "transports" },
  );
}

/** When the room's media was back for every subscriber: the slowest fault's; never is the worst. */
function mediaBackMs(r: RoomOutcome): number | undefined {
  if (r.recoveries.length === 0) return undefined;
  return Math.max(...r.recoveries.map((x) => x.recoveredMs ?? Number.MAX_SAFE_INTEGER));
}

const percent = (v: number | null): string => (v === null ? "-" : `${(v * 100).toFixed(2)}%`);

function roomsTable(rooms: readonly RoomOutcome[]): string {
  const sorted = [...rooms].sort((a, b) => (mediaBackMs(b) ?? -1) - (mediaBackMs(a) ?? -1));
  return `<div class="scroll">${htmlTable<RoomOutcome>(
    [
      { header: "room", text: (r) => r.room, sort: (r) => r.room },
      {
        header: "node before → after",
        text: (r) => `${r.nodeBefore ?? "-"} → ${r.nodeAfter ?? "-"}`,
        sort: (r) => r.nodeBefore ?? undefined,
      },
      {
        header: "relocated",
        text: (r) => (r.relocated ? "yes" : "no"),
        sort: (r) => (r.relocated ? 1 : 0),
        descending: true,
      },
      { header: "media back", text: mediaBack, sort: mediaBackMs, descending: true },
      {
        header: "loss during",
        text: lossDuring,
        sort: (r) => r.loss.during ?? undefined,
        descending: true,
      },
      {
        header: "loss after",
        text: (r) => percent(r.loss.after),
        sort: (r) => r.loss.after ?? undefined,
        descending: true,
      },
      { header: "consistent at", text: (r) => (r.consistentMs === null ? "never" : seconds(r.consistentMs)) },
      {
        header: "ghosts",
        text: (r) => String(r.ghosts.length),
        sort: (r) => r.ghosts.length,
        descending: true,
      },
    ],
    sorted,
    { empty: "No rooms were observed.", id: "rooms" },
  )}</div>`;
}

function participantsTable(participants: readonly ParticipantOutcome[]): string {
  const sorted = [...participants].sort(
    (a, b) => Number(b.affected) - Number(a.affected) || (b.reconnectMs ?? -1) - (a.reconnectMs ?? -1),
  );
  const ms = (v: number | null): number | undefined => v ?? undefined;
  return `<div class="scroll">${htmlTable<ParticipantOutcome>(
    [
      { header: "identity", text: (p) => p.identity, sort: (p) => p.identity },
      { header: "room", text: (p) => p.room, sort: (p) => p.room },
      { header: "role", text: (p) => p.role },
      { header: "population", text: (p) => p.population ?? "-" },
      { header: "detect", text: (p) => seconds(p.detectMs), sort: (p) => ms(p.detectMs), descending: true },
      {
        header: "reconnect",
        text: (p) => seconds(p.reconnectMs),
        sort: (p) => ms(p.reconnectMs),
        descending: true,
      },
      { header: "path", text: (p) => p.path ?? "-" },
      {
        header: "transport before → after",
        text: (p) =>
          p.transportBefore === undefined && p.transportAfter === undefined
            ? "-"
            : `${p.transportBefore ?? "-"} → ${p.transportAfter ?? "-"}`,
      },
      {
        header: "media resume",
        text: (p) => seconds(p.mediaResumeMs),
        sort: (p) => ms(p.mediaResumeMs),
        descending: true,
      },
      {
        header: "connected at end",
        text: (p) => (p.connectedAtEnd ? "yes" : "no"),
        className: (p) => (p.connectedAtEnd ? undefined : "fail"),
      },
      { header: "lost reason", text: (p) => p.lostReason ?? "-" },
    ],
    sorted,
    { empty: "No participants.", id: "participants" },
  )}</div>`;
}

function findingsTable(journal: DrillJournal): string {
  return htmlTable(
    [
      { header: "severity", text: (f) => f.severity + (f.accepted ? " (accepted)" : "") },
      { header: "finding", text: (f) => f.title },
      { header: "detail", text: (f) => f.detail },
    ],
    journal.findings,
    { empty: "none" },
  );
}
