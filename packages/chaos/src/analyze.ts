/**
 * What a drill measured, from what it observed: the swarm's events and samples, the server's
 * ListParticipants answers, and when each fault was confirmed. Pure: no clock, no I/O.
 *
 * Every disruption is attributed to the fault that failed the participant's room node or signalling
 * node (else the latest fault injected before it began), and timed from that fault's T0 (its
 * confirmation). A participant knocked down twice by one fault has one outcome with
 * two episodes; a rolling restart gives one outcome per participant and node restart it felt.
 */
import type { WindowSample } from "@livekit-swarm/schema";
import type { DrillJournal, Finding, ParticipantOutcome, RoomOutcome, TimelineEvent } from "./journal.js";
import { recoveryAggregates } from "./analyze/aggregates.js";
import { mediaNeverResumed } from "./analyze/media.js";
import type { DrillObservations, LifecycleAt, ObservedEvent } from "./analyze/observations.js";
import { walkParticipant } from "./analyze/participant.js";
import { qualityWindow } from "./analyze/quality.js";
import { FaultReach } from "./analyze/reach.js";
import { roomRecoveries } from "./analyze/room-recovery.js";
import { compareServerViews } from "./analyze/server-view.js";
import { detectSplitBrain } from "./analyze/split-brain.js";

export type {
  DrillObservations,
  FaultTiming,
  ObservedEvent,
  PlacementSample,
  ServerView,
  SignalConnection,
} from "./analyze/observations.js";

/** What the journal says of where the local backend's signal paths come from. */
export const SIGNAL_PATHS_FROM_BALANCER = "the testbed's balancer log (HAProxy)";

/** The part of the journal the analysis writes, with T0 still in epoch ms. */
export interface DrillAnalysis extends Pick<
  DrillJournal,
  "participants" | "tracks" | "rooms" | "quality" | "aggregates" | "findings" | "timeline"
> {
  /** Epoch ms of the first confirmed fault; null when none was. */
  readonly t0: number | null;
}

export function analyzeDrill(obs: DrillObservations): DrillAnalysis {
  const faults = [...obs.faults].sort((a, b) => a.injectedAt - b.injectedAt);
  const confirmed = faults.filter((f) => f.confirmedAt !== null);
  const t0 = confirmed[0]?.confirmedAt ?? null;
  const settled = obs.settled ?? true;
  const w = obs.windows;
  const rel = (t: number): number => (t0 === null ? t - w.faultPhaseStart : t - t0);

  const byParticipant = new Map<string, ObservedEvent[]>();
  for (const e of [...obs.events].sort((a, b) => a.t - b.t)) {
    // identities repeat across rooms (lkswarm-sub-1 in every room): a participant is room/identity
    const key = `${e.room}/${e.participant}`;
    byParticipant.set(key, [...(byParticipant.get(key) ?? []), e]);
  }
  const signal = obs.signalConnections ?? null;
  const ctx = {
    reach: new FaultReach(faults, signal, obs.roomNodes.before),
    rel,
    firstInjection: confirmed[0]?.injectedAt ?? Infinity,
    roomNodes: obs.roomNodes,
    settled,
  };
  const walks = obs.participants.map((p) =>
    walkParticipant(p, byParticipant.get(`${p.room}/${p.identity}`) ?? [], ctx),
  );
  const tracks = walks.flatMap((x) => x.tracks);
  const timeline: TimelineEvent[] = walks.flatMap((x) => x.timeline);
  const findings: Finding[] = walks.flatMap((x) => x.findings);

  const connectedAtEnd = new Set(
    walks.filter((x) => x.outcome.connectedAtEnd).map((x) => `${x.outcome.room}/${x.outcome.identity}`),
  );
  const silent = mediaNeverResumed(tracks, connectedAtEnd);
  if (silent !== null && settled) findings.push(silent);

  const history = new Map<string, readonly LifecycleAt[]>(
    walks.map((x) => [`${x.outcome.room}/${x.outcome.identity}`, x.history]),
  );
  const server = compareServerViews({
    rooms: [...new Set(obs.participants.map((p) => p.room))].sort(),
    participants: obs.participants,
    history,
    serverViews: obs.serverViews,
    from: t0 ?? w.faultPhaseStart,
    rel,
    settled,
  });
  timeline.push(...server.timeline);
  findings.push(...server.findings);
  const split = detectSplitBrain({
    rooms: server.rooms.map((r) => r.room),
    participants: obs.participants,
    events: byParticipant,
    history,
    placements: obs.placements ?? [],
    from: t0 ?? w.faultPhaseStart,
    end: w.end,
    rel,
    settled,
  });
  timeline.push(...split.timeline);
  findings.push(...split.findings);
  const participants: ParticipantOutcome[] = walks.map(({ outcome }, i) => {
    const placed = split.participants.get(`${outcome.room}/${outcome.identity}`);
    return {
      ...outcome,
      // where its own instance was at the end, as it saw it; Redis' map when that is unknown
      roomNodeAfter: placed?.nodeAfter ?? outcome.roomNodeAfter,
      roomSidBefore: placed?.roomSidBefore ?? null,
      roomSidAfter: placed?.roomSidAfter ?? null,
      lateJoiner: obs.participants[i]?.lateJoiner ?? null,
    };
  });
  const rooms: RoomOutcome[] = server.rooms.map((view) => {
    const before = obs.roomNodes.before[view.room] ?? null;
    const redisAfter = obs.roomNodes.after[view.room] ?? null;
    const seen = split.rooms.find((r) => r.room === view.room);
    const after = seen?.nodeAfter ?? redisAfter;
    const roomSamples = obs.samples.filter((sample) => sample.room === view.room);
    return {
      ...view,
      recoveries: roomRecoveries(tracks.filter((t) => t.subscriber.startsWith(`${view.room}/`))),
      nodeBefore: before,
      nodeAfter: after,
      redisNodeAfter: redisAfter,
      relocated: before !== null && after !== null && before !== after,
      roomSidsBefore: seen?.roomSidsBefore ?? [],
      instances: seen?.instances ?? [],
      loss: {
        before: qualityWindow(roomSamples, w.baselineStart, w.faultPhaseStart, rel)?.lossRatio ?? null,
        during: t0 === null ? null : (qualityWindow(roomSamples, t0, w.observeEnd, rel)?.lossRatio ?? null),
        after: qualityWindow(roomSamples, w.afterStart, w.end, rel)?.lossRatio ?? null,
      },
    };
  });

  // lean subscribers' video frames are assembled from RTP, not decoded (docs/observability.md 4.3)
  const lean = new Set(
    obs.participants.filter((p) => p.engine === "lean").map((p) => `${p.room}/${p.identity}`),
  );
  const assembles = (s: WindowSample): boolean => lean.has(`${s.room}/${s.participant}`);
  const before = qualityWindow(obs.samples, w.baselineStart, w.faultPhaseStart, rel, assembles);
  const during = t0 === null ? null : qualityWindow(obs.samples, t0, w.observeEnd, rel, assembles);
  const after = qualityWindow(obs.samples, w.afterStart, w.end, rel, assembles);
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

  for (const f of faults) {
    if (f.confirmedAt !== null)
      timeline.push({ tMs: rel(f.confirmedAt), kind: "fault", subject: f.id, detail: `${f.id} confirmed` });
    if (f.revertedAt !== null)
      timeline.push({ tMs: rel(f.revertedAt), kind: "revert", subject: f.id, detail: `${f.id} reverted` });
  }
  timeline.push(
    { tMs: rel(w.baselineStart), kind: "phase", subject: "drill", detail: "baseline" },
    { tMs: rel(w.faultPhaseStart), kind: "phase", subject: "drill", detail: "faults" },
    { tMs: rel(w.afterStart), kind: "phase", subject: "drill", detail: "after" },
    { tMs: rel(w.end), kind: "phase", subject: "drill", detail: "end" },
  );

  return {
    t0,
    participants,
    tracks,
    rooms,
    quality: {
      before,
      during,
      after,
      lossRatioVsBaseline: ratio(after?.lossRatio, before?.lossRatio),
      bitrateVsBaseline: ratio(after?.bitrateInBps, before?.bitrateInBps),
    },
    aggregates: recoveryAggregates(walks, server.rooms, signal === null ? null : SIGNAL_PATHS_FROM_BALANCER),
    findings,
    timeline: timeline.sort((a, b) => a.tMs - b.tMs),
  };
}
