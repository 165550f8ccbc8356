import { randomBytes } from "node:crypto";
import { appendFile, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { makeFolder } from "../run/folder.js";
import { RUN_ENDED } from "../run/messages.js";
import {
  AbortWatch,
  Measurements,
  applyBaseline,
  evaluate,
  parseThreshold,
  type RunRecord,
  type Threshold,
  type Verdict,
} from "@livekit-swarm/gate";
import {
  ExitCode,
  formatDuration,
  type Role,
  type RunObserver,
  type Scenario,
  type StormObservation,
  messageOf,
} from "@livekit-swarm/schema";
import { orchestrate, type ProgressView, type RunOutcome, type RunTarget } from "../run/orchestrator.js";
import { E2EE_KEY_BYTES } from "../engine/e2ee.js";
import { leanSimulcastEnabled } from "../engine/engine.js";
import { defaultWorkers, mediaPlanFor, shardByRoom, type RunPlan } from "../run/plan.js";
import { shardFolder, writeManifest, type ShardManifest } from "../shard/manifest.js";
import { ShardError, scenarioHash, shardPlan, shardedRunId, type Shard } from "../shard/split.js";
import { Interruption } from "./interruption.js";
import { linger, newRunId } from "./clock.js";
import { stormBeside, withK6Thresholds, writeStormBeside } from "../storm/beside.js";
import type { K6StormResult } from "../storm/report.js";
import { checkStorm } from "../storm/storm.js";
import { runOutputs, writeRunFiles, type RunFacts, type RunOutputs } from "./outputs.js";
import { iceScopeFor, iceScopeLine } from "../run/ice-scope.js";
import { SCREENSHOTS_DIR, listScreenshots } from "../run/screenshots.js";
import {
  RunSessionError,
  checkCloudLimit,
  checkOutputDir,
  checkRunSize,
  openTarget,
  outputNotWritten,
} from "./target.js";
import { planPlaced, restrictiveProfiles } from "../run/network-placement.js";
import { judgedExitCode, runHealth, type RunHealth } from "../run/health.js";

/**
 * A run's live Prometheus metrics. load does not depend on the exporter: the CLI passes
 * `@livekit-swarm/exporter`'s SwarmExporter, which has this shape.
 */
export interface RunMetrics extends RunObserver {
  /** Creates every participant's series at zero before the first join. */
  prepare(
    subjects: Iterable<{
      readonly room: string;
      readonly participant: string;
      readonly role: Role;
      readonly worker: number;
    }>,
  ): void;
  serve(options: {
    readonly port: number;
    readonly host?: string;
    readonly routes?: readonly HttpRoute[];
  }): Promise<{
    readonly url: string;
    close(): Promise<void>;
  }>;
  push(gatewayUrl: string): Promise<void>;
  /** The exposition text, kept as metrics.prom. */
  metrics(): Promise<string>;
  /** A scenario's storm: its join series at zero before k6 starts, then its figures. */
  prepareStorm?(): void;
  onStorm?(o: StormObservation): void;
}

/** Another path on the metrics server (the exporter's HttpRoute has this shape). */
export interface HttpRoute {
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * A finished run's folder, served from the metrics server until a collector has it. k8s's
 * ResultsRoute has this shape; the CLI passes it, since load does not import k8s.
 */
export interface ResultsRoute extends HttpRoute {
  serve(
    folder: string,
    end: { readonly exitCode: number; readonly status?: string },
    holdMs: number,
    stops: readonly AbortSignal[],
  ): Promise<"collected" | "expired" | "stopped">;
}

export interface RunResultsOptions {
  readonly route: ResultsRoute;
  /** Serve at most this long after the run: with nothing collected by then, the run ends anyway. */
  readonly holdMs: number;
}

export interface RunMetricsOptions {
  /** Builds the run's metrics once its id is known. */
  readonly create: (run: {
    readonly runId: string;
    readonly scenario: string;
    /** The shard's index in a sharded run (a `shard` label). */
    readonly shard?: number;
  }) => RunMetrics;
  /** Serve /metrics on this port during the run (0: pick one). */
  readonly port?: number;
  readonly host?: string;
  /** Push the final values to this Pushgateway. */
  readonly pushgateway?: string;
  /** Keep /metrics up this long after a run that was not interrupted, for a final scrape. */
  readonly lingerMs?: number;
}

export interface RunSessionOptions {
  /** Resolved: file, flags and defaults already merged and validated. */
  readonly scenario: Scenario;
  /** Name the rooms lkswarm-<run id>- instead of `scenario.roomPrefix` (when nobody chose a prefix). */
  readonly roomPrefixPerRun?: boolean;
  /** The server; absent, a one-node local LiveKit (a testbed) is started for the run and stopped after. */
  readonly target?: RunTarget;
  /** Thresholds in addition to the scenario's own; the scenario's warm-up applies to any without one. */
  readonly thresholds?: readonly Threshold[];
  /** An earlier run (gate's loadBaseline) that relative thresholds (`<= baseline + 20%`) read. */
  readonly baseline?: RunRecord;
  /** Where reports go; default swarm-results/<run id>. A shard writes to `<outputDir>/shard-<index>/`. */
  readonly outputDir?: string;
  /** The run id; default a new one, or for a shard one derived from the scenario and `startAtMs`. */
  readonly runId?: string;
  /** Run only this shard's rooms (shardPlan), with the whole run's join times; needs `target`. */
  readonly shard?: Shard;
  /** The common start, epoch ms: joins are timed from it (the shards of one run share it). */
  readonly startAtMs?: number;
  /** LiveKit's built-in TURN over UDP on the testbed the run starts; refused with `target`. */
  readonly turn?: boolean;
  /** Worker processes; default one per ~100 native or 10 browser participants, or 10,000 lean packets/s, at most one per core. */
  readonly workers?: number;
  readonly statsIntervalMs?: number;
  /** A canary: hold until stopped, bring back participants that drop, never end early. */
  readonly forever?: boolean;
  /**
   * The shared key of an E2EE scenario; absent, one is made for the run (a room lives in one shard,
   * so shards need not share it). Handed to the workers only: never logged or written.
   */
  readonly e2eeKey?: Uint8Array;
  readonly metrics?: RunMetricsOptions;
  /**
   * Once the folder is written, serve it from the metrics server (`metrics.port`) until a collector
   * takes it (`swarm run --serve-results`, what a Kubernetes shard pod runs); the exit code stays the run's.
   */
  readonly results?: RunResultsOptions;
  /** Appends the markdown verdict here (GitHub's $GITHUB_STEP_SUMMARY). */
  readonly stepSummaryFile?: string;
  /** One line of news for the user: start, signals, the end; never a secret. */
  readonly log?: (line: string) => void;
  /** About once a second, live figures. */
  readonly onProgress?: (progress: ProgressView) => void;
  /** Save each browser participant's page as a PNG at the end, in `<outputDir>/screenshots/`. */
  readonly screenshots?: boolean;
  /** Write samples.jsonl.gz and events.jsonl.gz (gzip, streamed) instead of the plain files. */
  readonly gzipLines?: boolean;
  /** As soon as the reports are written, before the final push and scrape. */
  readonly onReport?: (outputs: RunOutputs) => void;
}

export type RunSessionResult =
  | {
      /** A signal came while the server was being checked or started: nobody joined, nothing written. */
      readonly ran: false;
      readonly runId: string;
      readonly exitCode: ExitCode;
    }
  | (RunOutputs & {
      readonly ran: true;
      readonly runId: string;
      readonly exitCode: ExitCode;
      readonly outcome: RunOutcome;
    });

export const DEFAULT_STATS_INTERVAL_MS = 5000;

/**
 * One swarm run from start to end: the run id, SIGINT/SIGTERM (drain, then 130/143; a second
 * forces), the embedded testbed when there is no target, live metrics, thresholds that abort,
 * the workers, and the reports in the output folder. Refuses, before starting anything, a
 * scenario without participants or over MAX_RUN_PARTICIPANTS, and a load test over LiveKit
 * Cloud's limit.
 */
export async function runSession(options: RunSessionOptions): Promise<RunSessionResult> {
  const log = options.log ?? ((): void => {});
  const { shard } = options;
  if (shard !== undefined && options.target === undefined)
    throw new ShardError(
      "no-target",
      "a sharded run needs --url: every shard must load the same LiveKit, not an embedded one each",
    );
  const runId =
    options.runId ?? (shard !== undefined ? shardedRunId(options.scenario, options.startAtMs) : newRunId());
  const scenario = options.roomPrefixPerRun
    ? { ...options.scenario, roomPrefix: `lkswarm-${runId}-` }
    : options.scenario;
  const thresholds = runThresholds(scenario, scenario.thresholds, options.thresholds, options.baseline);
  checkRunSize(scenario);
  // names and sums are checked here (checkShares), before anything starts
  const whole = planPlaced(scenario);
  const plan = shard !== undefined ? shardPlan(whole, shard) : whole;
  if (plan.participants.length === 0) {
    throw new RunSessionError(
      "no-participants",
      "the scenario has no participants: set --video-publishers, --audio-publishers or --subscribers above 0",
    );
  }
  checkCloudLimit(options.target, whole.participants.length);
  if (scenario.storm !== undefined && shard !== undefined)
    throw new ShardError(
      "storm",
      "a scenario with a storm: block cannot be sharded: every shard would run the storm; run the storm from one place (swarm storm) beside the shards",
    );
  // a missing k6 or script is refused now, not after the media has run
  if (scenario.storm !== undefined) checkStorm(scenario.storm.script);
  const runDir = resolve(options.outputDir ?? join("swarm-results", runId));
  const outputDir = shard !== undefined ? shardFolder(runDir, shard) : runDir;
  checkOutputDir(outputDir);
  const media = mediaPlanFor(scenario);
  // rooms are never split over workers: `--workers 100` for one room starts (and says) one
  const workers = Math.min(
    plan.rooms.length,
    options.workers ?? defaultWorkers(plan.participants, availableParallelism(), media.video),
  );

  const interruption = new Interruption(log).listen();
  // every threshold's warm-up is a cut, so the measurements fold what comes before and after apart
  const measurements = new Measurements({ cutsAfterStartMs: thresholds.map((t) => t.warmupMs ?? 0) });
  const metrics = options.metrics?.create({
    runId,
    scenario: scenario.name,
    ...(shard !== undefined ? { shard: shard.index } : {}),
  });
  const startAtMs = options.startAtMs;
  let manifest: ShardManifest | undefined;
  const abortWatch = new AbortWatch(thresholds, measurements);
  let stopTarget: (() => Promise<void>) | undefined;
  let server: { readonly url: string; close(): Promise<void> } | undefined;
  try {
    metrics?.prepare(subjectsOf(plan, workers));
    if (scenario.storm !== undefined) metrics?.prepareStorm?.();
    if (metrics !== undefined && options.metrics?.port !== undefined) {
      server = await metrics.serve({
        port: options.metrics.port,
        ...(options.metrics.host !== undefined ? { host: options.metrics.host } : {}),
        ...(options.results !== undefined ? { routes: [options.results.route] } : {}),
      });
      log(`metrics: ${server.url}`);
    }
    const opened = await openTarget(
      options.target,
      log,
      restrictiveProfiles(plan.participants),
      options.turn === true,
    );
    stopTarget = () => opened.stop();
    if (interruption.interrupt.aborted) return { ran: false, runId, exitCode: interruption.exitCode };
    if (shard !== undefined) {
      manifest = {
        shard: shard.index,
        shards: shard.count,
        runId,
        scenarioHash: scenarioHash(options.scenario),
        scenario,
        statsIntervalMs: options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
        thresholds: (options.thresholds ?? []).map((t) => t.text),
        url: opened.target.url,
        startAt: new Date(startAtMs ?? Date.now()).toISOString(),
        rooms: plan.rooms,
        participants: plan.participants.length,
        workers,
        status: "running",
      };
      makeFolder(outputDir);
      writeManifest(outputDir, manifest);
      log(
        `shard ${shard.index}/${shard.count}: ${plan.rooms.length} of ${whole.rooms.length} rooms, ${plan.participants.length} of ${whole.participants.length} participants`,
      );
    }
    if (startAtMs !== undefined) {
      const waitS = (startAtMs - Date.now()) / 1000;
      log(
        waitS >= 0
          ? `starting at ${new Date(startAtMs).toISOString()} (in ${waitS.toFixed(0)} s)`
          : `--start-at was ${(-waitS).toFixed(0)} s ago: joins already due start now, the ramp is behind`,
      );
    }
    log(
      `run ${runId}: ${plan.rooms.length} room(s), ${plan.participants.length} participants (${scenario.engine} engine) against ${opened.target.url}, ` +
        `${workers} worker(s); ramp ${(plan.rampMs / 1000).toFixed(1)} s then ${options.forever === true ? "hold until stopped, rejoining" : `hold ${(scenario.duration / 1000).toFixed(0)} s`}; reports in ${outputDir}`,
    );
    if (
      scenario.video.simulcast &&
      !leanSimulcastEnabled() &&
      plan.participants.some((p) => p.publishVideo && p.engine === "lean")
    )
      log("lean publishers send one video layer: LKSWARM_LEAN_SIMULCAST=0 turns lean simulcast off");
    const iceScope = plan.participants.some((p) => p.engine === "native")
      ? await iceScopeFor(opened.target)
      : undefined;
    if (iceScope !== undefined) log(iceScopeLine(iceScope));
    // joins start a second after orchestrate is called (workers load first), the hold after the ramp
    const holdStartMs = measurements.cut((startAtMs ?? Date.now() + 1000) + plan.rampMs);
    const stormStop = new AbortController();
    const stopStorm = (): void => {
      stormStop.abort();
    };
    interruption.interrupt.addEventListener("abort", stopStorm);
    const storming: Promise<K6StormResult | undefined> =
      scenario.storm !== undefined
        ? stormBeside({
            spec: scenario.storm,
            target: opened.target,
            runId,
            outputDir,
            holdStartMs,
            feed: (o) => {
              measurements.onStorm(o);
              metrics?.onStorm?.(o);
            },
            stop: stormStop.signal,
            log,
            cut: (atMs) => measurements.cut(atMs),
          })
        : Promise.resolve(undefined);
    // awaited after the media; until then a k6 failure must not count as an unhandled rejection
    storming.catch(() => undefined);
    const outcome = await orchestrate({
      ...(iceScope !== undefined ? { iceScope } : {}),
      target: opened.target,
      networks: opened.networks,
      plan,
      media: {
        ...media,
        ...(options.forever === true ? { rejoin: true } : {}),
        ...(options.screenshots === true ? { screenshotsDir: join(outputDir, SCREENSHOTS_DIR) } : {}),
      },
      ...(scenario.e2ee !== null ? { e2eeKey: options.e2eeKey ?? randomBytes(E2EE_KEY_BYTES) } : {}),
      // forever: about 285 000 years, and setTimeout-safe because nothing waits on it directly
      holdMs: options.forever === true ? Number.MAX_SAFE_INTEGER : scenario.duration,
      persistent: options.forever === true,
      statsIntervalMs: options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
      ...(options.gzipLines === true ? { gzipLines: true } : {}),
      workers,
      outputDir,
      ...(startAtMs !== undefined ? { startAtMs } : {}),
      signal: interruption.interrupt,
      forceSignal: interruption.force,
      measurements,
      ...(metrics !== undefined ? { observers: [metrics] } : {}),
      onProgress: (p) => {
        const breached = abortWatch.check(Date.now());
        if (breached !== undefined) {
          log(`threshold breached for its abort window, ending the run: ${breached.text}`);
          interruption.stop("threshold");
        }
        options.onProgress?.(p);
      },
    });
    // the storm was sized to end within the hold; one that still runs (k6's grace) ends with the media
    stormStop.abort();
    interruption.interrupt.removeEventListener("abort", stopStorm);
    const storm = await storming;
    const ours =
      thresholds.length > 0 || storm !== undefined ? evaluate(thresholds, measurements) : undefined;
    const withStorm = storm !== undefined && ours !== undefined ? withK6Thresholds(ours, storm) : ours;
    // the generator's own keeping up is judged with the run's health, beside the thresholds
    const verdict = withStorm;
    const health = runHealth(outcome.summary, outcome.workersLost.length);
    const facts: RunFacts = {
      runId,
      scenario,
      url: opened.target.url,
      participants: plan.participants.length,
      workers,
      outcome,
      verdict,
      health,
      ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
      ...(options.screenshots === true ? { screenshots: await listScreenshots(outputDir) } : {}),
      ...(options.gzipLines === true ? { gzipLines: true } : {}),
    };
    const outputs = runOutputs(facts, outputDir);
    const reportsLost = await intoOutput(outputDir, async () => {
      await writeRunFiles(facts, outputs, options.stepSummaryFile);
      if (storm !== undefined && ours !== undefined) {
        const { markdown } = await writeStormBeside(outputDir, {
          runId,
          storm,
          measurements,
          verdict: ours,
          holdStartMs,
          holdEndMs: Date.parse(outcome.endedAt),
        });
        await appendFile(join(outputDir, "report.md"), `\n${markdown}`);
      }
    });
    // the folder went away or filled up during the run: what was measured is still shown
    // (and pushed to a Pushgateway: that does not need the folder). The raw lines failing is the same trouble
    const linesLost =
      outcome.linesUnwritten !== undefined ? outputNotWritten(outcome.linesUnwritten, outputDir) : undefined;
    const unwritten = reportsLost ?? linesLost;
    options.onReport?.(unwritten === undefined ? outputs : { ...outputs, files: [] });
    if (metrics !== undefined) {
      const gateway = options.metrics?.pushgateway;
      if (gateway !== undefined) {
        await metrics.push(gateway);
        log(`metrics pushed to ${gateway}`);
      }
    }
    if (unwritten !== undefined) throw unwritten;
    if (metrics !== undefined) {
      const text = await metrics.metrics();
      const lost = await intoOutput(outputDir, () => writeFile(join(outputDir, "metrics.prom"), text));
      if (lost !== undefined) throw lost;
    }
    const lingerMs = options.metrics?.lingerMs ?? 0;
    // a final scrape after a completed (or threshold-aborted) run; Ctrl-C means stop now
    if (server !== undefined && lingerMs > 0 && interruption.signal === undefined) {
      log(`keeping ${server.url} up for ${lingerMs / 1000} s for a final scrape`);
      await linger(lingerMs, [interruption.interrupt, interruption.force]);
    }
    const exitCode = exitCodeFor(outcome, interruption, verdict, health, log);
    if (manifest !== undefined) {
      const done: ShardManifest = {
        ...manifest,
        status: "done",
        exitCode,
        endReason: outcome.endReason,
        startedAt: outcome.startedAt,
        endedAt: outcome.endedAt,
        workersLost: outcome.workersLost,
        ...(outcome.summary.generator !== undefined ? { generator: outcome.summary.generator } : {}),
      };
      manifest = done;
      const lost = await intoOutput(outputDir, () => {
        writeManifest(outputDir, done);
      });
      if (lost !== undefined) throw lost;
    }
    if (options.results !== undefined && server !== undefined && interruption.signal === undefined)
      await serveFolder(
        options.results,
        server.url,
        outputDir,
        { exitCode, status: manifest?.status },
        interruption,
        log,
      );
    return { ...outputs, ran: true, runId, exitCode, outcome };
  } catch (err) {
    if (manifest !== undefined)
      try {
        writeManifest(outputDir, {
          ...manifest,
          status: "error",
          exitCode: ExitCode.error,
          error: messageOf(err),
        });
      } catch {
        // the folder is what failed (the error thrown below says so when it is this run's)
      }
    throw err;
  } finally {
    await server?.close();
    interruption.close();
    await stopTarget?.();
  }
}

/**
 * The written folder, served until it is collected, the hold passes or a signal comes. A failure to
 * serve it is said and leaves the run's outcome as it was: the run is over.
 */
export async function serveFolder(
  results: RunResultsOptions,
  metricsUrl: string,
  outputDir: string,
  end: { readonly exitCode: number; readonly status: string | undefined },
  interruption: Interruption,
  log: (line: string) => void,
): Promise<void> {
  const hold = formatDuration(results.holdMs);
  log(
    `serving ${outputDir} at ${new URL(results.route.path, metricsUrl).href} until it is collected, at most ${hold}`,
  );
  // a run a threshold ended has its interrupt aborted already: only a signal stops the serving
  const stops = interruption.interrupt.aborted
    ? [interruption.force]
    : [interruption.interrupt, interruption.force];
  try {
    const ended = await results.route.serve(
      outputDir,
      { exitCode: end.exitCode, ...(end.status !== undefined ? { status: end.status } : {}) },
      results.holdMs,
      stops,
    );
    if (ended === "collected") log("results collected; ending");
    else if (ended === "expired")
      log(`nothing collected the results in ${hold}; ending without (a merge counts this shard missing)`);
  } catch (err) {
    log(`cannot serve the results: ${messageOf(err)}`);
  }
}

/** What a run is judged by: the texts parsed, then the given thresholds, the baseline applied, the scenario's warmup. */
export function runThresholds(
  scenario: Scenario,
  texts: readonly string[],
  parsed: readonly Threshold[] | undefined,
  baseline: RunRecord | undefined,
): Threshold[] {
  return withWarmup(
    scenario,
    applyBaseline([...texts.map((t) => parseThreshold(t)), ...(parsed ?? [])], baseline),
  );
}

/** The scenario's warm-up on every threshold that has none of its own. */
export function withWarmup(scenario: Scenario, thresholds: readonly Threshold[]): Threshold[] {
  return thresholds.map((t) =>
    t.warmupMs === undefined && scenario.warmup > 0 ? { ...t, warmupMs: scenario.warmup } : t,
  );
}

function subjectsOf(plan: RunPlan, workers: number) {
  return shardByRoom(plan, workers).flatMap((shard, worker) =>
    shard.map((p) => ({ worker, role: p.role, room: p.room, participant: p.identity })),
  );
}

/**
 * Why nobody joined, in one line: failed joins (their reasons are in the summary above), or a run
 * that reached its planned end while every join was still under way (each one `run_ended`, or not
 * yet said), which only a longer run fixes: a 5 s browser run on a busy machine ended with 0 of 2
 * joined. A run that gave up early on joins still hanging (nobody in 45 s) says that instead.
 */
export function nobodyJoinedLine(
  participants: {
    readonly planned: number;
    readonly joinFailures: Readonly<Record<string, number>>;
  },
  endedOnTime: boolean,
): string {
  const failed = Object.entries(participants.joinFailures)
    .filter(([reason]) => reason !== RUN_ENDED)
    .reduce((sum, [, n]) => sum + n, 0);
  if (failed > 0 || participants.planned === 0)
    return "no participant could join: see join failures above and events.jsonl";
  return endedOnTime
    ? `no participant joined before the run ended: all ${participants.planned} joins were still under way (the hold starts after the ramp, not after the joins): give the run a longer --duration`
    : `no participant joined and none had failed when the run gave up on them: all ${participants.planned} joins were still hanging (counted as run_ended); see events.jsonl`;
}

function exitCodeFor(
  outcome: RunOutcome,
  interruption: Interruption,
  verdict: Verdict | undefined,
  health: RunHealth,
  log: (line: string) => void,
): ExitCode {
  if (outcome.workersLost.length > 0) {
    log(
      `${outcome.workersLost.length} worker process(es) died during the run; their participants are counted as disconnected (worker_died)`,
    );
  }
  switch (outcome.endReason) {
    case "interrupted":
      return interruption.exitCode;
    case "server-unreachable":
      log("the server became unreachable during the run: the report holds what was measured until then");
      return ExitCode.error;
    case "no-participant-joined":
      log(nobodyJoinedLine(outcome.summary.participants, outcome.endedOnTime === true));
      // a swarm that could not keep up explains joins it never finished: the run is inconclusive,
      // as its health banner says (CI: capped at 0.15 cores, 0 of 16 joined in 30 s, and the
      // banner read "exit 2" over an exit 1)
      return health.status === "generator" ? ExitCode.inconclusive : ExitCode.error;
    case "aborted":
    case "completed":
      return judgedExitCode(health, verdict);
  }
}

/** Runs a write into the output folder; a filesystem error comes back as the run's output error. */
async function intoOutput(outputDir: string, write: () => unknown): Promise<RunSessionError | undefined> {
  try {
    await write();
    return undefined;
  } catch (err) {
    const lost = outputNotWritten(err, outputDir);
    if (lost === undefined) throw err;
    return lost;
  }
}
