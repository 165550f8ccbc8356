import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  compareRuns,
  comparisonMarkdown,
  comparisonTable,
  junitXml,
  markdownSummary,
  runRecordOf,
  type Comparison,
  type RunRecord,
  type ThresholdResult,
  type Verdict,
} from "@livekit-swarm/gate";
import { TOOL, type EngineChoice, type ExitCode, type Scenario } from "@livekit-swarm/schema";
import { uplotAssets } from "../report/assets.js";
import { reportHtml } from "../report/html.js";
import { shardProblems, type ShardCoverage } from "../shard/coverage.js";
import { summaryTable } from "../report/table.js";
import { engineMarkdown, transportMarkdown } from "../report/transports.js";
import type { RunSummary } from "../run/aggregate.js";
import type { RunOutcome } from "../run/orchestrator.js";
import { exitCodeOf, failedCode, healthLines, type RunHealth } from "../run/health.js";
import { GZIP_SUFFIX } from "../run/line-file.js";

/** summary.json: the tool that wrote it, the run's identity and outcome, the scenario, the verdict, then every figure. */
export type RunReport = {
  readonly tool: typeof TOOL;
  readonly run: {
    readonly id: string;
    readonly scenario: string;
    readonly url: string;
    readonly engine: EngineChoice;
    readonly startedAt: string;
    readonly endedAt: string;
    readonly durationS: number;
    readonly endReason: RunOutcome["endReason"];
    readonly participants: number;
    readonly workers: number;
    readonly workersLost: RunOutcome["workersLost"];
    readonly workerPids: RunOutcome["workerPids"];
  };
  readonly scenario: Scenario;
  /** A merged sharded run (`swarm merge`): which shards the figures cover. */
  readonly shards?: ShardCoverage;
  readonly verdict?: "pass" | "fail";
  readonly thresholds?: readonly ThresholdResult[];
  /** With --baseline: every figure of this run against the baseline's (gate's compareRuns). */
  readonly comparison?: Comparison;
  /** With --screenshots: the browser participants' pages, relative to the output folder. */
  readonly screenshots?: readonly string[];
  /** The swarm's own health, judged on every run (run/health.ts). */
  readonly health?: RunHealth;
} & RunSummary;

/** What a finished run wrote, and what a caller shows. */
export interface RunOutputs {
  readonly outputDir: string;
  readonly report: RunReport;
  /** The summary table, with the thresholds' lines when there were any. */
  readonly table: string;
  readonly verdict?: Verdict;
  /** File names written in `outputDir`, the workers' own included. */
  readonly files: readonly string[];
}

function coverageLines(shards: ShardCoverage): string {
  const head = `shards: figures cover ${shards.covered.length} of ${shards.count} shard(s)`;
  return [head, ...shardProblems(shards).map((l) => `  ${l}`)].join("\n") + "\n";
}

export { shardProblems, type ShardCoverage };

export interface RunFacts {
  readonly runId: string;
  readonly scenario: Scenario;
  readonly url: string;
  readonly participants: number;
  readonly workers: number;
  readonly outcome: RunOutcome;
  readonly verdict: Verdict | undefined;
  readonly shards?: ShardCoverage;
  /** The run --baseline named: the report compares every figure with it. */
  readonly baseline?: RunRecord;
  /** The PNGs --screenshots saved, relative to the output folder (`listScreenshots`). */
  readonly screenshots?: readonly string[];
  /** The swarm's own health; every run has one (a caller that judged none leaves it out). */
  readonly health?: RunHealth;
  /** The run wrote samples.jsonl.gz and events.jsonl.gz (`--gzip-lines`). */
  readonly gzipLines?: boolean;
}

export function runReport(f: RunFacts, summaryFile = "this run"): RunReport {
  const { outcome, verdict } = f;
  // read as a later reader of this run's summary.json would: the same parse `swarm compare` does
  const comparison =
    f.baseline === undefined
      ? undefined
      : compareRuns(
          f.baseline,
          runRecordOf(
            {
              run: { id: f.runId, endReason: outcome.endReason },
              scenario: f.scenario,
              ...outcome.summary,
              ...(f.health !== undefined ? { health: f.health } : {}),
            },
            summaryFile,
          ),
        );
  return {
    tool: TOOL,
    run: {
      id: f.runId,
      scenario: f.scenario.name,
      url: f.url,
      engine: f.scenario.engine,
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      durationS: outcome.durationMs / 1000,
      endReason: outcome.endReason,
      participants: f.participants,
      workers: f.workers,
      workersLost: outcome.workersLost,
      workerPids: outcome.workerPids,
    },
    scenario: f.scenario,
    ...(f.shards !== undefined ? { shards: f.shards } : {}),
    ...(verdict !== undefined
      ? { verdict: verdict.passed ? "pass" : "fail", thresholds: verdict.results }
      : {}),
    ...(comparison !== undefined ? { comparison } : {}),
    ...(f.screenshots !== undefined && f.screenshots.length > 0 ? { screenshots: f.screenshots } : {}),
    ...(f.health !== undefined ? { health: f.health } : {}),
    ...outcome.summary,
  };
}

/**
 * The health checks as results beside the thresholds', for junit.xml and report.md: one test case
 * each, failed when the check failed, ahead of the thresholds.
 */
function healthResults(health: RunHealth): ThresholdResult[] {
  return health.checks.map((c) => ({
    threshold: `swarm health: ${c.name}`,
    metric: `swarm_health_${c.name}`,
    severity: "fail",
    status: c.ok ? "pass" : "fail",
    observed: undefined,
    limit: 0,
    op: "==",
    population: "run",
    n: 0,
    message: `${c.name} (${c.side === "generator" ? "the swarm's side" : "LiveKit's side"}): ${c.text}`,
  }));
}

/** The thresholds' verdict with the health checks ahead of it: what junit.xml and report.md show. */
function judged(f: RunFacts): Verdict | undefined {
  if (f.health === undefined) return f.verdict;
  const results = [...healthResults(f.health), ...(f.verdict?.results ?? [])];
  return { passed: f.health.status === "healthy" && (f.verdict?.passed ?? true), results };
}

/** `exitCode`: the run's, when it is not the 99 failed thresholds give (its health decided it). */
export function verdictLines(verdict: Verdict, exitCode?: ExitCode): string {
  const mark = { pass: "pass   ", fail: "FAIL   ", warn: "warn   ", "no-data": "NO DATA" } as const;
  const lines = verdict.results.map((r) => `  ${mark[r.status]} ${r.message}`);
  return `thresholds: ${verdict.passed ? "passed" : `FAILED ${failedCode(exitCode)}`}\n${lines.join("\n")}\n`;
}

/**
 * What a finished run shows (the summary table, the report) and the files it writes in
 * `outputDir`, before any is written: a run whose folder cannot take them still shows the table.
 */
export function runOutputs(f: RunFacts, outputDir: string): RunOutputs {
  const { outcome, verdict } = f;
  const report = runReport(f, join(outputDir, "summary.json"));
  const table =
    (f.health !== undefined ? `${healthLines(f.health).join("\n")}\n\n` : "") +
    (f.shards !== undefined ? `${coverageLines(f.shards)}\n` : "") +
    summaryTable(outcome) +
    (report.comparison !== undefined ? `\n${comparisonTable(report.comparison)}` : "") +
    (verdict !== undefined ? `\n${verdictLines(verdict, exitCodeOf(f.health))}` : "");
  const files = ["summary.json", "report.html", ...(report.screenshots ?? [])];
  // a merge writes no raw observations of its own: they stay in the shards' folders
  if (f.shards === undefined) {
    const gz = f.gzipLines === true ? GZIP_SUFFIX : "";
    files.push(`samples.jsonl${gz}`, `events.jsonl${gz}`);
  }
  if (junitProblems(f) !== undefined) files.push("junit.xml");
  if (writesMarkdown(f, report)) files.push("report.md");
  return { outputDir, report, table, files, ...(verdict !== undefined ? { verdict } : {}) };
}

/** The shards' problems junit.xml lists; undefined when the run writes no junit.xml. */
function junitProblems(f: RunFacts): string[] | undefined {
  const problems = f.shards !== undefined ? shardProblems(f.shards) : [];
  return f.verdict !== undefined || f.health !== undefined || problems.length > 0 ? problems : undefined;
}

function writesMarkdown(f: RunFacts, report: RunReport): boolean {
  return (
    f.verdict !== undefined ||
    f.health !== undefined ||
    report.comparison !== undefined ||
    report.screenshots !== undefined
  );
}

/**
 * Writes `outputs`' summary.json and report.html next to the workers' samples.jsonl and
 * events.jsonl, and with thresholds junit.xml and report.md (appended to `stepSummaryFile` too,
 * GitHub's step summary).
 */
export async function writeRunFiles(
  f: RunFacts,
  outputs: RunOutputs,
  stepSummaryFile: string | undefined,
): Promise<void> {
  const { outcome } = f;
  const verdict = judged(f);
  const { outputDir, report } = outputs;
  const problems = junitProblems(f);
  // summary.json first: the run's record, and the file a folder gone mid-run is named by
  await writeFile(join(outputDir, "summary.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (problems !== undefined) {
    await writeFile(
      join(outputDir, "junit.xml"),
      junitXml(
        verdict ?? { passed: true, results: [] },
        "livekit-swarm",
        outcome.durationMs / 1000,
        problems,
      ),
    );
  }
  if (writesMarkdown(f, report)) {
    const title = `livekit-swarm ${f.scenario.name} (run ${f.runId})`;
    const md = [
      verdict !== undefined ? markdownSummary(verdict, title) : `### ${title}\n`,
      f.health !== undefined
        ? `${healthLines(f.health)
            .map((l, i) => (i === 0 ? `**${l}**\n` : `- ${l.trim()}`))
            .join("\n")}\n`
        : "",
      report.comparison !== undefined ? comparisonMarkdown(report.comparison) : "",
      transportMarkdown(outcome.summary.groups?.transports ?? []),
      engineMarkdown(outcome.summary.groups?.engines ?? []),
      screenshotsMarkdown(report.screenshots ?? []),
    ]
      .filter((part) => part !== "")
      .join("\n");
    await writeFile(join(outputDir, "report.md"), md);
    if (stepSummaryFile !== undefined && stepSummaryFile !== "") await appendFile(stepSummaryFile, `${md}\n`);
  }
  await writeFile(join(outputDir, "report.html"), reportHtml(report, uplotAssets()));
}

/** runOutputs, then writeRunFiles. */
export async function writeRunOutputs(
  f: RunFacts,
  outputDir: string,
  stepSummaryFile: string | undefined,
): Promise<RunOutputs> {
  const outputs = runOutputs(f, outputDir);
  await writeRunFiles(f, outputs, stepSummaryFile);
  return outputs;
}

/** report.md's list of the pages --screenshots saved, each a link relative to report.md. */
export function screenshotsMarkdown(paths: readonly string[]): string {
  if (paths.length === 0) return "";
  return ["### Screenshots", "", ...paths.map((p) => `- [${p}](${p})`), ""].join("\n");
}
