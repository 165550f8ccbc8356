/** How a run session ends: its thresholds, its exit code and why, its folder written and served. */
import {
  applyBaseline,
  parseThreshold,
  type RunRecord,
  type Threshold,
  type Verdict,
} from "@livekit-swarm/gate";
import { ExitCode, formatDuration, messageOf, type Scenario } from "@livekit-swarm/schema";
import { judgedExitCode, type RunHealth } from "../run/health.js";
import { NOT_STARTED, RUN_ENDED } from "../run/messages.js";
import type { RunOutcome } from "../run/orchestrator.js";
import { lostWorkerText } from "../run/standings.js";
import type { Interruption } from "./interruption.js";
import type { RunResultsOptions } from "./options.js";
import { RunSessionError, outputNotWritten } from "./target.js";

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
    .filter(([reason]) => reason !== RUN_ENDED && reason !== NOT_STARTED)
    .reduce((sum, [, n]) => sum + n, 0);
  const notStarted = participants.joinFailures[NOT_STARTED] ?? 0;
  if (failed === 0 && notStarted > 0)
    return `no participant joined: ${notStarted} of ${participants.planned} never began to join, waiting for the generator (see the workers and generator checks above)`;
  if (failed > 0 || participants.planned === 0)
    return "no participant could join: see join failures above and events.jsonl";
  return endedOnTime
    ? `no participant joined before the run ended: all ${participants.planned} joins were still under way (the hold starts after the ramp, not after the joins): give the run a longer --duration`
    : `no participant joined and none had failed when the run gave up on them: all ${participants.planned} joins were still hanging (counted as run_ended); see events.jsonl`;
}

/**
 * A finished run's exit code. Pure, and decided before the reports are written, so that the health
 * banner names the code the process exits with (`withExitCode`): a run nobody joined exits 1 under a
 * banner that said "exit 99" (CI, 2026-11-30).
 */
export function exitCodeFor(
  outcome: RunOutcome,
  interruption: Interruption,
  verdict: Verdict | undefined,
  health: RunHealth,
): ExitCode {
  switch (outcome.endReason) {
    case "interrupted":
      return interruption.exitCode;
    case "server-unreachable":
      return ExitCode.error;
    case "workers-lost":
      // the generator failed, not LiveKit: its workers line says so, and the run is inconclusive
      return ExitCode.inconclusive;
    case "no-participant-joined":
      // a swarm that could not keep up explains joins it never finished: the run is inconclusive,
      // as its health banner says (CI: capped at 0.15 cores, 0 of 16 joined in 30 s, and the
      // banner read "exit 2" over an exit 1)
      return health.status === "generator" ? ExitCode.inconclusive : ExitCode.error;
    case "aborted":
    case "completed":
      return judgedExitCode(health, verdict);
  }
}

/** What the run's end says beside its code: workers lost, why it ended before its time. */
export function endingNotes(outcome: RunOutcome): string[] {
  const notes: string[] = [];
  if (outcome.workersLost.length > 0) {
    notes.push(
      `${outcome.workersLost.length} worker process(es) died during the run; their participants are counted as lost (worker_died: a disconnect, or a failed join for those not yet in)`,
    );
  }
  if (outcome.endReason === "workers-lost")
    notes.push(
      `every worker process died (${outcome.workersLost.map(lostWorkerText).join("; ")}), so the run ended there: the report holds what was measured until then, and the workers' end is the generator's failure, not LiveKit's (see workers.log)`,
    );
  if (outcome.endReason === "server-unreachable")
    notes.push("the server became unreachable during the run: the report holds what was measured until then");
  if (outcome.endReason === "no-participant-joined")
    notes.push(nobodyJoinedLine(outcome.summary.participants, outcome.endedOnTime === true));
  return notes;
}

/** Runs a write into the output folder; a filesystem error comes back as the run's output error. */
export async function intoOutput(
  outputDir: string,
  write: () => unknown,
): Promise<RunSessionError | undefined> {
  try {
    await write();
    return undefined;
  } catch (err) {
    const lost = outputNotWritten(err, outputDir);
    if (lost === undefined) throw err;
    return lost;
  }
}
