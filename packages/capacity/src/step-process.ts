/**
 * A step process: one run of the workload at one room count, in a process of its own so that the
 * capacity search samples exactly the generator's process tree (this process and its workers).
 * Reads its StepSpec as JSON from argv and the target from LIVEKIT_URL/LIVEKIT_API_KEY/
 * LIVEKIT_API_SECRET (the environment, not argv: `ps` would show a secret); writes bench's point
 * events as JSON lines on stdout and the run's reports (summary.json with the verdict) in its folder.
 */
import { emitPointEvent as emit, progressEvent, targetFromEnv } from "@livekit-swarm/bench";
import { planRun, runSession, shapeOf } from "@livekit-swarm/load";
import { traceOf, type Scenario } from "@livekit-swarm/schema";
import { qualityThresholds } from "./quality.js";

export interface StepSpec {
  readonly scenario: Scenario;
  readonly quality: readonly string[];
  /** After the last scheduled join; the thresholds leave out the ramp and this. */
  readonly warmupMs: number;
  readonly outputDir: string;
  readonly workers: number | undefined;
}

async function main(): Promise<number> {
  // written by runStep in the parent, from the same StepSpec type
  const spec = JSON.parse(process.argv[2] ?? "") as StepSpec;
  const plan = planRun(shapeOf(spec.scenario));
  let started = false;
  const result = await runSession({
    scenario: spec.scenario,
    target: targetFromEnv(),
    thresholds: qualityThresholds(spec.quality, plan.rampMs + spec.warmupMs),
    outputDir: spec.outputDir,
    ...(spec.workers !== undefined ? { workers: spec.workers } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
    onProgress: (p) => {
      const event = progressEvent(p);
      if (event === undefined) return;
      if (!started) {
        started = true;
        emit({ type: "started", participants: p.planned, workers: 0, rampMs: p.rampMs });
      }
      emit(event);
    },
  });
  if (result.ran)
    emit({
      type: "ended",
      endReason: result.outcome.endReason,
      workers: result.report.run.workers,
      summary: result.outcome.summary,
    });
  return result.exitCode;
}

main().then(
  (code) => {
    // 99 (thresholds failed) is an answer, not an error: the parent reads the verdict from summary.json
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${traceOf(err)}\n`);
    process.exitCode = 1;
  },
);
