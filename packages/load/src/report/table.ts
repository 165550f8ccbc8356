import type { RunOutcome } from "../run/orchestrator.js";
import { formatValue } from "./format.js";

/** The end-of-run summary for a terminal: who joined, what failed, and the key figures. */
export function summaryTable(outcome: RunOutcome): string {
  const { summary: s } = outcome;
  const lines: string[] = [];
  const p = s.participants;
  lines.push(
    `participants  ${p.joined}/${p.planned} joined, ${p.connectedAtEnd} connected at the end, ${p.reconnects} reconnects`,
  );
  if (Object.keys(p.joinFailures).length > 0) lines.push(`join failures ${describeCounts(p.joinFailures)}`);
  if (Object.keys(p.disconnects).length > 0) lines.push(`disconnects   ${describeCounts(p.disconnects)}`);
  lines.push(
    `tracks        audio ${s.tracks.receiving.audio}/${s.tracks.expected.audio} receiving, video ${s.tracks.receiving.video}/${s.tracks.expected.video} receiving (${s.tracks.decodingVideo} decoding)`,
  );
  for (const kind of ["audio", "video"] as const) {
    const l = s.loss[kind];
    if (l.expected > 0) {
      lines.push(
        `loss ${kind.padEnd(8)} ${formatValue(l.ratio, "ratio")} of all packets (${l.lost} of ${l.expected}, ratio of sums)`,
      );
    }
  }
  lines.push("");
  const header = ["figure", "kind", "over", "n", "p50", "p95", "max"];
  const rows = s.figures
    .filter((f) => f.n > 0)
    .map((f) => [
      f.label,
      f.kind ?? "",
      f.population,
      String(f.n),
      formatValue(f.p50, f.unit),
      formatValue(f.p95, f.unit),
      formatValue(f.max, f.unit),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i >= 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  lines.push(fmt(header), ...rows.map(fmt));
  const c = s.counters;
  const extra = [
    c.freezes !== undefined
      ? `freezes ${c.freezes} (${c.freeze_seconds !== undefined ? `${c.freeze_seconds.toFixed(1)} s` : "unknown"} frozen)`
      : "",
    c.in_nack_video !== undefined ? `NACK in ${(c.in_nack_audio ?? 0) + c.in_nack_video}` : "",
    c.in_pli_video !== undefined ? `PLI in ${c.in_pli_video}` : "",
    c.total_samples !== undefined && c.total_samples > 0
      ? `audio concealed ${formatValue((c.concealed_samples ?? 0) / c.total_samples, "ratio")}`
      : "",
    c.data_sent !== undefined && c.data_sent > 0
      ? `data packets sent ${c.data_sent}, received ${c.data_received ?? 0}`
      : "",
  ].filter((x) => x !== "");
  if (extra.length > 0) lines.push("", extra.join(", "));
  return `${lines.join("\n")}\n`;
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}
