/** The capacity table (in the shape of the self-hosting guides' sizing table), the plot and the reports. Pure. */
import { formatValue } from "@livekit-swarm/load";
import { metricByName, type Scenario, type SwarmMetricName } from "@livekit-swarm/schema";
import type { Knee, SearchPlan } from "./search.js";
import { perRoom, type Step, type StepTiming } from "./step.js";

export interface CapacityResult {
  readonly scenario: Scenario;
  readonly quality: readonly string[];
  readonly search: SearchPlan;
  readonly timing: StepTiming;
  readonly server:
    | { readonly kind: "testbed"; readonly cores: number | undefined; readonly runDir: string | undefined }
    | { readonly kind: "url"; readonly url: string; readonly cores: number | undefined };
  readonly machine: string;
  readonly steps: readonly Step[];
  readonly knee:
    | Knee
    | { readonly kind: "interrupted" }
    | { readonly kind: "step-failed"; readonly rooms: number; readonly message: string };
}

/** A threshold's observed value in its metric's unit, short. */
export function shown(metric: string, value: number | undefined): string {
  const unit = metricByName(metric)?.unit;
  return formatValue(value, unit === "seconds" ? "s" : unit === "ratio" ? "ratio" : "count");
}

function cores(v: number | undefined): string {
  return v === undefined ? "?" : v.toFixed(2);
}

/** The generator's cores over the server's for one step's participants: "2.67x", or "?" when unknown. */
export function generatorServerCell(step: Step): string {
  const server = step.server.cores;
  return server === undefined || server <= 0 ? "?" : `${(step.generator.cores / server).toFixed(2)}x`;
}

function mbps(bps: number): string {
  return (bps / 1e6).toFixed(2);
}

export function kneeLine(result: CapacityResult): string {
  const k = result.knee;
  const step = (rooms: number): Step | undefined => result.steps.find((s) => s.rooms === rooms);
  switch (k.kind) {
    case "found": {
      const bad = step(k.bad);
      const what = bad?.broken[0];
      return `knee: ${String(k.good)} rooms met every threshold; ${String(k.bad)} rooms broke ${
        what !== undefined
          ? `${what.threshold} (observed ${what.censored ? ">" : ""}${shown(metricOf(what.threshold), what.observed)}, limit ${what.op} ${shown(metricOf(what.threshold), what.limit)})`
          : `the plan: ${bad?.reason ?? "?"}`
      }`;
    }
    case "none-good":
      return `no knee: even ${String(k.bad)} room(s) broke a threshold (${step(k.bad)?.reason ?? "?"})`;
    case "above-max":
      return `no knee up to --max: ${String(k.good)} rooms met every threshold; raise --max`;
    case "generator-bound":
      return `GENERATOR-BOUND at ${String(k.rooms)} rooms: ${step(k.rooms)?.reason ?? "?"}. This is the load generator's limit, not the server's: run with more cores or shards${k.good !== undefined ? ` (the last good step, ${String(k.good)} rooms, is a lower bound of the server's capacity)` : ""}`;
    case "interrupted":
      return "interrupted before a knee was found";
    case "step-failed":
      return `the step at ${String(k.rooms)} rooms failed before a knee was found: ${k.message}`;
  }
}

function metricOf(thresholdText: string): string {
  return thresholdText.trim().split(/[\s{]/)[0] ?? "";
}

/** The guide-shaped row: undefined when the search has no server capacity to report. */
export function capacityRow(result: CapacityResult): string[] | undefined {
  const k = result.knee;
  if (k.kind !== "found" && k.kind !== "above-max") return undefined;
  const good = result.steps.find((s) => s.rooms === k.good);
  if (good === undefined) return undefined;
  const quality = good.thresholds
    .map((t) => `${metricShort(t.metric)} ${shown(t.metric, t.observed)}`)
    .join(", ");
  const available = good.server.available;
  return [
    result.scenario.name,
    `${k.kind === "above-max" ? ">=" : ""}${String(k.good)}`,
    String(good.participants),
    quality,
    `${cores(good.server.cores)}${available !== undefined ? ` of ${String(available)}` : ""}`,
    `${mbps(good.server.bitsPerS.incoming)} / ${mbps(good.server.bitsPerS.outgoing)}`,
    available !== undefined ? (k.good / available).toFixed(0) : "?",
  ];
}

const ALIASES: Readonly<Record<string, string>> = {
  lkswarm_inbound_loss_ratio: "loss",
  lkswarm_inbound_jitter_seconds: "jitter",
  lkswarm_join_duration_seconds: "join",
  lkswarm_reconnects_total: "reconnects",
} satisfies Partial<Record<SwarmMetricName, string>>;

function metricShort(metric: string): string {
  return ALIASES[metric] ?? metric;
}

export const CAPACITY_HEADER = [
  "workload",
  "rooms per node",
  "participants",
  "quality at the knee",
  "server CPU (cores)",
  "bandwidth in / out (Mb/s)",
  "rooms per core",
];

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function stepRows(result: CapacityResult): string[][] {
  return [...result.steps]
    .sort((a, b) => a.rooms - b.rooms)
    .map((s) => [
      String(s.rooms),
      String(s.participants),
      s.outcome,
      cores(s.server.cores),
      s.server.rssMiB?.toFixed(0) ?? "?",
      (s.server.packetsPerS.incoming + s.server.packetsPerS.outgoing).toFixed(0),
      `${mbps(s.server.bitsPerS.incoming)} / ${mbps(s.server.bitsPerS.outgoing)}`,
      `${s.generator.cores.toFixed(2)} of ${s.generator.available.toFixed(2)}${s.generator.busiestThread !== undefined ? ` (thread ${s.generator.busiestThread.toFixed(2)})` : ""}`,
      generatorServerCell(s),
      s.otherCores.toFixed(2),
      s.reason.replace(/\|/g, "/"),
    ]);
}

const STEP_HEADER = [
  "rooms",
  "participants",
  "outcome",
  "server CPU",
  "server RSS MiB",
  "packets/s",
  "Mb/s in / out",
  "generator cores (busiest worker thread)",
  "generator/server CPU",
  "other cores",
  "why",
];

/**
 * What loading the server cost the swarm at the last good step: its cores beside the server's for
 * the same participants (a paragraph and its blank line), or nothing without a good step.
 */
function generatorAtKnee(result: CapacityResult): string[] {
  const k = result.knee;
  const good = "good" in k ? result.steps.find((s) => s.rooms === k.good) : undefined;
  if (good === undefined) return [];
  return [
    `Generator at the last good step (${String(good.rooms)} rooms): ${good.generator.cores.toFixed(2)} cores for the server's ${cores(good.server.cores)}, generator/server ${generatorServerCell(good)}.`,
    "",
  ];
}

export function capacityMarkdown(result: CapacityResult): string {
  const row = capacityRow(result);
  const s = result.scenario;
  return [
    `# Capacity: ${s.name}`,
    "",
    `${kneeLine(result)}.`,
    "",
    row !== undefined
      ? markdownTable(CAPACITY_HEADER, [row])
      : "No server capacity to report (see the knee line above).",
    "",
    ...generatorAtKnee(result),
    `Workload: ${String(perRoom(s))} participants per room (${String(s.videoPublishers)} video, ${String(s.audioPublishers)} audio publishers, ${String(s.subscribers)} subscribers), ${s.engine} engine. ` +
      `Quality: ${result.quality.join("; ")}. Server: ${result.server.kind === "testbed" ? `one-node testbed${result.server.cores !== undefined ? ` capped at ${String(result.server.cores)} core` : ", uncapped"}` : `${result.server.url}${result.server.cores !== undefined ? ` (${String(result.server.cores)} cores)` : ""}`}. ` +
      `Each step: the ramp, ${String(result.timing.warmupMs / 1000)} s warm-up (excluded from thresholds and resources), ${String(result.timing.holdMs / 1000)} s measured. ` +
      `Search: from ${String(result.search.start)} by ${String(result.search.step)} to ${String(result.search.max)} rooms, bisected to ${String(result.search.resolution)}. Machine: ${result.machine}.`,
    "",
    "## Steps",
    "",
    markdownTable(STEP_HEADER, stepRows(result)),
    "",
  ].join("\n");
}

const W = 600;
const H = 220;
const PAD = { left: 56, right: 32, top: 22, bottom: 30 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

/**
 * Two panels over rooms: each threshold's observed value as a share of its limit (100% = the
 * limit), and the server's CPU against its cores; the knee's good and bad steps marked.
 */
export function capacitySvg(result: CapacityResult): string {
  const steps = [...result.steps].sort((a, b) => a.rooms - b.rooms);
  const xMax = Math.max(1, ...steps.map((s) => s.rooms));
  const sx = (x: number): number => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const knee = result.knee;
  const marks = (top: number): string => {
    const line = (x: number, color: string, label: string): string =>
      `<line x1="${sx(x).toFixed(1)}" y1="${top + PAD.top}" x2="${sx(x).toFixed(1)}" y2="${top + H - PAD.bottom}" stroke="${color}" stroke-dasharray="4 3"/><text x="${(sx(x) + 3).toFixed(1)}" y="${top + H - PAD.bottom - 6}" fill="${color}">${label}</text>`;
    if (knee.kind === "found")
      return (
        line(knee.good, "#2ca02c", `knee ${String(knee.good)}`) + line(knee.bad, "#d62728", String(knee.bad))
      );
    if (knee.kind === "generator-bound")
      return line(knee.rooms, "#d62728", `generator-bound ${String(knee.rooms)}`);
    return "";
  };
  const panel = (
    top: number,
    title: string,
    series: { name: string; points: [number, number][] }[],
    yMax: number,
    format: (v: number) => string,
    limit?: number,
  ): string => {
    const sy = (y: number): number =>
      top + H - PAD.bottom - (Math.min(y, yMax) / yMax) * (H - PAD.top - PAD.bottom);
    const parts = [
      `<text x="${PAD.left}" y="${top + 14}" font-weight="bold">${escapeXml(title)}</text>`,
      `<line x1="${PAD.left}" y1="${top + H - PAD.bottom}" x2="${W - PAD.right}" y2="${top + H - PAD.bottom}" stroke="#999"/>`,
      `<line x1="${PAD.left}" y1="${top + PAD.top}" x2="${PAD.left}" y2="${top + H - PAD.bottom}" stroke="#999"/>`,
      ...[0, 0.5, 1].map(
        (f) =>
          `<text x="${PAD.left - 6}" y="${(sy(yMax * f) + 4).toFixed(1)}" text-anchor="end">${escapeXml(format(yMax * f))}</text>`,
      ),
      ...[0, 0.5, 1].map(
        (f) =>
          `<text x="${sx(xMax * f).toFixed(1)}" y="${top + H - 10}" text-anchor="middle">${(xMax * f).toFixed(0)} rooms</text>`,
      ),
    ];
    if (limit !== undefined)
      parts.push(
        `<line x1="${PAD.left}" y1="${sy(limit).toFixed(1)}" x2="${W - PAD.right}" y2="${sy(limit).toFixed(1)}" stroke="#d62728" stroke-width="0.8"/>`,
      );
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length] ?? "#333";
      const d = s.points
        .map(([x, y], j) => `${j === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join("");
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
      for (const [x, y] of s.points)
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
      parts.push(
        `<text x="${PAD.left + 8}" y="${top + PAD.top + 12 + i * 13}" fill="${color}">${escapeXml(s.name)}</text>`,
      );
    });
    return parts.join("") + marks(top);
  };
  const names = [...new Set(steps.flatMap((s) => s.thresholds.map((t) => t.threshold)))];
  const quality = names.map((name) => ({
    name: name.length > 48 ? `${name.slice(0, 47)}…` : name,
    points: steps.flatMap((s): [number, number][] => {
      const t = s.thresholds.find((r) => r.threshold === name);
      if (t?.observed === undefined) return [];
      const share = t.limit !== 0 ? t.observed / t.limit : t.observed > 0 ? 2 : 0;
      return [[s.rooms, share]];
    }),
  }));
  const serverCap = steps.find((s) => s.server.available !== undefined)?.server.available;
  const cpu = [
    {
      name: "server CPU (cores)",
      points: steps.flatMap((s): [number, number][] =>
        s.server.cores !== undefined ? [[s.rooms, s.server.cores]] : [],
      ),
    },
    {
      name: "generator CPU (cores)",
      points: steps.map((s): [number, number] => [s.rooms, s.generator.cores]),
    },
  ];
  const cpuMax = Math.max(serverCap ?? 0, ...cpu.flatMap((c) => c.points.map(([, y]) => y))) * 1.15 || 1;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${2 * H}" width="${W}" height="${2 * H}" font-family="sans-serif" font-size="11">
${panel(0, "quality: observed / limit (1 = the limit)", quality, 2, (v) => `${(v * 100).toFixed(0)}%`, 1)}
${panel(H, "CPU against rooms", cpu, cpuMax, (v) => v.toFixed(2), serverCap)}
</svg>`;
}

function markdownToHtmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = (tag: string, r: readonly string[]): string =>
    `<tr>${r.map((c) => `<${tag}>${escapeXml(c)}</${tag}>`).join("")}</tr>`;
  return `<table>${cells("th", header)}${rows.map((r) => cells("td", r)).join("")}</table>`;
}

export function capacityReport(result: CapacityResult): { markdown: string; html: string; svg: string } {
  const svg = capacitySvg(result);
  const row = capacityRow(result);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>capacity: ${escapeXml(result.scenario.name)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px} table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px} svg text{fill:#444}</style></head><body>
<h1>Capacity: ${escapeXml(result.scenario.name)}</h1>
<p>${escapeXml(kneeLine(result))}.</p>
${row !== undefined ? markdownToHtmlTable(CAPACITY_HEADER, [row]) : "<p>No server capacity to report.</p>"}
${svg}
<h2>Steps</h2>
${markdownToHtmlTable(STEP_HEADER, stepRows(result))}
<p>Quality: ${escapeXml(result.quality.join("; "))}. Each step: the ramp, ${String(result.timing.warmupMs / 1000)} s warm-up (excluded), ${String(result.timing.holdMs / 1000)} s measured. Machine: ${escapeXml(result.machine)}. Raw steps: steps.json.</p>
</body></html>
`;
  return { markdown: capacityMarkdown(result), html, svg };
}
