import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Measurements, Verdict } from "@livekit-swarm/gate";
import type { StormObservation, StormSpec } from "@livekit-swarm/schema";
import type { RunTarget } from "../run/orchestrator.js";
import { impactSection, stormImpact, type StormWindows } from "./impact.js";
import {
  k6Results,
  stormSection,
  writeStormOutputs,
  type K6StormResult,
  type StormReport,
} from "./report.js";
import { k6Storm } from "./storm.js";

/** The storm's files go in this folder of the run's output. */
export const STORM_FOLDER = "storm";

export interface StormBesideOptions {
  readonly spec: StormSpec;
  readonly target: RunTarget;
  readonly runId: string;
  readonly outputDir: string;
  /** Epoch ms the media hold starts (the last join due): the storm starts `spec.start` after it. */
  readonly holdStartMs: number;
  readonly feed: (o: StormObservation) => void;
  readonly stop: AbortSignal;
  readonly log: (line: string) => void;
  /**
   * Cuts the media's measurements at a moment (Measurements.cut), so that the storm's before,
   * during and after windows are selections; returns where the cut went.
   */
  readonly cut: (atMs: number) => number;
}

/**
 * A scenario's `storm:` block: waits for its start in the hold, then runs the k6 storm against the
 * media swarm's server. Undefined when the run was stopped before the storm began.
 */
export async function stormBeside(o: StormBesideOptions): Promise<K6StormResult | undefined> {
  const waitMs = Math.max(0, o.holdStartMs + o.spec.start - Date.now());
  try {
    await delay(waitMs, undefined, { signal: o.stop });
  } catch {
    return undefined;
  }
  o.log(
    `storm ${o.spec.script} beside the media swarm, ${(o.spec.duration / 1000).toFixed(0)} s of arrivals`,
  );
  // the media is cut where the storm starts and ends, before the samples past either come in
  const startedMs = o.cut(Date.now());
  const storm = await k6Storm({
    script: o.spec.script,
    target: o.target,
    runId: o.runId,
    outputDir: join(o.outputDir, STORM_FOLDER),
    settings: o.spec.settings,
    feed: o.feed,
    stop: o.stop,
    log: o.log,
  });
  const endedMs = o.cut(Date.now());
  return { ...storm, startedAt: new Date(startedMs), endedAt: new Date(endedMs) };
}

/** Our thresholds' verdict with k6's own thresholds of the storm added: one verdict for the run. */
export function withK6Thresholds(verdict: Verdict, storm: K6StormResult): Verdict {
  const extra = k6Results(storm.k6);
  return {
    passed: verdict.passed && extra.every((r) => r.status === "pass"),
    results: [...verdict.results, ...extra],
  };
}

/**
 * Writes the storm's summary.json, junit.xml and report.md into its folder, with what it did to
 * the media (before, during and after it) in both; returns the markdown for the run's report.md.
 */
export async function writeStormBeside(
  outputDir: string,
  f: {
    readonly runId: string;
    readonly storm: K6StormResult;
    readonly measurements: Measurements;
    /** Ours only: writeStormOutputs adds k6's. */
    readonly verdict: Verdict;
    readonly holdStartMs: number;
    readonly holdEndMs: number;
  },
): Promise<{ report: StormReport; markdown: string }> {
  const started = f.storm.startedAt.getTime();
  const ended = f.storm.endedAt.getTime();
  const windows: StormWindows = {
    before: [Math.min(f.holdStartMs, started), started],
    during: [started, ended],
    after: [ended, Math.max(ended, f.measurements.runEndMs ?? f.holdEndMs)],
  };
  const impact = stormImpact(f.measurements, windows);
  const report = await writeStormOutputs(join(outputDir, STORM_FOLDER), {
    ...f.storm,
    runId: f.runId,
    measurements: f.measurements,
    verdict: f.verdict,
    mediaImpact: { windows, rows: impact },
  });
  return { report, markdown: `${stormSection(report)}\n${impactSection(impact, windows)}` };
}
