/**
 * The steady-state probes a drill runs at the end of the baseline and of the after window: what the
 * swarm's recorder saw since a moment, plus each Prometheus query, judged against the drill's tolerances.
 */
import { queryInstant } from "@livekit-swarm/gate";
import { messageOf, type Drill, type PrometheusProbe } from "@livekit-swarm/schema";
import type { ProbeResult } from "../journal.js";
import { probeSteadyState, type SteadyStateReading } from "../verdict.js";
import type { DrillRecorder } from "./recorder.js";

/** What the probes read from the swarm's recorder. */
export type SwarmReadings = Pick<DrillRecorder, "planned" | "connected" | "tracks" | "lossSince">;

/** Reads the swarm since `from` (epoch ms) and Prometheus now, and judges the drill's steady state. */
export async function probeSwarm(
  steadyState: Drill["steadyState"],
  recorder: SwarmReadings,
  prometheusUrl: string | undefined,
  from: number,
): Promise<ProbeResult[]> {
  return probeSteadyState(steadyState, await reading(steadyState, recorder, prometheusUrl, from));
}

export function describeProbe(p: ProbeResult): string {
  return `${p.name} ${p.detail ?? String(p.observed)} (${p.tolerance}) ${p.met ? "ok" : "NOT MET"}`;
}

async function reading(
  steadyState: Drill["steadyState"],
  recorder: SwarmReadings,
  prometheusUrl: string | undefined,
  from: number,
): Promise<SteadyStateReading> {
  const tracks = recorder.tracks();
  return {
    planned: recorder.planned,
    connected: recorder.connected(),
    tracksExpected: tracks.expected,
    tracksFlowing: tracks.flowing,
    lossRatio: recorder.lossSince(from),
    prometheus: await Promise.all(steadyState.prometheus.map((p) => probePrometheus(prometheusUrl, p))),
  };
}

async function probePrometheus(
  url: string | undefined,
  probe: PrometheusProbe,
): Promise<{ value: number } | { error: string }> {
  if (url === undefined) return { error: "no Prometheus for this target" };
  try {
    const value = await queryInstant(url, probe.query, { timeoutMs: 5000 });
    return value === undefined ? { error: "the query returned no series" } : { value };
  } catch (err) {
    return { error: messageOf(err) };
  }
}
