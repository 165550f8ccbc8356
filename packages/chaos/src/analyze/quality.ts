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
  assembles: (sample: WindowSample) => boolean = () => false,
): QualityWindow | null {
  if (!(to > from)) return null;
  const inWindow = samples.filter((s) => s.t - s.durationMs >= from && s.t <= to);
  const inbound = inWindow.flatMap((s) => s.inbound);
  const loss = lossRatioOfSums(inbound.map((i) => ({ packetsLost: i.lost, packetsExpected: i.expected })));
  const jitters = inbound.map((i) => i.jitterS).filter((j): j is number => j !== undefined);
  const rtts = inWindow.map((s) => s.rttS).filter((r): r is number => r !== undefined);
  // rates per subscriber and per track as ratios of sums over their windows, never per window:
  // the window closes with the drain's last samples, taken milliseconds after a periodic one, and
  // one packet or frame over 17 ms reads as a rate many times the stream's (1 frame read 59 fps)
  const receiving = inWindow.filter((s) => s.inbound.length > 0 && s.durationMs > 0);
  const bySubscriber = groupBy(receiving, (s) => `${s.room}/${s.participant}`);
  const rate = (windows: readonly WindowSample[], bytesOf: (s: WindowSample) => number): number =>
    (windows.reduce((sum, s) => sum + bytesOf(s), 0) * 8) /
    (windows.reduce((sum, s) => sum + s.durationMs, 0) / 1000);
  const bitrates = [...bySubscriber.values()].map((windows) =>
    rate(windows, (s) => s.inbound.reduce((sum, i) => sum + i.bytes, 0)),
  );
  // a subscriber some of whose tracks did not report RTP header bytes has no wire figure
  const wireBitrates = [...bySubscriber.values()].flatMap((windows) =>
    windows.every((s) => s.inbound.every((i) => wireBytes(i) !== undefined))
      ? [rate(windows, (s) => s.inbound.reduce((sum, i) => sum + (wireBytes(i) ?? 0), 0))]
      : [],
  );
  // frame rate per video track over the windows it had packets in; height per track-window, as the
  // run summary counts them (the height of the last decoded frame needs no window length)
  const video = receiving.flatMap((s) =>
    s.inbound
      .filter((i) => i.kind === "video" && i.received > 0)
      .map((i) => ({
        key: `${s.room}/${s.participant}/${i.key}`,
        i,
        seconds: s.durationMs / 1000,
        assembled: assembles(s),
      })),
  );
  // frames a decoder showed, where any participant decodes: lean's frames are assembled from RTP,
  // never decoded, and hold their rate under loss where a decoder drops frames (25% dropped: 19.3-19.6
  // fps against 7.6-13.7 decoded, docs/observability.md 4.3); lean's alone, and said so, where none does
  const decoded = video.filter((v) => !v.assembled);
  const framed = decoded.length > 0 ? decoded : video;
  const fps = [...groupBy(framed, (v) => v.key).values()].map(
    (windows) =>
      windows.reduce((sum, w) => sum + w.i.framesDecoded, 0) / windows.reduce((sum, w) => sum + w.seconds, 0),
  );
  const heights = video.map(({ i }) => i.height).filter((h): h is number => h !== undefined);
  const mean = (xs: readonly number[]): number | null =>
    xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: readonly number[], population: "tracks" | "windows"): number | null =>
    xs.length === 0 ? null : (percentile(xs, 50, population).value ?? null);
  return {
    fromMs: rel(from),
    toMs: rel(to),
    lossRatio: loss.value ?? null,
    jitterP95S: jitters.length === 0 ? null : (percentile(jitters, 95, "windows").value ?? null),
    rttP50S: median(rtts, "windows"),
    bitrateInBps: mean(bitrates),
    wireBitrateInBps: mean(wireBitrates),
    videoFpsP50: median(fps, "tracks"),
    ...(decoded.length === 0 && video.length > 0 ? { videoFpsAssembled: true } : {}),
    videoHeightP50: median(heights, "windows"),
    samples: inWindow.length,
  };
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}
