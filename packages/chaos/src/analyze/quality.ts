/** Inbound media quality over a window of samples, and distributions over participants. */
import { lossRatioOfSums, percentile, wireBytes } from "@livekit-swarm/stats";
import type { WindowSample } from "@livekit-swarm/schema";
import type { Distribution, QualityWindow } from "../journal.js";
import type { Relative } from "./observations.js";

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { n: 0, p50: null, p95: null, max: null };
  return {
    n: values.length,
    p50: percentile(values, 50, "participants").value ?? null,
    p95: percentile(values, 95, "participants").value ?? null,
    max: Math.max(...values),
  };
}

/**
 * Inbound quality over the samples whose whole window lies in [from, to]: a sample that straddles
 * a fault's start or end would blend the two states.
 */
export function qualityWindow(
  samples: readonly WindowSample[],
  from: number,
  to: number,
  rel: Relative,
): QualityWindow | null {
  if (!(to > from)) return null;
  const inWindow = samples.filter((s) => s.t - s.durationMs >= from && s.t <= to);
  const inbound = inWindow.flatMap((s) => s.inbound);
  const loss = lossRatioOfSums(inbound.map((i) => ({ packetsLost: i.lost, packetsExpected: i.expected })));
  const jitters = inbound.map((i) => i.jitterS).filter((j): j is number => j !== undefined);
  const receiving = inWindow.filter((s) => s.inbound.length > 0 && s.durationMs > 0);
  const bitrates = receiving.map(
    (s) => (s.inbound.reduce((sum, i) => sum + i.bytes, 0) * 8) / (s.durationMs / 1000),
  );
  const wireBitrates = receiving.flatMap((s) => {
    const wire = s.inbound.map(wireBytes);
    return wire.every((w) => w !== undefined)
      ? [(wire.reduce((sum, w) => sum + w, 0) * 8) / (s.durationMs / 1000)]
      : [];
  });
  // per video track-window, as the run summary counts them: frames over the window, last height
  const video = receiving.flatMap((s) =>
    s.inbound
      .filter((i) => i.kind === "video" && i.received > 0)
      .map((i) => ({ i, seconds: s.durationMs / 1000 })),
  );
  const fps = video.map(({ i, seconds }) => i.framesDecoded / seconds);
  const heights = video.map(({ i }) => i.height).filter((h): h is number => h !== undefined);
  const mean = (xs: readonly number[]): number | null =>
    xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: readonly number[]): number | null =>
    xs.length === 0 ? null : (percentile(xs, 50, "windows").value ?? null);
  return {
    fromMs: rel(from),
    toMs: rel(to),
    lossRatio: loss.value ?? null,
    jitterP95S: jitters.length === 0 ? null : (percentile(jitters, 95, "windows").value ?? null),
    bitrateInBps: mean(bitrates),
    wireBitrateInBps: mean(wireBitrates),
    videoFpsP50: median(fps),
    videoHeightP50: median(heights),
    samples: inWindow.length,
  };
}
