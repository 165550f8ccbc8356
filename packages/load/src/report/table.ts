import type { CensorableStat, DecryptionFailure, Figure } from "../run/aggregate.js";
import type { RunOutcome } from "../run/orchestrator.js";
import { NOT_STARTED, RUN_ENDED } from "../run/messages.js";
import { formatValue, reconnectingAtEnd } from "./format.js";
import { generatorLine } from "../run/generator-load.js";
import { engineText, transportText } from "./transports.js";

/** The end-of-run summary for a terminal: who joined, what failed, and the key figures. */
export function summaryTable(outcome: RunOutcome): string {
  const { summary: s } = outcome;
  const lines: string[] = [];
  const p = s.participants;
  lines.push(
    `participants  ${p.joined}/${p.planned} joined, ${p.connectedAtEnd} connected at the end, ${reconnectingAtEnd(p)}${p.reconnects} reconnects`,
  );
  lines.push(...joinFailureLines(p.joinFailures));
  if (Object.keys(p.disconnects).length > 0) lines.push(`disconnects   ${describeCounts(p.disconnects)}`);
  const pairs = (list: readonly DecryptionFailure[]): string =>
    `${list
      .slice(0, 3)
      .map((f) => `${f.room}/${f.participant} from ${f.from.join(", ")}`)
      .join("; ")}${list.length > 3 ? "; ..." : ""}`;
  const undecryptable = s.decryptionFailures ?? [];
  if (undecryptable.length > 0)
    lines.push(
      `e2ee          ${undecryptable.length} participant(s) cannot decrypt what they receive (wrong or missing key; not counted as loss): ${pairs(undecryptable)}`,
    );
  const recovered = s.decryptionRecovered ?? [];
  if (recovered.length > 0)
    lines.push(
      `e2ee          ${recovered.length} participant(s) could not decrypt for a while, then decrypted again: ${pairs(recovered)}`,
    );
  const ratchets = s.counters.e2ee_key_ratchets ?? 0;
  if (ratchets > 0)
    lines.push(
      `e2ee ratchet  ${ratchets} key ratchet(s) by publishers; receivers' cryptors followed ${s.counters.e2ee_ratchets_followed ?? 0} publisher key(s)${undecryptable.length > 0 ? ", the participants above could not" : ""}`,
    );
  const generator = s.generator === undefined ? undefined : generatorLine(s.generator);
  if (generator !== undefined) lines.push(generator);
  const t = s.tracks;
  const ever = (k: "audio" | "video"): string => ` (${t.everReceived[k]} ever)`;
  lines.push(
    `tracks        audio ${t.receiving.audio}/${t.expected.audio} receiving at the end${ever("audio")}, video ${t.receiving.video}/${t.expected.video} receiving at the end${ever("video")}, ${t.decodingVideo} decoding${t.assembledVideo !== undefined ? `, ${t.assembledVideo} assembled by lean (not decoded)` : ""}`,
  );
  for (const kind of ["audio", "video"] as const) {
    const l = s.loss[kind];
    if (l.expected > 0) {
      const stalled = l.stalled;
      lines.push(
        `loss ${kind.padEnd(8)} ${formatValue(l.ratio, "ratio")} of all packets (${l.lost} of ${l.expected}, ratio of sums)` +
          (stalled !== undefined
            ? `; unknown (stalled ${stalled.seconds.toFixed(1)} s): ${stalled.participants} participant(s)' video had no packet at all for that long in all, a gap libwebrtc counts no loss over`
            : ""),
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
      f.censored !== undefined ? `${f.n} (${f.censored.n} censored)` : String(f.n),
      cell(f, "p50"),
      cell(f, "p95"),
      cell(f, "max"),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i >= 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  lines.push(fmt(header), ...rows.map(fmt));
  const sketched = s.figures.find((f) => f.n > 0 && f.sketched !== undefined)?.sketched;
  if (sketched !== undefined) lines.push(sketchedNote(sketched.relativeError));
  if ((s.counters.lean_video_windows ?? 0) > 0) lines.push(LEAN_FRAMES_NOTE);
  for (const rows of [transportText(s.groups?.transports ?? []), engineText(s.groups?.engines ?? [])])
    if (rows !== "") lines.push("", rows);
  const c = s.counters;
  const extra = [
    freezeText(c),
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

/** Under the figures when a percentile came from a bucketed sketch (docs/observability.md 6). */
export function sketchedNote(relativeError: number): string {
  return `~ a percentile over more windows than are kept raw: within ${(relativeError * 100).toFixed(0)}% of the exact nearest-rank value (n, max and the counts stay exact)`;
}

/**
 * Under the figures when lean subscribers received video: their frame rate, received height and
 * freezes come from RTP without a decoder (docs/observability.md 4.3).
 */
export const LEAN_FRAMES_NOTE =
  "lean subscribers' frame rate, height and freezes are read from RTP, not decoded: a frame counts when its last packet arrives, whole or not, so under loss they read above what a decoder shows";

/**
 * Freeze time is measured on native latency probes (docs/observability.md 4.1), by Chromium on
 * every browser subscriber, and, from frames received but not decoded, on lean subscribers: their
 * freezes with the time, said where they come from; the other tracks' count (libwebrtc's) with
 * "time unknown", never a 0 s for them.
 */
export function freezeText(c: Readonly<Record<string, number>>): string {
  if (c.freezes === undefined) return "";
  const unknown = c.freezes_time_unknown ?? 0;
  if (c.freeze_seconds === undefined) return `freezes ${c.freezes} (time unknown)`;
  const lean = c.freeze_measured_windows_lean ?? 0;
  const browser = c.freeze_measured_windows_browser ?? 0;
  const probes = (c.freeze_measured_windows ?? 0) - lean - browser;
  const where = [
    probes > 0 || lean + browser === 0 ? "on probes" : "",
    browser > 0 ? "on browser subscribers" : "",
    lean > 0 ? "in frames lean received, not decoded" : "",
  ]
    .filter((w) => w !== "")
    .join(", and ");
  const measured = `freezes ${c.freezes - unknown} (${c.freeze_seconds.toFixed(1)} s frozen, ${where})`;
  return unknown > 0 ? `${measured}, ${unknown} on other tracks (time unknown)` : measured;
}

/** A statistic that landed on a censored observation is a lower bound: "> 20.00 s". */
function cell(f: Figure, stat: CensorableStat): string {
  const v = formatValue(f[stat], f.unit);
  if (f.censored?.above.includes(stat) === true) return `> ${v}`;
  // a sketched percentile: within its relative error (the table's footnote says how close)
  return f.sketched !== undefined && stat !== "max" && f[stat] !== undefined ? `~${v}` : v;
}

/**
 * The join failures by reason; joins the run's end overtook (`run_ended`) get the fix as well:
 * nothing failed, there was no time left (a browser participant first waits for its Chromium).
 */
export function joinFailureLines(joinFailures: Readonly<Record<string, number>>): string[] {
  if (Object.keys(joinFailures).length === 0) return [];
  const lines = [`join failures ${describeCounts(joinFailures)}`];
  const overtaken = joinFailures[RUN_ENDED] ?? 0;
  if (overtaken > 0)
    lines.push(
      `              ${RUN_ENDED}: ${overtaken} still joining when the run ended (a join over a lossy or overloaded path can take seconds; a browser participant first waits for its Chromium, started one after another: about 0.5 s each on an idle 2-core machine, seconds on a busy one); a longer --duration gives them time`,
    );
  const notStarted = joinFailures[NOT_STARTED] ?? 0;
  if (notStarted > 0)
    lines.push(
      `              ${NOT_STARTED}: ${notStarted} never began to join: the run ended while ${notStarted === 1 ? "it" : "they"} waited for the generator (a browser for its Chromium, a worker loading its engines: see generator); fewer participants per machine, more CPU for the generator, or a longer --duration`,
    );
  return lines;
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}
