/** A measured point's figures and verdict, from the run summary and the CPU window: pure. */
import type { RunSummary } from "@livekit-swarm/load";
import type { SwarmMetricName } from "@livekit-swarm/schema";
import { keptUp } from "./kept-up.js";
import type { ThreadGroup, WindowMeasure } from "./proc.js";
import { exitWord } from "./run-process.js";
import { CORES_LIMIT, LOSS_LIMIT, MEDIA_FLOOR } from "./workloads.js";

/** A point as results.json records it. */
export interface Point {
  readonly workload: string;
  readonly rooms: number;
  readonly participants: number;
  readonly attempt: number;
  readonly workers: number | undefined;
  readonly windowS: number | undefined;
  readonly joined: number;
  /**
   * Joined participants per media path (the run's transport groups: "udp", "udp-blocked tcp",
   * "turn-only turn-udp"), so a `--network` point shows it measured the path it asked for.
   * Absent from points recorded before paths were.
   */
  readonly paths?: Readonly<Record<string, number>>;
  readonly tracks: { readonly expected: number; readonly receiving: number };
  readonly inboundKbpsPerTrack: number | undefined;
  readonly lossP95: number | undefined;
  readonly lossRatio: Readonly<Record<string, number | null>> | undefined;
  readonly generator:
    | {
        readonly cpuS: number;
        readonly cores: number | undefined;
        readonly cpuPerPMin: number | undefined;
        readonly byRole: Readonly<
          Record<string, { readonly cpuS: number; readonly cpuPerPMin: number | undefined }>
        >;
      }
    | undefined;
  readonly server:
    { readonly cpuS: number; readonly cores: number; readonly cpuPerPMin: number | undefined } | undefined;
  readonly rss: { readonly totalMiB: number; readonly perParticipantMiB: number | undefined } | undefined;
  /** Proportional set size (shared pages divided among their processes): right for Chromium too. */
  readonly pss?: { readonly totalMiB: number; readonly perParticipantMiB: number | undefined } | undefined;
  readonly otherCores: number | undefined;
  readonly stealCores: number | undefined;
  readonly keptUp: boolean;
  readonly saturated: boolean;
  readonly reasons: readonly string[];
  readonly threads: readonly ThreadGroup[] | undefined;
  readonly outDir: string;
}

/** A workload's first point that kept up: what media flows when the machine is not loaded. */
export interface Baseline {
  readonly rooms: number;
  readonly inKbps: number | undefined;
}

/** Everything a point's run produced, as measured. */
export interface PointRun {
  readonly workload: string;
  readonly rooms: number;
  readonly participants: number;
  readonly attempt: number;
  readonly outDir: string;
  /** The point process's exit code, or the signal that ended it. */
  readonly exit: { readonly code: number | null; readonly signal: string | null };
  readonly workers: number | undefined;
  readonly summary: RunSummary | undefined;
  readonly window: WindowMeasure | undefined;
  readonly rssMiB: number | undefined;
  readonly pssMiB?: number | undefined;
  /** Milliseconds after the scheduled last join at which everyone was seen in (or the window opened). */
  readonly joinLagMs: number;
  /** Problems seen while running it (joins still pending, the run exited early, no summary). */
  readonly problems: readonly string[];
  readonly baseline: Baseline | undefined;
  readonly bucketMs: number;
  /** How long joins may lag before the point does not keep up. */
  readonly joinGraceMs: number;
}

/** Mean inbound media rate over the window's stats buckets, per expected track, kb/s (0 for a track not flowing). */
export function inboundKbpsPerTrack(
  summary: RunSummary | undefined,
  window: Pick<WindowMeasure, "startMs" | "endMs"> | undefined,
  expectedTracks: number,
  bucketMs: number,
): number | undefined {
  if (summary === undefined || window === undefined || expectedTracks === 0) return undefined;
  // a long run's points are longer than its stats interval (the timeline is kept to a fixed size)
  const step = summary.timelineStepMs ?? bucketMs;
  const inside = summary.timeline.filter((b) => b.t >= window.startMs && b.t + step <= window.endMs);
  if (inside.length === 0) return undefined;
  const bps = inside.reduce((a, b) => a + b.bitrateInBps, 0) / inside.length;
  return bps / expectedTracks / 1000;
}

const LOSS: SwarmMetricName = "lkswarm_inbound_loss_ratio";

/** The worst inbound loss p95 over the kinds. */
export function lossP95(summary: RunSummary | undefined): number | undefined {
  const values = (summary?.figures ?? [])
    .filter((f) => f.metric === LOSS && f.n > 0 && f.p95 !== undefined)
    .map((f) => f.p95 ?? 0);
  return values.length > 0 ? Math.max(...values) : undefined;
}

/** Pure: the point's figures per participant-minute and whether the generator kept up. */
export function describePoint(run: PointRun): Point {
  const { summary, window: m } = run;
  const joined = summary?.participants.joined ?? 0;
  const expected = summary ? summary.tracks.expected.audio + summary.tracks.expected.video : 0;
  const receiving = summary ? summary.tracks.receiving.audio + summary.tracks.receiving.video : 0;
  const loss = lossP95(summary);
  const inKbps = inboundKbpsPerTrack(summary, m, expected, run.bucketMs);
  const pMin = m !== undefined && joined > 0 ? (joined * m.windowS) / 60 : undefined;
  const per = (cpuS: number): number | undefined => (pMin !== undefined ? cpuS / pMin : undefined);
  const reasons = [...run.problems];
  if (summary !== undefined) {
    const verdict = keptUp(
      {
        joined,
        expectedParticipants: run.participants,
        joinLagMs: run.joinLagMs,
        tracksReceiving: receiving,
        tracksExpected: expected,
      },
      run.joinGraceMs,
    );
    if (!verdict.ok) reasons.push(verdict.reason);
    const reconnects = summary.participants.reconnects;
    if (reconnects > 0) reasons.push(`${reconnects} reconnect(s)`);
    if (loss !== undefined && loss > LOSS_LIMIT) reasons.push(`loss p95 ${(loss * 100).toFixed(1)}%`);
    const base = run.baseline?.inKbps;
    if (
      inKbps !== undefined &&
      base !== undefined &&
      run.baseline !== undefined &&
      inKbps < MEDIA_FLOOR * base
    ) {
      reasons.push(
        `media in ${inKbps.toFixed(0)} kb/s per track, ${((inKbps / base) * 100).toFixed(0)}% of ${run.baseline.rooms} room's`,
      );
    }
    // 130 is the point process's answer to the SIGINT that ends a run after its window
    if (run.exit.code !== 0 && run.exit.code !== 130) reasons.push(`exit ${exitWord(run.exit)}`);
  }
  const cores = m !== undefined && m.windowS > 0 ? m.treeCpuS / m.windowS : undefined;
  const keptUpNow = reasons.length === 0;
  const saturated = !keptUpNow || (cores !== undefined && cores > CORES_LIMIT);
  return {
    workload: run.workload,
    rooms: run.rooms,
    participants: run.participants,
    attempt: run.attempt,
    workers: run.workers,
    windowS: m?.windowS,
    joined,
    ...(summary?.groups?.transports !== undefined
      ? { paths: Object.fromEntries(summary.groups.transports.map((g) => [g.name, g.joined])) }
      : {}),
    tracks: { expected, receiving },
    inboundKbpsPerTrack: inKbps,
    lossP95: loss,
    lossRatio: summary
      ? Object.fromEntries(Object.entries(summary.loss).map(([k, v]) => [k, v.ratio ?? null]))
      : undefined,
    generator: m && {
      cpuS: m.treeCpuS,
      cores,
      cpuPerPMin: per(m.treeCpuS),
      byRole: Object.fromEntries(
        Object.entries(m.byRole).map(([r, c]) => [r, { cpuS: c, cpuPerPMin: per(c) }]),
      ),
    },
    server: m && {
      cpuS: m.serverCpuS,
      cores: m.windowS > 0 ? m.serverCpuS / m.windowS : 0,
      cpuPerPMin: per(m.serverCpuS),
    },
    rss: memory(run.rssMiB, joined),
    pss: memory(run.pssMiB, joined),
    otherCores: m?.otherCores,
    stealCores: m?.stealCores,
    keptUp: keptUpNow,
    saturated,
    reasons:
      cores !== undefined && cores > CORES_LIMIT
        ? [...reasons, `generator at ${cores.toFixed(2)} cores`]
        : reasons,
    threads: m?.threads,
    outDir: run.outDir,
  };
}

function memory(
  totalMiB: number | undefined,
  joined: number,
): { totalMiB: number; perParticipantMiB: number | undefined } | undefined {
  return totalMiB !== undefined
    ? { totalMiB, perParticipantMiB: joined > 0 ? totalMiB / joined : undefined }
    : undefined;
}
