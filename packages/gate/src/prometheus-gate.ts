import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  parseDuration,
  quoted,
  quotedPath,
  readConfigText,
  readFailure,
  readYaml,
  KnownError,
  messageOf,
} from "@livekit-swarm/schema";
import { applyBaseline, loadBaseline } from "./baseline.js";
import { junitXml, markdownSummary } from "./outputs.js";
import { evaluateThroughPrometheus, type PromQuery, type RunWindow } from "./promql.js";
import { parseThreshold, type Threshold } from "./threshold.js";
import type { Verdict } from "./verdict.js";

/** What `swarm gate` asks of a Prometheus: the run's window and the thresholds to judge it by. */
export interface PrometheusGateRequest {
  /** Prometheus base URL. */
  readonly prometheus: string;
  /** A run's summary.json: its run id and time window. */
  readonly summary?: string | undefined;
  /** The run's series (run_id label); the summary's when absent. */
  readonly runId?: string | undefined;
  /** Start of the window: an ISO time, or a duration ago (10m); overrides the summary's. */
  readonly from?: string | undefined;
  /** End of the window, as `from`; the summary's, else now. */
  readonly to?: string | undefined;
  /** Threshold expressions. */
  readonly threshold?: readonly string[] | undefined;
  /** A YAML file: a list of expressions, or a mapping (a scenario) with a `thresholds:` list. */
  readonly thresholds?: string | undefined;
  /** An earlier run's summary.json or output folder, for relative thresholds. */
  readonly baseline?: string | undefined;
}

/** A gate request that cannot be evaluated; the message names the flag or file and what to pass. */
export class GateRequestError extends KnownError<"usage"> {
  override readonly name = "GateRequestError";
  constructor(message: string) {
    super("usage", message);
  }
}

export interface PrometheusGateOutcome {
  readonly verdict: Verdict & { readonly queries: readonly PromQuery[] };
  readonly window: RunWindow;
}

/** Resolves the run's window and thresholds, then judges them through PromQL. */
export async function gateOverPrometheus(
  request: PrometheusGateRequest,
  now: number = Date.now(),
): Promise<PrometheusGateOutcome> {
  const window = await runWindow(request, now);
  const thresholds = await requestedThresholds(request);
  const verdict = await evaluateThroughPrometheus(thresholds, request.prometheus, window);
  return { verdict, window };
}

/** junit.xml and report.md of a gate over Prometheus, in `dir` (created). */
export async function writeGateReports(dir: string, outcome: PrometheusGateOutcome): Promise<void> {
  const { verdict, window } = outcome;
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "junit.xml"),
    junitXml(verdict, "livekit-swarm-prometheus", (window.endMs - window.startMs) / 1000),
  );
  await writeFile(join(dir, "report.md"), markdownSummary(verdict, "livekit-swarm gate over Prometheus"));
}

/** The window to judge: the summary's run, narrowed or replaced by `from` and `to`, ending now by default. */
export async function runWindow(request: PrometheusGateRequest, now: number): Promise<RunWindow> {
  let runId = request.runId;
  let startMs: number | undefined;
  let endMs: number | undefined;
  if (request.summary !== undefined) {
    const summary = await readSummary(request.summary);
    runId ??= summary.run?.id;
    startMs = summary.run?.startedAt !== undefined ? Date.parse(summary.run.startedAt) : undefined;
    endMs = summary.run?.endedAt !== undefined ? Date.parse(summary.run.endedAt) : undefined;
  }
  if (request.from !== undefined) startMs = timeOf("from", request.from, now);
  if (request.to !== undefined) endMs = timeOf("to", request.to, now);
  endMs ??= now;
  if (startMs === undefined)
    throw new GateRequestError("gate: the time window is unknown: pass --summary summary.json or --from");
  if (startMs >= endMs) throw new GateRequestError("gate: --from must be before --to");
  return { runId, startMs, endMs };
}

/** The request's thresholds, expressions first, then the file's, relative ones resolved against the baseline. */
export async function requestedThresholds(request: PrometheusGateRequest): Promise<Threshold[]> {
  const texts = [...(request.threshold ?? [])];
  if (request.thresholds !== undefined) texts.push(...(await thresholdsFrom(request.thresholds)));
  if (texts.length === 0)
    throw new GateRequestError("gate: no thresholds: pass --threshold EXPR or --thresholds FILE");
  const baseline = await loadBaseline(request.baseline, undefined, true);
  return applyBaseline(
    texts.map((t) => parseThreshold(t, { allowServerMetrics: true })),
    baseline,
  );
}

/** An ISO time, or a duration ago (30s, 10m, 2h) before `now`. */
export function timeOf(flag: "from" | "to", text: string, now: number): number {
  if (/^\d+(?:\.\d+)?(s|m|h)$/.test(text)) {
    try {
      return now - parseDuration(text);
    } catch (err) {
      throw new GateRequestError(`gate: --${flag}: ${messageOf(err)}`);
    }
  }
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new GateRequestError(
      `gate: --${flag}: expected an ISO time or a duration ago (30s, 10m, 2h), got ${quoted(text)}`,
    );
  return t;
}

async function thresholdsFrom(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readConfigText(file);
  } catch (err) {
    throw new GateRequestError(`gate: --thresholds ${file}: ${readFailure(err)}`);
  }
  const read = readYaml(text, file);
  if ("problems" in read)
    throw new GateRequestError(`gate: --thresholds ${file}: ${read.problems[0]?.message ?? "not YAML"}`);
  const doc = read.value;
  const list = Array.isArray(doc) ? doc : thresholdsKey(doc);
  if (!Array.isArray(list) || !list.every((x): x is string => typeof x === "string")) {
    throw new GateRequestError(
      `gate: --thresholds ${file}: expected a list of threshold expressions, or a mapping with a thresholds: list`,
    );
  }
  return list;
}

function thresholdsKey(doc: unknown): unknown {
  return typeof doc === "object" && doc !== null && "thresholds" in doc ? doc.thresholds : undefined;
}

interface SummaryWindow {
  readonly run?: { readonly id?: string; readonly startedAt?: string; readonly endedAt?: string };
}

/** A run's summary.json, read and checked: every failure is one line naming the file. */
async function readSummary(file: string): Promise<SummaryWindow> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = err instanceof Error && "code" in err ? err.code : undefined;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "a folder, not a file (pass the summary.json inside it)"
          : code === "EACCES"
            ? "not readable"
            : typeof code === "string"
              ? code
              : "unreadable";
    throw new GateRequestError(
      `gate: --summary ${quotedPath(file)}: ${why}; pass the summary.json a run wrote`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new GateRequestError(
      `gate: --summary ${quotedPath(file)}: not JSON; pass the summary.json a run wrote`,
    );
  }
  const run = typeof doc === "object" && doc !== null && "run" in doc ? doc.run : undefined;
  if (typeof doc !== "object" || doc === null || typeof run !== "object" || run === null)
    throw new GateRequestError(
      `gate: --summary ${quotedPath(file)}: not a swarm summary (no "run" with its id and times); pass the summary.json a run wrote`,
    );
  return doc;
}
