import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  applyBaseline,
  evaluateThroughPrometheus,
  loadBaseline,
  junitXml,
  markdownSummary,
  parseThreshold,
  type Threshold,
} from "@livekit-swarm/gate";
import { ExitCode, quoted } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { duration } from "../../flags.js";
import type { GateFlags } from "./options.js";

function parseTime(flag: string, text: string, now: number): number {
  if (/^\d+(?:\.\d+)?(s|m|h)$/.test(text)) return now - duration("gate", flag)(text);
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new UsageError(
      `gate: --${flag}: expected an ISO time or a duration ago (30s, 10m, 2h), got ${quoted(text)}`,
    );
  return t;
}

async function thresholdsFrom(file: string): Promise<string[]> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, "utf8"));
  } catch (err) {
    throw new UsageError(
      `gate: --thresholds ${file}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
    );
  }
  const list = Array.isArray(doc) ? doc : (doc as { thresholds?: unknown } | null)?.thresholds;
  if (!Array.isArray(list) || !list.every((x): x is string => typeof x === "string")) {
    throw new UsageError(
      `gate: --thresholds ${file}: expected a list of threshold expressions, or a mapping with a thresholds: list`,
    );
  }
  return list;
}

interface SummaryWindow {
  readonly run?: { readonly id?: string; readonly startedAt?: string; readonly endedAt?: string };
}

/** A run's summary.json, read and checked inside the error boundary: every failure is one line naming the file. */
async function readSummary(file: string): Promise<SummaryWindow> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "a folder, not a file (pass the summary.json inside it)"
          : code === "EACCES"
            ? "not readable"
            : (code ?? "unreadable");
    throw new UsageError(`gate: --summary ${quoted(file)}: ${why}; pass the summary.json a run wrote`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UsageError(`gate: --summary ${quoted(file)}: not JSON; pass the summary.json a run wrote`);
  }
  const run = (doc as { run?: unknown } | null)?.run;
  if (typeof doc !== "object" || doc === null || typeof run !== "object" || run === null)
    throw new UsageError(
      `gate: --summary ${quoted(file)}: not a swarm summary (no "run" with its id and times); pass the summary.json a run wrote`,
    );
  return doc;
}

export async function gate(flags: GateFlags): Promise<number> {
  const { prometheus } = flags;
  if (prometheus === undefined)
    throw new UsageError("gate: --prometheus URL is required; see `swarm gate --help`");
  const now = Date.now();
  let runId = flags.runId;
  let startMs: number | undefined;
  let endMs: number | undefined;
  const summaryFile = flags.summary;
  if (summaryFile !== undefined) {
    const summary = await readSummary(summaryFile);
    runId ??= summary.run?.id;
    startMs = summary.run?.startedAt !== undefined ? Date.parse(summary.run.startedAt) : undefined;
    endMs = summary.run?.endedAt !== undefined ? Date.parse(summary.run.endedAt) : undefined;
  }
  if (flags.from !== undefined) startMs = parseTime("from", flags.from, now);
  if (flags.to !== undefined) endMs = parseTime("to", flags.to, now);
  endMs ??= now;
  if (startMs === undefined)
    throw new UsageError("gate: the time window is unknown: pass --summary summary.json or --from");
  if (startMs >= endMs) throw new UsageError("gate: --from must be before --to");

  const texts = [...(flags.threshold ?? [])];
  if (flags.thresholds !== undefined) texts.push(...(await thresholdsFrom(flags.thresholds)));
  if (texts.length === 0)
    throw new UsageError("gate: no thresholds: pass --threshold EXPR or --thresholds FILE");
  const baseline = await loadBaseline(flags.baseline, undefined, true);
  const thresholds: Threshold[] = applyBaseline(
    texts.map((t) => parseThreshold(t, { allowServerMetrics: true })),
    baseline,
  );

  const verdict = await evaluateThroughPrometheus(thresholds, prometheus, { runId, startMs, endMs });
  if (flags.json === true) {
    process.stdout.write(
      `${JSON.stringify({ verdict: verdict.passed ? "pass" : "fail", runId, results: verdict.results, queries: verdict.queries }, null, 2)}\n`,
    );
  } else {
    const mark = { pass: "pass   ", fail: "FAIL   ", warn: "warn   ", "no-data": "NO DATA" } as const;
    process.stdout.write(
      `thresholds over Prometheus${runId !== undefined ? ` (run ${runId})` : ""}: ${verdict.passed ? "passed" : "FAILED (exit 99)"}\n`,
    );
    for (const r of verdict.results) process.stdout.write(`  ${mark[r.status]} ${r.message}\n`);
  }
  const output = flags.output;
  if (output !== undefined) {
    await mkdir(output, { recursive: true });
    await writeFile(
      join(output, "junit.xml"),
      junitXml(verdict, "livekit-swarm-prometheus", (endMs - startMs) / 1000),
    );
    await writeFile(
      join(output, "report.md"),
      markdownSummary(verdict, "livekit-swarm gate over Prometheus"),
    );
  }
  return verdict.passed ? ExitCode.ok : ExitCode.thresholdsFailed;
}
