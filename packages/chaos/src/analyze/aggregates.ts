/** The drill's recovery figures over all participants: distributions, paths, losses, consistency. */
import type { TransportClass } from "@livekit-swarm/schema";
import type {
  PopulationAggregate,
  RecoveryAggregates,
  ReconnectPath,
  TransportAggregate,
} from "../journal.js";
import type { ParticipantWalk, WalkOutcome } from "./participant.js";
import { distribution } from "./quality.js";
import type { RoomServerView } from "./server-view.js";

/** Population order in the journal and the report: the fast group, the slow group, the rest. */
const POPULATION_ORDER = ["signal-via-failed-node", "room-on-failed-node", "other", "unknown"] as const;

function detectAndReconnect(
  participants: readonly WalkOutcome[],
): Pick<RecoveryAggregates, "detect" | "reconnect"> {
  return {
    detect: distribution(participants.flatMap((p) => (p.detectMs === null ? [] : [p.detectMs]))),
    reconnect: distribution(participants.flatMap((p) => (p.reconnectMs === null ? [] : [p.reconnectMs]))),
  };
}

function byPopulation(participants: readonly WalkOutcome[]): PopulationAggregate[] {
  return POPULATION_ORDER.flatMap((population) => {
    const members = participants.filter((p) => p.population === population);
    if (members.length === 0) return [];
    return [
      {
        population,
        participants: members.length,
        affected: members.filter((p) => p.affected).length,
        ...detectAndReconnect(members),
      },
    ];
  });
}

/** By the path before the faults, in order of first appearance; empty when no participant told one. */
function byTransport(participants: readonly WalkOutcome[]): TransportAggregate[] {
  const classes = [
    ...new Set(participants.flatMap((p) => (p.transportBefore === undefined ? [] : [p.transportBefore]))),
  ];
  return classes.map((transport) => {
    const members = participants.filter((p) => p.transportBefore === transport);
    const backOver: Partial<Record<TransportClass, number>> = {};
    for (const p of members)
      if (p.affected && p.reconnectMs !== null && p.transportAfter !== undefined)
        backOver[p.transportAfter] = (backOver[p.transportAfter] ?? 0) + 1;
    return {
      transport,
      participants: members.length,
      affected: members.filter((p) => p.affected).length,
      ...detectAndReconnect(members),
      backOver,
    };
  });
}

/** `signalPaths`: where the signal paths came from; null when unknown. */
export function recoveryAggregates(
  walks: readonly ParticipantWalk[],
  rooms: readonly RoomServerView[],
  signalPaths: string | null,
): RecoveryAggregates {
  const participants = walks.map((w) => w.outcome);
  const tracks = walks.flatMap((w) => w.tracks);
  const paths: Record<ReconnectPath, number> = { resume: 0, full: 0, rejoin: 0 };
  for (const ep of walks.flatMap((w) => w.episodes)) if (ep.endT !== null) paths[ep.path ?? "resume"]++;
  const lostByReason: Record<string, number> = {};
  for (const { lostReason } of participants)
    if (lostReason !== null) lostByReason[lostReason] = (lostByReason[lostReason] ?? 0) + 1;
  // a room the server answered for but never agreed with the swarm leaves the drill inconsistent
  const answered = rooms.filter((r) => r.serverViews > 0);
  const consistency = answered.flatMap((r) => (r.consistentMs === null ? [] : [r.consistentMs]));
  const everConsistent = answered.every((r) => r.consistentMs !== null);
  return {
    participants: participants.length,
    affected: participants.filter((p) => p.affected).length,
    ...detectAndReconnect(participants),
    mediaResume: distribution(
      tracks.flatMap((t) => (t.resumed && t.resumedMs !== null ? [Math.max(0, t.resumedMs)] : [])),
    ),
    tracksNotResumed: tracks.filter((t) => !t.resumed).length,
    paths,
    lostByReason,
    ghosts: rooms.reduce((n, r) => n + r.ghosts.length, 0),
    consistentMs: everConsistent && consistency.length > 0 ? Math.max(...consistency) : null,
    signalPaths,
    byPopulation: byPopulation(participants),
    ...(participants.some((p) => p.transportBefore !== undefined)
      ? { byTransport: byTransport(participants) }
      : {}),
  };
}
