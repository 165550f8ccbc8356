import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  junitXml,
  markdownSummary,
  type Measurements,
  type ThresholdResult,
  type Verdict,
} from "@livekit-swarm/gate";
import { impactSection, type ImpactRow, type StormWindows } from "./impact.js";
import type { K6Summary, K6Threshold } from "./k6-output.js";

/** What one k6 storm left (`k6Storm`), before a verdict. */
export interface K6StormResult {
  readonly scenario: string;
  readonly script: string;
  readonly url: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly k6ExitCode: number;
  readonly k6: K6Summary | undefined;
  readonly unreadablePoints: number;
}

export interface StormFacts extends K6StormResult {
  readonly runId: string;
  readonly measurements: Measurements;
  readonly verdict: Verdict;
  /** A storm beside a media swarm: the media's figures before, during and after it. */
  readonly mediaImpact?: StormReport["mediaImpact"];
}

/** A distribution's figures in seconds; undefined where there was no observation. */
export interface StormDistribution {
  readonly n: number;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly max: number | undefined;
}

/** summary.json of a storm. */
export interface StormReport {
  readonly run: {
    readonly id: string;
    readonly kind: "storm";
    readonly scenario: string;
    readonly script: string;
    readonly url: string;
    readonly startedAt: string;
    readonly endedAt: string;
    readonly durationS: number;
    readonly k6ExitCode: number;
  };
  readonly verdict: "pass" | "fail";
  /** Ours (`--threshold`), then k6's own, each as one result. */
  readonly thresholds: readonly ThresholdResult[];
  readonly storm: {
    readonly joins: number;
    readonly joinFailures: Readonly<Record<string, number>>;
    /** Over joins: one value per JoinResponse. */
    readonly joinDuration: StormDistribution;
    readonly api: Readonly<
      Record<string, StormDistribution & { readonly failures: Readonly<Record<string, number>> }>
    >;
    /** Resumes (reconnect storm): time to the server's answer by state, failures by reason. */
    readonly reconnects: Readonly<Record<string, StormDistribution>>;
    readonly reconnectFailures: Readonly<Record<string, number>>;
  };
  /** k6's own end-of-test figures, by k6 metric name (times in milliseconds, as k6 keeps them). */
  readonly k6: K6Summary["metrics"];
  /** Lines of k6's JSON output that were not JSON (k6 stopped mid-line). */
  readonly unreadablePoints: number;
  /** Beside a media swarm (a scenario's `storm:` block): the media before, during and after the storm. */
  readonly mediaImpact?: { readonly windows: StormWindows; readonly rows: readonly ImpactRow[] };
}

function distribution(m: Measurements, metric: string, where?: Record<string, string>): StormDistribution {
  const f = m.figure(metric, "participants", where !== undefined ? { where } : {});
  return { n: f.n, p50: f.p50.value, p95: f.p95.value, p99: f.p99.value, max: f.max.value };
}

/** Totals of a counter by one label's values. */
function byLabel(
  m: Measurements,
  metric: string,
  label: string,
  values: Iterable<string>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = m.count(metric, { where: { [label]: v } }).total;
  return out;
}

const K6_EXPRESSION =
  /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/** One of k6's thresholds as a verdict line, so junit.xml and report.md list it beside ours. */
export function k6ThresholdResult(t: K6Threshold, summary: K6Summary): ThresholdResult {
  const m = K6_EXPRESSION.exec(t.expression);
  const stat = m?.[1] ?? "";
  const op = (m?.[2] ?? "<") as ThresholdResult["op"];
  const limit = m !== null ? Number(m[3]) : Number.NaN;
  const observed = summary.metrics[t.metric]?.[stat];
  const text = `k6: ${t.metric} ${t.expression}`;
  return {
    threshold: text,
    metric: t.metric,
    severity: "fail",
    status: t.passed ? "pass" : "fail",
    observed,
    limit,
    op,
    population: "k6",
    n: summary.metrics[t.metric]?.count ?? 0,
    message: `${text}: observed ${observed === undefined ? "?" : String(Number(observed.toPrecision(4)))} (k6's figure, ${t.passed ? "within" : "crossed"})`,
  };
}

/** k6's own thresholds of a storm as verdict lines; none without its summary. */
export function k6Results(k6: K6Summary | undefined): ThresholdResult[] {
  return k6 === undefined ? [] : k6.thresholds.map((t) => k6ThresholdResult(t, k6));
}

/** The storm's figures as a markdown section (report.md). */
export function stormSection(r: StormReport): string {
  const ms = (v: number | undefined): string => (v === undefined ? "-" : `${(v * 1000).toFixed(1)} ms`);
  const d = r.storm.joinDuration;
  const failures = Object.entries(r.storm.joinFailures).filter(([, n]) => n > 0);
  const lines = [
    `## Signalling storm: ${r.run.scenario}`,
    "",
    `${r.run.durationS.toFixed(1)} s against ${r.run.url}; k6 exit ${r.run.k6ExitCode}.`,
    "",
    "| figure | value |",
    "| --- | --- |",
    `| joins (JoinResponse received) | ${r.storm.joins} |`,
    `| join failures | ${failures.length === 0 ? "0" : failures.map(([k, n]) => `${k}: ${n}`).join(", ")} |`,
    `| time to JoinResponse p50 / p95 / p99 / max (over ${d.n} joins) | ${ms(d.p50)} / ${ms(d.p95)} / ${ms(d.p99)} / ${ms(d.max)} |`,
  ];
  for (const [state, a] of Object.entries(r.storm.reconnects))
    lines.push(
      `| resumes answered ${state}: p50 / p95 / p99 (${a.n}) | ${ms(a.p50)} / ${ms(a.p95)} / ${ms(a.p99)} |`,
    );
  const lost = Object.entries(r.storm.reconnectFailures).filter(([, n]) => n > 0);
  if (lost.length > 0) lines.push(`| resume failures | ${lost.map(([k, n]) => `${k}: ${n}`).join(", ")} |`);
  for (const [method, a] of Object.entries(r.storm.api)) {
    const failed = Object.values(a.failures).reduce((x, y) => x + y, 0);
    lines.push(
      `| RoomService ${method} p50 / p95 / p99 (${a.n} calls, ${failed} failed) | ${ms(a.p50)} / ${ms(a.p95)} / ${ms(a.p99)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function labelValues(m: Measurements, metric: string, label: string): Set<string> {
  return new Set(m.labelValues(metric, label));
}

/** Writes summary.json, junit.xml and report.md; returns the summary. */
export async function writeStormOutputs(outputDir: string, f: StormFacts): Promise<StormReport> {
  const m = f.measurements;
  const fromK6 = k6Results(f.k6);
  const results = [...f.verdict.results, ...fromK6];
  const passed = f.verdict.passed && fromK6.every((r) => r.status === "pass");
  const methods = new Set([
    ...labelValues(m, "lkswarm_storm_api_duration_seconds", "method"),
    ...labelValues(m, "lkswarm_storm_api_failures_total", "method"),
  ]);
  const api: Record<string, StormDistribution & { failures: Record<string, number> }> = {};
  for (const method of [...methods].sort()) {
    const failures: Record<string, number> = {};
    for (const reason of labelValues(m, "lkswarm_storm_api_failures_total", "reason"))
      failures[reason] = m.count("lkswarm_storm_api_failures_total", { where: { method, reason } }).total;
    api[method] = { ...distribution(m, "lkswarm_storm_api_duration_seconds", { method }), failures };
  }
  const report: StormReport = {
    run: {
      id: f.runId,
      kind: "storm",
      scenario: f.scenario,
      script: f.script,
      url: f.url,
      startedAt: f.startedAt.toISOString(),
      endedAt: f.endedAt.toISOString(),
      durationS: (f.endedAt.getTime() - f.startedAt.getTime()) / 1000,
      k6ExitCode: f.k6ExitCode,
    },
    verdict: passed ? "pass" : "fail",
    thresholds: results,
    storm: {
      joins: m.count("lkswarm_storm_joins_total").total,
      joinFailures: byLabel(
        m,
        "lkswarm_storm_join_failures_total",
        "reason",
        labelValues(m, "lkswarm_storm_join_failures_total", "reason"),
      ),
      joinDuration: distribution(m, "lkswarm_storm_join_duration_seconds"),
      api,
      reconnects: Object.fromEntries(
        [...labelValues(m, "lkswarm_storm_reconnect_duration_seconds", "state")].map((state) => [
          state,
          distribution(m, "lkswarm_storm_reconnect_duration_seconds", { state }),
        ]),
      ),
      reconnectFailures: byLabel(
        m,
        "lkswarm_storm_reconnect_failures_total",
        "reason",
        labelValues(m, "lkswarm_storm_reconnect_failures_total", "reason"),
      ),
    },
    k6: f.k6?.metrics ?? {},
    unreadablePoints: f.unreadablePoints,
    ...(f.mediaImpact !== undefined ? { mediaImpact: f.mediaImpact } : {}),
  };
  const verdict: Verdict = { passed, results };
  await writeFile(join(outputDir, "summary.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(
    join(outputDir, "junit.xml"),
    junitXml(verdict, "livekit-swarm-storm", report.run.durationS),
  );
  const md = [stormSection(report)];
  if (f.mediaImpact !== undefined) md.push(impactSection(f.mediaImpact.rows, f.mediaImpact.windows));
  if (results.length > 0) md.push(markdownSummary(verdict, "Thresholds"));
  await writeFile(join(outputDir, "report.md"), md.join("\n"));
  return report;
}
