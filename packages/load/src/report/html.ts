import { TOOL } from "@livekit-swarm/schema";
import type { RunOutcome } from "../run/orchestrator.js";
import type { TimelinePoint } from "../run/aggregate.js";
import { formatValue } from "./format.js";

const W = 560;
const H = 200;
const PAD = { left: 64, right: 12, top: 12, bottom: 28 };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number | undefined])[];
}

/** A line chart over run time; gaps (undefined) break the line rather than drawing zeros. */
function lineChart(
  title: string,
  series: readonly Series[],
  format: (v: number) => string,
  minTop = 0,
): string {
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y).filter((y): y is number => y !== undefined));
  if (xs.length === 0 || ys.length === 0)
    return `<figure><figcaption>${escapeHtml(title)}</figcaption><p class="empty">no data</p></figure>`;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  // a floor on the scale: 0.3% loss on a 0-100% axis would be a flat line
  const y1 = Math.max(Math.max(...ys) * 1.1, minTop) || 1;
  const sx = (x: number): number => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number): number => H - PAD.bottom - (y / y1) * (H - PAD.top - PAD.bottom);
  const paths = series.map((s) => {
    let d = "";
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = true;
    }
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`;
  });
  const ticks = [0, 0.5, 1].map(
    (f) =>
      `<text x="${PAD.left - 6}" y="${sy(y1 * f) + 4}" text-anchor="end">${escapeHtml(format(y1 * f))}</text>`,
  );
  const xticks = [0, 0.5, 1].map((f) => {
    const x = x0 + f * (x1 - x0);
    return `<text x="${sx(x)}" y="${H - 8}" text-anchor="middle">${((x - x0) / 1000).toFixed(0)} s</text>`;
  });
  const legend = series
    .map(
      (s, i) =>
        `<text x="${PAD.left + 8 + i * 110}" y="${PAD.top + 10}" fill="${s.color}">${escapeHtml(s.name)}</text>`,
    )
    .join("");
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#999"/>
<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#999"/>
${ticks.join("")}${xticks.join("")}${paths.join("")}${legend}</svg></figure>`;
}

/** A histogram of a distribution (e.g. join times), 20 equal bins between min and max. */
function histogram(title: string, values: readonly number[], format: (v: number) => string): string {
  if (values.length === 0)
    return `<figure><figcaption>${escapeHtml(title)}</figcaption><p class="empty">no data</p></figure>`;
  const lo = Math.min(...values);
  const hi = Math.max(...values, lo + 1e-9);
  const bins = new Array<number>(20).fill(0);
  for (const v of values) {
    const i = Math.min(19, Math.floor(((v - lo) / (hi - lo)) * 20));
    bins[i] = (bins[i] ?? 0) + 1;
  }
  const top = Math.max(...bins);
  const bw = (W - PAD.left - PAD.right) / 20;
  const bars = bins
    .map((n, i) => {
      const h = (n / top) * (H - PAD.top - PAD.bottom);
      return `<rect x="${PAD.left + i * bw + 1}" y="${H - PAD.bottom - h}" width="${bw - 2}" height="${h}" fill="#4a7bd0"><title>${n}</title></rect>`;
    })
    .join("");
  return `<figure><figcaption>${escapeHtml(title)} (n=${values.length})</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#999"/>
${bars}<text x="${PAD.left}" y="${H - 8}">${escapeHtml(format(lo))}</text><text x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${escapeHtml(format(hi))}</text>
<text x="${PAD.left - 6}" y="${PAD.top + 8}" text-anchor="end">${top}</text></svg></figure>`;
}

const pick = (
  t: readonly TimelinePoint[],
  f: (p: TimelinePoint) => number | undefined,
): [number, number | undefined][] => t.map((p) => [p.t, f(p)]);

export function reportHtml(outcome: RunOutcome, title: string, table: string): string {
  const t = outcome.summary.timeline;
  const seconds = (v: number): string => formatValue(v, "s");
  const ratio = (v: number): string => formatValue(v, "ratio");
  const bps = (v: number): string => formatValue(v, "bps");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font-size: 11px; fill: #555; } .empty { color: #999; width: ${W}px; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(outcome.startedAt)} to ${escapeHtml(outcome.endedAt)}, ended: ${escapeHtml(outcome.endReason)}; ${escapeHtml(`${TOOL.name} ${TOOL.version}`)}.
Percentiles state their population: participants (one value each), tracks, or windows (one value per track per sampling window).</p>
<pre>${escapeHtml(table)}</pre>
<h2>Over time</h2>
<div class="grid">
${lineChart("Participants sampled", [{ name: "participants", color: "#333", points: pick(t, (p) => p.participants) }], (v) => v.toFixed(0))}
${lineChart(
  "Inbound loss (ratio of sums per window)",
  [
    { name: "audio", color: "#d0584a", points: pick(t, (p) => p.lossAudio) },
    { name: "video", color: "#4a7bd0", points: pick(t, (p) => p.lossVideo) },
  ],
  ratio,
  0.05,
)}
${lineChart("Jitter p95 over track-windows", [{ name: "jitter p95", color: "#8a4ad0", points: pick(t, (p) => p.jitterP95S) }], seconds)}
${lineChart(
  "Bitrate, whole swarm",
  [
    { name: "in", color: "#2a9d5c", points: pick(t, (p) => p.bitrateInBps) },
    { name: "out", color: "#d09a4a", points: pick(t, (p) => p.bitrateOutBps) },
  ],
  bps,
)}
${lineChart("End-to-end video latency p50 (probes)", [{ name: "latency p50", color: "#333", points: pick(t, (p) => p.latencyP50S) }], seconds)}
</div>
<h2>Distributions</h2>
<div class="grid">
${histogram("Join time", outcome.summary.joinSeconds, seconds)}
${histogram("Time to first video frame", outcome.summary.firstFrameSeconds, seconds)}
</div>
</body></html>
`;
}
