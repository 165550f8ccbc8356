import type { DrillJournal } from "./journal.js";
import { backOverText } from "./report.js";

function ms(value: number | null): string {
  return value === null ? "–" : `${(value / 1000).toFixed(1)} s`;
}

/** The few lines a drill's run ends with: verdict, aggregates, each expectation and finding, the artifacts. */
export function journalSummary(j: DrillJournal): string {
  const a = j.aggregates;
  const lost = Object.entries(a.lostByReason)
    .map(([r, n]) => `${r} ${n}`)
    .join(", ");
  return [
    `${j.verdict.toUpperCase()} (${j.status}): ${j.reason}`,
    `participants: ${a.affected} of ${a.participants} affected; paths resume ${a.paths.resume}, full ${a.paths.full}, rejoin ${a.paths.rejoin}; lost ${lost === "" ? "0" : lost}`,
    `detect p50 ${ms(a.detect.p50)} p95 ${ms(a.detect.p95)} | reconnect p50 ${ms(a.reconnect.p50)} p95 ${ms(a.reconnect.p95)} max ${ms(a.reconnect.max)} | media resume p50 ${ms(a.mediaResume.p50)} p95 ${ms(a.mediaResume.p95)} max ${ms(a.mediaResume.max)}`,
    a.signalPaths === null
      ? "by population: signal paths unknown for this backend"
      : `by population: ${a.byPopulation.map((p) => `${p.population} ${p.affected}/${p.participants} detect p50 ${ms(p.detect.p50)} max ${ms(p.detect.max)}`).join(" | ")}`,
    ...(a.byTransport !== undefined
      ? [
          `by path before: ${a.byTransport.map((t) => `${t.transport} ${t.affected}/${t.participants} reconnect p95 ${ms(t.reconnect.p95)} back over ${backOverText(t)}`).join(" | ")}`,
        ]
      : []),
    ...j.expectations.map(
      (e) =>
        `  ${e.met === true ? "ok  " : e.met === false ? "FAIL" : "n/a "} ${e.name}: ${e.observed} (expected ${e.expected})`,
    ),
    ...j.findings.map((f) => `  finding (${f.severity}): ${f.title}: ${f.detail}`),
    `journal ${j.artifacts.journal ?? ""}`,
    `report  ${j.artifacts.report ?? ""}`,
    `junit   ${j.artifacts.junit ?? ""}`,
    "",
  ].join("\n");
}
