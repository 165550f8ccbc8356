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
import { ExitCode } from "../../exit-codes.js";
import { helpText, parseOptions, UsageError, type CommandSpec } from "../../options.js";

const SPEC: CommandSpec = {
  name: "gate",
  summary:
    "Evaluates quality thresholds through PromQL against a Prometheus that scraped the swarm (one process or many " +
    "shards, e.g. a Kubernetes Indexed Job) and the LiveKit nodes. The same threshold language as `swarm run " +
    "--threshold`, plus LiveKit server metrics (livekit_*). Exit 99 when a fail threshold is breached.",
  usage:
    "swarm gate --prometheus URL (--summary summary.json | --run-id ID --from T --to T) --threshold EXPR ...",
  options: [
    {
      name: "prometheus",
      type: "string",
      placeholder: "url",
      description: "Prometheus base URL, e.g. http://127.0.0.1:9090",
    },
    {
      name: "summary",
      type: "string",
      placeholder: "file",
      description: "a run's summary.json: its run id and time window",
    },
    { name: "run-id", type: "string", description: "select this run's series (run_id label)" },
    {
      name: "from",
      type: "string",
      placeholder: "time",
      description: "start of the window: ISO time, or a duration ago (10m)",
    },
    {
      name: "to",
      type: "string",
      placeholder: "time",
      description: "end of the window: ISO time, or now (default)",
    },
    {
      name: "threshold",
      type: "strings",
      placeholder: "expr",
      description: "a threshold expression (repeatable)",
    },
    {
      name: "thresholds",
      type: "string",
      placeholder: "file",
      description: "YAML: a list of expressions, or a scenario with thresholds:",
    },
    {
      name: "output",
      type: "string",
      short: "o",
      placeholder: "dir",
      description: "write junit.xml and report.md here",
    },
    {
      name: "baseline",
      type: "string",
      placeholder: "file|dir",
      description: 'an earlier run\'s summary.json or folder, for thresholds like "<= baseline + 20%"',
    },
    { name: "json", type: "boolean", description: "print the verdict as JSON" },
  ],
  examples: [
    "swarm gate --prometheus http://127.0.0.1:9090 --summary swarm-results/x/summary.json --threshold 'lkswarm_join_duration_seconds p95 < 1s'",
    "swarm gate --prometheus http://prom:9090 --run-id 20261122-0600-ab12 --from 15m --thresholds scenarios/audio-radio.yaml",
    "swarm gate --prometheus http://prom:9090 --from 10m --threshold 'livekit_packet_loss_total count < 100'",
  ],
};

function parseTime(flag: string, text: string, now: number): number {
  const ago = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(text);
  if (ago !== null)
    return now - Number(ago[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[ago[2] as "s" | "m" | "h"];
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new UsageError(
      `gate: --${flag}: expected an ISO time or a duration ago (30s, 10m, 2h), got ${JSON.stringify(text)}`,
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

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  const prometheus = values.prometheus as string | undefined;
  if (prometheus === undefined)
    throw new UsageError("gate: --prometheus URL is required; see `swarm gate --help`");
  const now = Date.now();
  let runId = values["run-id"] as string | undefined;
  let startMs: number | undefined;
  let endMs: number | undefined;
  const summaryFile = values.summary as string | undefined;
  if (summaryFile !== undefined) {
    const summary = JSON.parse(await readFile(summaryFile, "utf8")) as {
      run?: { id?: string; startedAt?: string; endedAt?: string };
    };
    runId ??= summary.run?.id;
    startMs = summary.run?.startedAt !== undefined ? Date.parse(summary.run.startedAt) : undefined;
    endMs = summary.run?.endedAt !== undefined ? Date.parse(summary.run.endedAt) : undefined;
  }
  if (values.from !== undefined) startMs = parseTime("from", values.from as string, now);
  if (values.to !== undefined) endMs = parseTime("to", values.to as string, now);
  endMs ??= now;
  if (startMs === undefined)
    throw new UsageError("gate: the time window is unknown: pass --summary summary.json or --from");
  if (startMs >= endMs) throw new UsageError("gate: --from must be before --to");

  const texts = [...((values.threshold as string[] | undefined) ?? [])];
  if (values.thresholds !== undefined) texts.push(...(await thresholdsFrom(values.thresholds as string)));
  if (texts.length === 0)
    throw new UsageError("gate: no thresholds: pass --threshold EXPR or --thresholds FILE");
  const baseline = await loadBaseline(values.baseline as string | undefined, undefined, true);
  const thresholds: Threshold[] = applyBaseline(
    texts.map((t) => parseThreshold(t, { allowServerMetrics: true })),
    baseline,
  );

  const verdict = await evaluateThroughPrometheus(thresholds, prometheus, { runId, startMs, endMs });
  if (values.json === true) {
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
  const output = values.output as string | undefined;
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
