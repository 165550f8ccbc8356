/**
 * A point process: one swarm run for the bench, in a process of its own so that the bench measures
 * exactly the generator's process tree (this process is the orchestrator; its children the workers).
 * Reads its PointSpec as JSON from argv, the target from LIVEKIT_URL/LIVEKIT_API_KEY/LIVEKIT_API_SECRET
 * (the environment, not argv: `ps` would show a secret), and writes PointEvents as JSON lines on
 * stdout. SIGINT ends the run early (drain, then the summary), as the bench does after its window.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareRun, startRun } from "@livekit-swarm/load";
import { parseScenarioObject, traceOf } from "@livekit-swarm/schema";
import { emitPointEvent as emit, progressEvent, targetFromEnv, type PointSpec } from "./progress.js";

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as PointSpec;
  const scenario = parseScenarioObject(spec.scenario, "bench point");
  // a --network point's scenario puts everyone on one profile; its namespace is in the spec
  const run = prepareRun(scenario, spec.workers !== undefined ? { workers: spec.workers } : {});
  const { plan, workers } = run;
  const stop = new AbortController();
  const force = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) force.abort();
    else stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  emit({ type: "started", participants: plan.participants.length, workers, rampMs: plan.rampMs });
  const outcome = await startRun(run, {
    target: {
      ...targetFromEnv(),
      ...(spec.network?.turnTls !== undefined ? { turnTls: spec.network.turnTls } : {}),
    },
    ...(spec.network !== undefined ? { networks: new Map([[spec.network.profile, spec.network]]) } : {}),
    holdMs: scenario.duration,
    statsIntervalMs: spec.statsIntervalMs,
    outputDir: spec.outputDir,
    signal: stop.signal,
    forceSignal: force.signal,
    onProgress: (p) => {
      const event = progressEvent(p);
      if (event !== undefined) emit(event);
    },
  });
  writeFileSync(join(spec.outputDir, "summary.json"), `${JSON.stringify(outcome.summary, null, 2)}\n`);
  emit({ type: "ended", endReason: outcome.endReason, workers, summary: outcome.summary });
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    process.stderr.write(`${traceOf(err)}\n`);
    process.exitCode = 1;
  },
);
