/**
 * report.html of a run: the verdict first, then the charts over time, the tables per kind, role,
 * room and node, the distributions and the configuration. Pure: the run's summary in, HTML out.
 */
import type { Comparison, ThresholdResult } from "@livekit-swarm/gate";
import { TOOL, metric, type SwarmMetricName } from "@livekit-swarm/schema";
import { percentiles } from "@livekit-swarm/stats";
import type { Figure, GroupFigures, RunMarker, RunSummary } from "../run/aggregate.js";
import { exitCodeOf, failedCode, healthLines, type RunHealth } from "../run/health.js";
import { shardProblems, type ShardCoverage } from "../shard/coverage.js";
import { comparisonSection } from "./comparison.js";
import { formatValue, reconnectingAtEnd } from "./format.js";
import {
  banner,
  chartSlot,
  escapeHtml,
  htmlPage,
  htmlTable,
  type ChartSpec,
  type Column,
  type PageAssets,
} from "./page.js";
import { ENGINES_NOTE, frameRateText } from "./transports.js";
import { verdictTable } from "./verdict.js";

/** Beyond this many rooms the table keeps the worst ones: a page of 10 000 rows helps nobody. */
export const MAX_ROOM_ROWS = 500;

/** What the page reads of a summary.json (a run's RunReport, or a merged one). */
export interface ReportInput extends RunSummary {
  readonly run: {
    readonly id: string;
    readonly scenario: string;
    readonly url: string;
    readonly engine: string;
    readonly startedAt: string;
    readonly endedAt: string;
    readonly durationS: number;
    readonly endReason: string;
    readonly participants: number;
    readonly workers: number;
  };
  readonly scenario: object;
  /** A merged sharded run: which shards the figures cover. */
  readonly shards?: ShardCoverage;
  readonly verdict?: "pass" | "fail";
  readonly thresholds?: readonly ThresholdResult[];
  /** A run with --baseline: every figure against the baseline's. */
  readonly comparison?: Comparison;
  /** A run with --screenshots: the browser pages' PNGs, relative to the page. */
  readonly screenshots?: readonly string[];
  /** The swarm's own health (run/health.ts); absent from summaries written before it was judged. */
  readonly health?: RunHealth;
}

const MARKER_COLORS: Record<RunMarker["kind"], string> = {
  "worker-died": "#b02a25",
  "reconnect-burst": "#c77800",
};

export function reportHtml(report: ReportInput, assets: PageAssets): string {
  const start = Date.parse(report.run.startedAt);
  const markers = (report.markers ?? []).map((m) => ({
    x: (m.t - start) / 1000,
    label: m.kind === "worker-died" ? "worker died" : "reconnect burst",
    color: MARKER_COLORS[m.kind],
  }));
  const charts = [...timeCharts(report, start, markers), ...distributionCharts(report)];
  const [timeline, distributions] = [
    charts.filter((c) => c.xUnit === "time"),
    charts.filter((c) => c.xUnit !== "time"),
  ];
  const title = `livekit-swarm run ${report.run.id} (${report.run.scenario})`;
  const groups = report.groups;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${escapeHtml(`${report.run.startedAt} to ${report.run.endedAt} · ${report.run.durationS.toFixed(0)} s · ended: ${report.run.endReason} · ${report.run.participants} participants on ${report.run.workers} workers · ${report.run.url} · ${TOOL.name} ${TOOL.version}`)}</p>`,
    healthBanner(report.health),
    verdictBanner(report),
    shardsBanner(report.shards),
    report.comparison !== undefined ? comparisonSection(report.comparison) : "",
    participantsLine(report),
    `<h2>Over time</h2><p class="note">Hover a chart for its values, drag across it to zoom, double-click to zoom out. Dashed lines are thresholds; dotted ones mark events.</p>`,
    `<div class="grid">${timeline.map(chartSlot).join("\n")}</div>`,
    (report.markers ?? []).length > 0 ? `<h3>Events</h3>${markerTable(report.markers ?? [], start)}` : "",
    `<h2>Figures per kind</h2><p class="note">Percentiles state their population: participants (one value each), tracks, or windows (one value per track per sampling window). &gt; marks a lower bound: part of the population never got a value.</p>`,
    figureTable(report.figures),
    `<h2>Per role</h2>`,
    groups === undefined
      ? `<p class="empty">This summary predates per-role figures.</p>`
      : groupTable(groups.roles, "role", "roles"),
    `<h2>Per room</h2>`,
    groups === undefined
      ? `<p class="empty">This summary predates per-room figures.</p>`
      : roomsSection(groups.rooms),
    groups !== undefined && groups.nodes.length > 0
      ? `<h2>Per node</h2>${groupTable(groups.nodes, "node", "nodes")}`
      : "",
    (groups?.transports ?? []).length > 0
      ? `<h2>Per transport</h2><p class="note">By the class of each participant's selected ICE candidate pair: direct UDP, ICE/TCP, or TURN over UDP, TCP or TLS.</p>${groupTable(groups?.transports ?? [], "transport", "transports")}`
      : "",
    (groups?.engines ?? []).length > 1
      ? `<h2>Per engine</h2><p class="note">${escapeHtml(ENGINES_NOTE)}</p>${groupTable(groups?.engines ?? [], "engine", "engines", true)}`
      : "",
    `<h2>Distributions</h2><div class="grid">${distributions.map(chartSlot).join("\n")}</div>`,
    screenshotsSection(report.screenshots ?? []),
    `<h2>Configuration</h2>`,
    configTable(report),
  ].join("\n");
  return htmlPage({ title, body, charts }, assets);
}

/** The swarm's own health, above the thresholds' verdict: whether the figures below are LiveKit's. */
function healthBanner(health: RunHealth | undefined): string {
  if (health === undefined) return "";
  const [head = "", ...checks] = healthLines(health);
  return banner(
    health.status === "healthy" ? "pass" : "fail",
    head,
    `<ul>${checks.map((c) => `<li>${escapeHtml(c.trim())}</li>`).join("")}</ul>`,
    "health",
  );
}

function verdictBanner(report: ReportInput): string {
  const results = report.thresholds ?? [];
  if (report.verdict === undefined)
    return banner(
      "none",
      "No thresholds were evaluated",
      `<p>Pass <code>--threshold</code> or a scenario with thresholds for a verdict.</p>`,
    );
  const failed = results.filter((r) => r.status === "fail" || r.status === "no-data").length;
  const warned = results.filter((r) => r.status === "warn").length;
  const headline =
    report.verdict === "pass"
      ? `PASS: ${results.length} threshold${results.length === 1 ? "" : "s"} met${warned > 0 ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}`
      : `FAIL: ${failed} of ${results.length} threshold${results.length === 1 ? "" : "s"} failed ${failedCode(exitCodeOf(report.health))}`;
  return banner(
    report.verdict === "fail" ? "fail" : warned > 0 ? "warn" : "pass",
    headline,
    verdictTable(results),
  );
}

/** A merge that lacks shards says so above everything else it shows. */
function shardsBanner(shards: ShardCoverage | undefined): string {
  if (shards === undefined) return "";
  const problems = shardProblems(shards);
  const headline = `Figures cover ${shards.covered.length} of ${shards.count} shard${shards.count === 1 ? "" : "s"}`;
  if (problems.length === 0) return `<p class="meta">${escapeHtml(`${headline}: every shard finished.`)}</p>`;
  return banner(
    "fail",
    headline,
    `<ul>${problems.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul>`,
    "shards",
  );
}

function participantsLine(report: ReportInput): string {
  const p = report.participants;
  const fails = Object.entries(p.joinFailures).map(([k, n]) => `${k} ${n}`);
  const gone = Object.entries(p.disconnects).map(([k, n]) => `${k} ${n}`);
  return `<p>${escapeHtml(
    `Participants: ${p.planned} planned, ${p.joined} joined, ${p.connectedAtEnd} connected at the end, ${reconnectingAtEnd(p)}${p.reconnects} reconnects` +
      (fails.length > 0 ? `; join failures: ${fails.join(", ")}` : "") +
      (gone.length > 0 ? `; disconnects: ${gone.join(", ")}` : ""),
  )}</p>`;
}

/**
 * The run's thresholds on a metric where it had some (labelled with their own text, in the unit
 * their author wrote), otherwise the catalog's defaults, labelled in the chart's unit.
 */
function limitLines(report: ReportInput, name: SwarmMetricName, unit: Figure["unit"]): ChartSpec["lines"] {
  const own = (report.thresholds ?? []).filter((r: ThresholdResult) => r.metric === name);
  if (own.length > 0)
    return own.map((r) => ({
      label: r.threshold,
      value: r.limit,
      color: r.severity === "warn" ? "#c77800" : "#b02a25",
    }));
  return (metric(name).thresholds ?? []).flatMap((t) => [
    ...(t.warn !== undefined
      ? [
          {
            label: `warn: ${t.aggregation} ${t.op} ${formatValue(t.warn, unit)} (catalog)`,
            value: t.warn,
            color: "#c77800",
          },
        ]
      : []),
    ...(t.fail !== undefined
      ? [
          {
            label: `fail: ${t.aggregation} ${t.op} ${formatValue(t.fail, unit)} (catalog)`,
            value: t.fail,
            color: "#b02a25",
          },
        ]
      : []),
  ]);
}

function timeCharts(report: ReportInput, start: number, markers: ChartSpec["markers"]): ChartSpec[] {
  const t = report.timeline;
  const x = t.map((p) => (p.t - start) / 1000);
  // a long run's points each merge several stats windows' buckets (MOST_TIMELINE_POINTS)
  const step = report.timelineStepMs;
  const each =
    step === undefined ? "" : `, a point per ${step % 1000 === 0 ? `${step / 1000} s` : `${step} ms`}`;
  const line = (
    id: string,
    title: string,
    yUnit: ChartSpec["yUnit"],
    series: ChartSpec["series"],
    lines: ChartSpec["lines"] = [],
  ): ChartSpec => ({
    id,
    title: `${title}${each}`,
    kind: "lines",
    xUnit: "time",
    yUnit,
    x,
    series,
    lines,
    markers,
  });
  const v = (n: number | undefined): number | null => n ?? null;
  return [
    line("participants", "Participants sampled, and reconnects begun", "count", [
      { label: "participants", color: "#3b4a63", values: t.map((p) => p.participants) },
      { label: "reconnects begun", color: "#c77800", values: t.map((p) => p.reconnecting ?? 0) },
    ]),
    line(
      "loss",
      "Inbound loss (ratio of sums per window)",
      "ratio",
      [
        { label: "audio", color: "#d0584a", values: t.map((p) => v(p.lossAudio)) },
        { label: "video", color: "#3f6fc4", values: t.map((p) => v(p.lossVideo)) },
      ],
      limitLines(report, "lkswarm_inbound_loss_ratio", "ratio"),
    ),
    line(
      "jitter",
      "Jitter p95 over track-windows",
      "s",
      [{ label: "jitter p95", color: "#8a4ad0", values: t.map((p) => v(p.jitterP95S)) }],
      limitLines(report, "lkswarm_inbound_jitter_seconds", "s"),
    ),
    line("bitrate", "Bitrate, whole swarm", "bps", [
      { label: "in", color: "#2a9d5c", values: t.map((p) => p.bitrateInBps) },
      { label: "in on the wire", color: "#7cc49a", values: t.map((p) => v(p.wireBitrateInBps)) },
      { label: "out", color: "#d09a4a", values: t.map((p) => p.bitrateOutBps) },
    ]),
    line(
      "latency",
      "End-to-end video latency p50 and p95 (probes)",
      "s",
      [
        { label: "latency p50", color: "#3b4a63", values: t.map((p) => v(p.latencyP50S)) },
        // the thresholds (the catalog's are p95) drawn against the p95 they judge
        { label: "latency p95", color: "#8a4ad0", values: t.map((p) => v(p.latencyP95S)) },
      ],
      limitLines(report, "lkswarm_end_to_end_latency_seconds", "s"),
    ),
  ];
}

/** A histogram with p50, p95 and p99 marked. */
export function histogram(
  id: string,
  title: string,
  values: readonly number[],
  unit: Figure["unit"],
): ChartSpec {
  const bins = 30;
  const lo = values.length > 0 ? Math.min(...values) : 0;
  const hi = values.length > 0 ? Math.max(...values, lo + 1e-9) : 1;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) {
    const i = Math.min(bins - 1, Math.floor((value - lo) / width));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const marks = percentiles(values, [50, 95, 99], "participants").flatMap((p) =>
    p.value === undefined
      ? []
      : [{ x: p.value, label: `p${p.p} ${formatValue(p.value, unit)}`, color: "#b02a25" }],
  );
  return {
    id,
    title: `${title} (n=${values.length})`,
    kind: "bars",
    xUnit: unit,
    yUnit: "count",
    x: counts.map((_, i) => lo + (i + 0.5) * width),
    xRange: [lo, hi],
    series: [{ label: "count", color: "#3f6fc4", values: values.length > 0 ? counts : [] }],
    lines: [],
    markers: marks,
  };
}

function distributionCharts(report: ReportInput): ChartSpec[] {
  return [
    histogram("join", "Join time, per participant", report.joinSeconds, "s"),
    histogram("first-frame", "Time to first video frame, per track", report.firstFrameSeconds, "s"),
  ];
}

function markerTable(markers: readonly RunMarker[], start: number): string {
  return htmlTable<RunMarker>(
    [
      { header: "at", text: (m) => `${((m.t - start) / 1000).toFixed(1)} s` },
      { header: "event", text: (m) => m.kind },
      { header: "detail", text: (m) => m.detail },
    ],
    markers,
    { empty: "No events." },
  );
}

function stat(f: Figure, s: "p50" | "p95" | "p99" | "max"): string {
  const bound = f.censored?.above.includes(s) === true ? "> " : "";
  const within =
    bound === "" && f.sketched !== undefined && s !== "max" && f[s] !== undefined
      ? ` (±${(f.sketched.relativeError * 100).toFixed(0)}%)`
      : "";
  return `${bound}${formatValue(f[s], f.unit)}${within}`;
}

function figureTable(figures: readonly Figure[]): string {
  const byKind = (kind: string | undefined): Figure[] => figures.filter((f) => f.kind === kind);
  const columns: Column<Figure>[] = [
    { header: "figure", text: (f) => f.label },
    { header: "population", text: (f) => f.population },
    { header: "n", text: (f) => String(f.n) },
    { header: "p50", text: (f) => stat(f, "p50") },
    { header: "p95", text: (f) => stat(f, "p95") },
    { header: "p99", text: (f) => stat(f, "p99") },
    { header: "max", text: (f) => stat(f, "max") },
    { header: "metric", text: (f) => f.metric },
  ];
  return (["all", "audio", "video"] as const)
    .map((k) => {
      const rows = byKind(k === "all" ? undefined : k);
      return rows.length === 0
        ? ""
        : `<h3>${k === "all" ? "Both kinds" : k}</h3>${htmlTable(columns, rows, { empty: "none" })}`;
    })
    .join("\n");
}

function groupColumns(nameHeader: string, frameRate = false): Column<GroupFigures>[] {
  const fps: Column<GroupFigures>[] = frameRate
    ? [
        {
          header: "fps p50",
          text: frameRateText,
          sort: (g) => g.frameRateP50,
        },
      ]
    : [];
  return [
    { header: nameHeader, text: (g) => g.name, sort: (g) => g.name },
    {
      header: "participants",
      text: (g) => String(g.participants),
      sort: (g) => g.participants,
      descending: true,
    },
    {
      header: "not joined",
      text: (g) => String(g.participants - g.joined),
      sort: (g) => g.participants - g.joined,
      descending: true,
    },
    {
      header: "loss",
      text: (g) => formatValue(g.lossRatio, "ratio"),
      sort: (g) => g.lossRatio,
      descending: true,
    },
    {
      header: "jitter p95",
      text: (g) => formatValue(g.jitterP95S, "s"),
      sort: (g) => g.jitterP95S,
      descending: true,
    },
    {
      header: "join p95",
      text: (g) => formatValue(g.joinP95S, "s"),
      sort: (g) => g.joinP95S,
      descending: true,
    },
    { header: "reconnects", text: (g) => String(g.reconnects), sort: (g) => g.reconnects, descending: true },
    {
      header: "left early",
      text: (g) => String(g.disconnected),
      sort: (g) => g.disconnected,
      descending: true,
    },
    ...fps,
  ];
}

/** `frameRate`: the per-engine table's, decoded or lean's assembled one (docs/observability.md 4.3). */
function groupTable(
  groups: readonly GroupFigures[],
  nameHeader: string,
  id: string,
  frameRate = false,
): string {
  const columns = groupColumns(nameHeader, frameRate);
  return `<div class="scroll">${htmlTable(columns, groups, { empty: "none", id })}</div>`;
}

function roomsSection(rooms: readonly GroupFigures[]): string {
  const shown = rooms.slice(0, MAX_ROOM_ROWS);
  const note =
    rooms.length > shown.length
      ? `The ${shown.length} worst of ${rooms.length} rooms; all are in samples.jsonl.`
      : `${rooms.length} room${rooms.length === 1 ? "" : "s"}, worst first (never joined, then loss, jitter, join time). Click a header to sort.`;
  return `<p class="note">${note}</p>${groupTable(shown, "room", "rooms")}`;
}

/** Every scalar of the scenario as a path and a value: what a reader needs to rerun it. */
export function flatten(value: unknown, path = ""): [string, string][] {
  if (value === undefined) return [[path, "undefined"]];
  if (value === null || typeof value !== "object") return [[path, JSON.stringify(value)]];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return [[path, Array.isArray(value) ? "[]" : "{}"]];
  return entries.flatMap(([k, v]) => flatten(v, path === "" ? k : `${path}.${k}`));
}

function configTable(report: ReportInput): string {
  const rows = [
    ...flatten({
      run: { id: report.run.id, url: report.run.url, workers: report.run.workers, engine: report.run.engine },
    }),
    ...flatten(report.scenario, "scenario"),
  ];
  return `<div class="scroll">${htmlTable<[string, string]>(
    [
      { header: "setting", text: (r) => r[0] },
      { header: "value", text: (r) => r[1] },
    ],
    rows,
    { empty: "none", id: "configuration" },
  )}</div>`;
}

/** The browser pages --screenshots saved, each shown and linked (relative: the page sits beside them). */
function screenshotsSection(paths: readonly string[]): string {
  if (paths.length === 0) return "";
  const figures = paths.map(
    (p) =>
      `<figure class="chart"><figcaption>${escapeHtml(p)}</figcaption><a href="${escapeHtml(p)}"><img src="${escapeHtml(p)}" alt="${escapeHtml(p)}" style="max-width: 100%"></a></figure>`,
  );
  return `<h2>Screenshots</h2><p class="note">Each browser participant's page at the end of the run.</p><div class="grid">${figures.join("\n")}</div>`;
}
