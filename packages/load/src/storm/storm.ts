import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Measurements, evaluate, type Threshold, type Verdict } from "@livekit-swarm/gate";
import { ExitCode, exitCodeForSignal, type StormObservation, KnownError } from "@livekit-swarm/schema";
import { findBinary } from "@livekit-swarm/testbed";
import type { RunTarget } from "../run/orchestrator.js";
import { newRunId } from "../session/session.js";
import { checkOutputDir, openTarget } from "../session/target.js";
import { parseK6Summary, stormObservations } from "./k6-output.js";
import { writeStormOutputs, type StormReport } from "./report.js";

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

export interface StormOptions {
  readonly script: string;
  /** None: an embedded one-node testbed, started and stopped for the storm. */
  readonly target?: RunTarget;
  /** STORM_* settings for the script (rate, duration, VUs, holds, its own k6 thresholds). */
  readonly settings: Readonly<Record<string, string>>;
  readonly thresholds: readonly Threshold[];
  readonly outputDir?: string;
  readonly log: (line: string) => void;
  /** Each figure as it is read back, e.g. the exporter. */
  readonly observe?: (o: StormObservation) => void;
}

export interface StormResult {
  readonly exitCode: number;
  readonly report: StormReport;
  readonly verdict: Verdict;
  readonly outputDir: string;
}

/** Drops anything that could be a token or the secret from a line of k6's output. */
export function redact(line: string, secret: string): string {
  const out = line
    .replace(/access_token=[^&\s"']+/g, "access_token=REDACTED")
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "REDACTED");
  return secret === "" ? out : out.split(secret).join("REDACTED");
}

/**
 * Runs a k6 storm against the target (or an embedded testbed), reads k6's points and summary back
 * into the catalog's storm figures, evaluates `thresholds` over them and writes summary.json,
 * junit.xml, report.md and k6.log. Exit code: 99 when k6's own thresholds or ours failed.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  const { name: scenario, path: script } = stormScript(options.script);
  const k6 = findBinary("k6");
  const runId = newRunId();
  const outputDir = options.outputDir ?? join("swarm-results", runId);
  checkOutputDir(outputDir);
  await mkdir(outputDir, { recursive: true });
  const opened = await openTarget(options.target, options.log);
  const { target } = opened;
  const pointsFile = join(outputDir, "k6-points.jsonl");
  const summaryFile = join(outputDir, "k6-summary.json");
  const started = new Date();
  let k6Exit: { code: number | null; signal: NodeJS.Signals | null };
  let stoppedBy: "SIGINT" | "SIGTERM" | undefined;
  try {
    options.log(`storm ${scenario}: k6 against ${target.url} (run ${runId}, output ${outputDir})`);
    const child = spawn(
      k6,
      [
        "run",
        "--no-usage-report",
        "--quiet",
        "--no-color",
        "--summary-export",
        summaryFile,
        "--out",
        `json=${pointsFile}`,
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
          STORM_PREFIX: `storm-${runId}`,
          ...options.settings,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const forward = (signal: "SIGINT" | "SIGTERM") => (): void => {
      stoppedBy = signal;
      child.kill(signal);
    };
    const onInt = forward("SIGINT");
    const onTerm = forward("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    const logFile = createWriteStream(join(outputDir, "k6.log"));
    const copied = [child.stdout, child.stderr].map(async (stream) => {
      for await (const line of createInterface({ input: stream }))
        logFile.write(`${redact(line, target.apiSecret)}\n`);
    });
    k6Exit = await new Promise((done, fail) => {
      child.on("error", fail);
      child.on("close", (code, signal) => {
        done({ code, signal });
      });
    });
    await Promise.all(copied);
    await new Promise<void>((done) => {
      logFile.end(done);
    });
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  } finally {
    await opened.testbed?.stop();
  }
  const ended = new Date();

  const measurements = new Measurements();
  measurements.setRunWindow(started.getTime(), ended.getTime());
  let unreadable = 0;
  if (existsSync(pointsFile)) {
    const read = await readPoints(pointsFile);
    unreadable = read.unreadable;
    for (const o of read.observations) {
      measurements.onStorm(o);
      options.observe?.(o);
    }
    // the points hold every join's figures; the summary keeps what a reader needs
    await rm(pointsFile);
  }
  const k6Summary = existsSync(summaryFile)
    ? parseK6Summary(JSON.parse(await readFile(summaryFile, "utf8")))
    : undefined;
  const k6Code = k6Exit.code ?? -1;
  if (stoppedBy === undefined && k6Code !== 0 && k6Code !== K6_THRESHOLDS_CROSSED)
    throw new StormError(
      "k6",
      `storm: k6 exited ${k6Exit.code ?? k6Exit.signal ?? "?"} before finishing: see ${join(outputDir, "k6.log")}`,
    );
  const verdict = evaluate(options.thresholds, measurements);
  const report = await writeStormOutputs(outputDir, {
    runId,
    scenario,
    script,
    url: target.url,
    startedAt: started,
    endedAt: ended,
    k6ExitCode: k6Code,
    k6: k6Summary,
    measurements,
    verdict,
    unreadablePoints: unreadable,
  });
  const failed = k6Code === K6_THRESHOLDS_CROSSED || !verdict.passed;
  const exitCode =
    stoppedBy !== undefined ? exitCodeForSignal(stoppedBy) : failed ? ExitCode.thresholdsFailed : ExitCode.ok;
  return { exitCode, report, verdict, outputDir };
}

async function readPoints(file: string): Promise<ReturnType<typeof stormObservations>> {
  const observations: StormObservation[] = [];
  let unreadable = 0;
  // line by line: a long storm's points do not fit one string
  let batch: string[] = [];
  const flush = (): void => {
    const read = stormObservations(batch.join("\n"));
    observations.push(...read.observations);
    unreadable += read.unreadable;
    batch = [];
  };
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (!line.includes('"Point"') || !line.includes('"storm_')) continue;
    batch.push(line);
    if (batch.length >= 10_000) flush();
  }
  flush();
  return { observations, unreadable };
}
