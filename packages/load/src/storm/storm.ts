import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Measurements, evaluate, type Threshold, type Verdict } from "@livekit-swarm/gate";
import {
  ExitCode,
  exitCodeForSignal,
  redactSecrets,
  type StormObservation,
  KnownError,
} from "@livekit-swarm/schema";
import { findBinary } from "@livekit-swarm/testbed";
import type { RunTarget } from "../run/orchestrator.js";
import { linger, newRunId } from "../session/clock.js";
import { checkOutputDir, openTarget } from "../session/target.js";
import { parseK6Summary } from "./k6-output.js";
import { PointsReader } from "./points-tail.js";
import { writeStormOutputs, type K6StormResult, type StormReport } from "./report.js";

/** A storm that could not run or whose k6 broke; the message names the fix. */
export class StormError extends KnownError<"script" | "k6"> {
  override readonly name = "StormError";
}

/** The ready-made storms, scenarios/k6/<name>.js. */
export const STORM_SCENARIOS = ["join-storm", "churn", "reconnect", "room-service"] as const;

const SCENARIO_DIR = fileURLToPath(new URL("../../../../scenarios/k6", import.meta.url));

/** k6 exits 99 when one of its thresholds is crossed (the code `swarm` uses for the same). */
const K6_THRESHOLDS_CROSSED = 99;

/**
 * System tags k6 puts on its points. `url` is left out: a WebSocket URL carries the access token,
 * and k6's JSON output would otherwise keep one per join. `error` may quote it too.
 */
const SYSTEM_TAGS = "status,method,name,group,check,error_code,scenario,expected_response";

/** Throws now what a storm would throw at its start: no such script, no k6 binary. */
export function checkStorm(script: string): void {
  stormScript(script);
  findBinary("k6");
}

/** A ready-made storm's name, or a path to a k6 script. */
export function stormScript(nameOrPath: string): { name: string; path: string } {
  if ((STORM_SCENARIOS as readonly string[]).includes(nameOrPath))
    return { name: nameOrPath, path: join(SCENARIO_DIR, `${nameOrPath}.js`) };
  const path = resolve(nameOrPath);
  if (!existsSync(path))
    throw new StormError(
      "script",
      `storm: no such scenario or script ${JSON.stringify(nameOrPath)}: use one of ${STORM_SCENARIOS.join(", ")} or a path to a k6 script`,
    );
  return { name: nameOrPath.replace(/^.*\//, "").replace(/\.[cm]?js$/, ""), path };
}

/**
 * A storm's live Prometheus metrics. load does not depend on the exporter: the CLI passes
 * `@livekit-swarm/exporter`'s SwarmExporter, which has this shape.
 */
export interface StormMetrics {
  /** Creates the join series at zero before k6 starts. */
  prepareStorm(): void;
  onStorm(o: StormObservation): void;
  serve(options: { readonly port: number; readonly host?: string }): Promise<{
    readonly url: string;
    close(): Promise<void>;
  }>;
}

export interface StormMetricsOptions {
  /** Serve /metrics on this port during the storm (0: pick one). */
  readonly port?: number;
  readonly host?: string;
  /** Keep /metrics up this long after a storm that was not interrupted, for a final scrape. */
  readonly lingerMs?: number;
  /** Builds the storm's metrics once its run id is known; the storm's name is the scenario label. */
  readonly create: (run: { readonly runId: string; readonly scenario: string }) => StormMetrics;
}

export interface StormOptions {
  readonly script: string;
  /** None: an embedded one-node testbed, started and stopped for the storm. */
  readonly target?: RunTarget;
  /** STORM_* settings for the script (rate, duration, VUs, holds, its own k6 thresholds). */
  readonly settings: Readonly<Record<string, string>>;
  readonly thresholds: readonly Threshold[];
  readonly outputDir?: string;
  readonly log: (line: string) => void;
  /** /metrics during the storm, fed as k6's points arrive (about once a second). */
  readonly metrics?: StormMetricsOptions;
}

export interface StormResult {
  readonly exitCode: number;
  readonly report: StormReport;
  readonly verdict: Verdict;
  readonly outputDir: string;
}

/**
 * Runs a k6 storm against the target (or an embedded testbed), reads k6's points and summary back
 * into the catalog's storm figures, evaluates `thresholds` over them and writes summary.json,
 * junit.xml, report.md and k6.log. Exit code: 99 when k6's own thresholds or ours failed.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  const runId = newRunId();
  const outputDir = options.outputDir ?? join("swarm-results", runId);
  checkOutputDir(outputDir);
  const { name: scenario } = stormScript(options.script);
  const metrics = options.metrics?.create({ runId, scenario });
  metrics?.prepareStorm();
  const server =
    metrics !== undefined && options.metrics?.port !== undefined
      ? await metrics.serve({
          port: options.metrics.port,
          ...(options.metrics.host !== undefined ? { host: options.metrics.host } : {}),
        })
      : undefined;
  if (server !== undefined) options.log(`metrics: ${server.url}`);
  const measurements = new Measurements({ cutsAfterStartMs: options.thresholds.map((t) => t.warmupMs ?? 0) });
  let stoppedBy: "SIGINT" | "SIGTERM" | undefined;
  const stopped = new AbortController();
  const forward = (signal: "SIGINT" | "SIGTERM") => (): void => {
    stoppedBy = signal;
    stopped.abort();
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const opened = await openTarget(options.target, options.log);
    let storm: K6StormResult;
    // the storm's clock starts as k6 does (its warm-ups are cuts made before its figures come)
    const startedMs = Date.now();
    measurements.setRunWindow(startedMs);
    try {
      storm = await k6Storm({
        script: options.script,
        target: opened.target,
        runId,
        outputDir,
        settings: options.settings,
        feed: (o) => {
          measurements.onStorm(o);
          metrics?.onStorm(o);
        },
        stop: stopped.signal,
        log: options.log,
      });
    } finally {
      await opened.stop();
    }
    measurements.setRunWindow(startedMs, storm.endedAt.getTime());
    const verdict = evaluate(options.thresholds, measurements);
    const report = await writeStormOutputs(outputDir, { ...storm, runId, measurements, verdict });
    const lingerMs = options.metrics?.lingerMs ?? 0;
    // a final scrape after a storm that ran to its end; Ctrl-C means stop now
    if (server !== undefined && lingerMs > 0 && stoppedBy === undefined) {
      options.log(`keeping ${server.url} up for ${lingerMs / 1000} s for a final scrape`);
      await linger(lingerMs, [stopped.signal]);
    }
    const exitCode =
      stoppedBy !== undefined
        ? exitCodeForSignal(stoppedBy)
        : report.verdict === "fail" || storm.k6ExitCode === K6_THRESHOLDS_CROSSED
          ? ExitCode.thresholdsFailed
          : ExitCode.ok;
    return { exitCode, report, verdict, outputDir };
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    await server?.close();
  }
}

export interface K6StormOptions {
  /** A ready-made storm's name or a path to a k6 script. */
  readonly script: string;
  readonly target: RunTarget;
  readonly runId: string;
  /** Where k6.log and k6-summary.json go (created if missing). */
  readonly outputDir: string;
  readonly settings: Readonly<Record<string, string>>;
  /** Each figure as k6's points arrive (about once a second). */
  readonly feed: (o: StormObservation) => void;
  /** Stops k6 (SIGINT): its summary is still written and read. */
  readonly stop: AbortSignal;
  readonly log: (line: string) => void;
}

/**
 * Runs one k6 storm against an open target, feeding its figures as they arrive, and reads k6's
 * summary back: `swarm storm`, and a scenario's `storm:` block beside a media swarm. Throws
 * StormError when k6 failed for another reason than its thresholds (and was not stopped).
 */
export async function k6Storm(options: K6StormOptions): Promise<K6StormResult> {
  const { name: scenario, path: script } = stormScript(options.script);
  const bin = findBinary("k6");
  const { outputDir } = options;
  await mkdir(outputDir, { recursive: true });
  const pointsFile = join(outputDir, "k6-points.jsonl");
  const summaryFile = join(outputDir, "k6-summary.json");
  const points = new PointsReader(pointsFile, options.feed);
  const startedAt = new Date();
  const exit = await runK6(bin, script, options.target, {
    runId: options.runId,
    scenario,
    outputDir,
    pointsFile,
    summaryFile,
    settings: options.settings,
    stop: options.stop,
    points,
    log: options.log,
  });
  const endedAt = new Date();
  // the points hold every join's figures; the summary keeps what a reader needs
  if (existsSync(pointsFile)) await rm(pointsFile);
  const k6 = existsSync(summaryFile) ? await readK6Summary(summaryFile) : undefined;
  const k6ExitCode = exit.code ?? -1;
  if (!options.stop.aborted && k6ExitCode !== 0 && k6ExitCode !== K6_THRESHOLDS_CROSSED)
    throw new StormError(
      "k6",
      `storm: k6 exited ${exit.code ?? exit.signal ?? "?"} before finishing: see ${join(outputDir, "k6.log")}`,
    );
  return {
    scenario,
    script,
    url: exit.url,
    startedAt,
    endedAt,
    k6ExitCode,
    k6,
    unreadablePoints: points.unreadable,
  };
}

interface K6Run {
  readonly runId: string;
  readonly scenario: string;
  readonly outputDir: string;
  readonly pointsFile: string;
  readonly summaryFile: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly stop: AbortSignal;
  readonly points: PointsReader;
  readonly log: (line: string) => void;
}

/** Runs k6 to its end (or until `stop`, forwarded as SIGINT), reading its points as they come. */
async function runK6(
  k6: string,
  script: string,
  target: RunTarget,
  run: K6Run,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; url: string }> {
  run.log(`storm ${run.scenario}: k6 against ${target.url} (run ${run.runId}, output ${run.outputDir})`);
  const child = spawn(
    k6,
    [
      "run",
      "--no-usage-report",
      "--quiet",
      "--no-color",
      "--summary-export",
      run.summaryFile,
      "--out",
      `json=${run.pointsFile}`,
      "--system-tags",
      SYSTEM_TAGS,
      script,
    ],
    {
      // the keys travel in the environment only, never on k6's command line (ps shows that)
      env: {
        ...process.env,
        K6_NO_USAGE_REPORT: "true",
        LIVEKIT_URL: target.url,
        LIVEKIT_API_KEY: target.apiKey,
        LIVEKIT_API_SECRET: target.apiSecret,
        STORM_PREFIX: `storm-${run.runId}`,
        ...run.settings,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const onStop = (): void => {
    child.kill("SIGINT");
  };
  run.stop.addEventListener("abort", onStop);
  const logFile = createWriteStream(join(run.outputDir, "k6.log"));
  const copied = [child.stdout, child.stderr].map(async (stream) => {
    for await (const line of createInterface({ input: stream }))
      logFile.write(`${redactSecrets(line, target.apiSecret)}\n`);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    child.on("error", fail);
    child.on("close", (code, signal) => {
      done({ code, signal });
    });
  });
  try {
    await run.points.follow(exited);
    const exit = await exited;
    await Promise.all(copied);
    return { ...exit, url: target.url };
  } finally {
    run.stop.removeEventListener("abort", onStop);
    await new Promise<void>((done) => {
      logFile.end(done);
    });
  }
}

/** k6's end-of-test summary, as the run's k6 wrote it: a file cut short (k6 killed mid-write) is one line. */
async function readK6Summary(file: string): Promise<ReturnType<typeof parseK6Summary>> {
  try {
    if ((await stat(file)).size > 64 * 2 ** 20) throw new Error("larger than 64 MiB");
    return parseK6Summary(JSON.parse(await readFile(file, "utf8")));
  } catch (err) {
    throw new StormError(
      "k6",
      `storm: ${file}: not k6's end-of-test summary (${err instanceof Error ? err.message.slice(0, 80) : String(err)}): see k6.log beside it`,
    );
  }
}
