/**
 * `swarm run` from start to end, in stages a reader can follow: admit (every check that needs
 * nothing started), open the target, the shard's manifest, start the run (load's run API) beside
 * a storm, judge it, write and serve its folder.
 */
import { appendFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { makeFolder } from "../run/folder.js";
import { AbortWatch, Measurements, evaluate, type Threshold } from "@livekit-swarm/gate";
import { ExitCode, messageOf, type Scenario } from "@livekit-swarm/schema";
import { leanSimulcastEnabled } from "../engine/engine.js";
import { shardByRoom, type RunPlan } from "../run/plan.js";
import { prepareRun, startRun, type PreparedRun } from "../run/run.js";
import { shardFolder, writeManifest, type ShardManifest } from "../shard/manifest.js";
import { ShardError, scenarioHash, shardedRunId } from "../shard/split.js";
import { Interruption } from "./interruption.js";
import { endingNotes, exitCodeFor, intoOutput, runThresholds, serveFolder } from "./ending.js";
import { DEFAULT_STATS_INTERVAL_MS, type RunSessionOptions, type RunSessionResult } from "./options.js";
import { linger, newRunId } from "./clock.js";
import { stormBeside, withK6Thresholds, writeStormBeside } from "../storm/beside.js";
import type { K6StormResult } from "../storm/report.js";
import { checkStorm } from "../storm/storm.js";
import { runOutputs, writeRunFiles, type RunFacts } from "./outputs.js";
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
import { restrictiveProfiles } from "../run/network-placement.js";
import { runHealth, withExitCode } from "../run/health.js";

/** A run that passed every check that needs nothing started: what the later stages read. */
interface Admitted {
  readonly runId: string;
  /** The options' scenario, its rooms renamed for this run when asked (roomPrefixPerRun). */
  readonly scenario: Scenario;
  readonly thresholds: Threshold[];
  readonly prepared: PreparedRun;
  /** This run's folder, or this shard's folder in it. */
  readonly outputDir: string;
}

/**
 * Every check that needs nothing started, in the order a user fixes them: a shard without a target,
 * the thresholds, the run's size, the plan (names and shares, checkShares), no participants, LiveKit
 * Cloud's limit, a storm (not sharded; k6 and its script there), the output folder.
 */
function admit(options: RunSessionOptions): Admitted {
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
  const planned = prepareRun(scenario, {
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(shard !== undefined ? { shard } : {}),
  });
  // rooms are never split over workers: `--workers 100` for one room starts (and says) one
  const prepared = { ...planned, workers: Math.min(planned.plan.rooms.length, planned.workers) };
  if (prepared.plan.participants.length === 0) {
    throw new RunSessionError(
      "no-participants",
      "the scenario has no participants: set --video-publishers, --audio-publishers or --subscribers above 0",
    );
  }
  checkCloudLimit(options.target, prepared.whole.participants.length);
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
  return { runId, scenario, thresholds, prepared, outputDir };
}

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
  const { runId, scenario, thresholds, prepared, outputDir } = admit(options);
  const { plan, whole, workers } = prepared;

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
    if (process.env.LKSWARM_LEAN_NATIVE === "1" && plan.participants.some((p) => p.engine === "lean")) {
      // built here once, so the workers find it and a reason it cannot be is said once
      const { buildLeanMedia } = await import("@livekit-swarm/lean");
      const built = await buildLeanMedia();
      log(
        typeof built === "string"
          ? `LKSWARM_LEAN_NATIVE=1, but lean audio stays on its TypeScript media path: ${built}`
          : `lean audio on the native media path (LKSWARM_LEAN_NATIVE=1): ${built.path}`,
      );
    }
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
    const outcome = await startRun(prepared, {
      ...(iceScope !== undefined ? { iceScope } : {}),
      target: opened.target,
      networks: opened.networks,
      media: {
        ...(options.forever === true ? { rejoin: true } : {}),
        ...(options.screenshots === true ? { screenshotsDir: join(outputDir, SCREENSHOTS_DIR) } : {}),
      },
      ...(options.e2eeKey !== undefined ? { e2eeKey: options.e2eeKey } : {}),
      // forever: about 285 000 years, and setTimeout-safe because nothing waits on it directly
      holdMs: options.forever === true ? Number.MAX_SAFE_INTEGER : scenario.duration,
      persistent: options.forever === true,
      statsIntervalMs: options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
      ...(options.gzipLines === true ? { gzipLines: true } : {}),
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
    const judged = runHealth(outcome.summary, outcome.workersLost.length);
    // decided before the reports: their health banner names the code the process exits with
    const exitCode = exitCodeFor(outcome, interruption, verdict, judged);
    const health = withExitCode(judged, exitCode);
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
    // the run then exits 1 (its output folder's error): the table shown says so in its banner
    options.onReport?.(
      unwritten === undefined
        ? outputs
        : { ...runOutputs({ ...facts, health: withExitCode(judged, ExitCode.error) }, outputDir), files: [] },
    );
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
    for (const note of endingNotes(outcome)) log(note);
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

function subjectsOf(plan: RunPlan, workers: number) {
  return shardByRoom(plan, workers).flatMap((shard, worker) =>
    shard.map((p) => ({ worker, role: p.role, room: p.room, participant: p.identity })),
  );
}
