/**
 * One participant's drill, from its events: disruption episodes (each attributed to the fault that
 * failed its signalling node or its room's node, else the latest fault injected before it began),
 * how each recovered, its media, and its outcome. A participant knocked down twice by one fault has
 * one episode counted twice.
 */
import type { Role, TransportClass } from "@livekit-swarm/schema";
import type { Finding, ParticipantOutcome, ReconnectPath, TimelineEvent, TrackOutcome } from "../journal.js";
import { TrackFlows } from "./media.js";
import type { FaultReach } from "./reach.js";
import {
  faultT0,
  type FaultTiming,
  type Lifecycle,
  type LifecycleAt,
  type ObservedEvent,
  type Relative,
} from "./observations.js";

/** A sid change this long after a recovery still tells about that recovery. */
const SID_LAG_MS = 5000;

export interface Episode {
  readonly fault: FaultTiming;
  readonly startT: number;
  endT: number | null;
  path: ReconnectPath | null;
  count: number;
}

export interface ParticipantContext {
  readonly reach: FaultReach;
  readonly rel: Relative;
  /** Epoch ms of the first confirmed fault's injection: a sid seen before it is the participant's first. */
  readonly firstInjection: number;
  readonly roomNodes: {
    readonly before: Readonly<Record<string, string | null>>;
    readonly after: Readonly<Record<string, string | null>>;
  };
  readonly settled: boolean;
}

/** A participant's outcome from its own events; where its room instance was comes from split-brain.ts. */
export type WalkOutcome = Omit<ParticipantOutcome, "roomSidBefore" | "roomSidAfter" | "lateJoiner">;

export interface ParticipantWalk {
  readonly outcome: WalkOutcome;
  readonly tracks: readonly TrackOutcome[];
  readonly episodes: readonly Episode[];
  readonly history: readonly LifecycleAt[];
  readonly timeline: readonly TimelineEvent[];
  readonly findings: readonly Finding[];
}

/** Walks one participant's events (sorted by time) into its outcome. */
export function walkParticipant(
  p: { readonly identity: string; readonly room: string; readonly role: Role },
  events: readonly ObservedEvent[],
  ctx: ParticipantContext,
): ParticipantWalk {
  const { reach, rel } = ctx;
  const who = `${p.room}/${p.identity}`;
  let state: Lifecycle = "none";
  let sid: string | null = null;
  let sidBefore: string | null = null;
  let lastReason: string | null = null;
  let transportBefore: TransportClass | undefined;
  let transportAfter: TransportClass | undefined;
  const history: LifecycleAt[] = [];
  const timeline: TimelineEvent[] = [];
  const findings: Finding[] = [];
  const episodes: Episode[] = [];
  let open: Episode | undefined;
  const media = new TrackFlows(p, reach, rel);

  for (const { t, event } of events) {
    switch (event.type) {
      case "joined": {
        const wasDown = state === "gone" || state === "reconnecting";
        state = "connected";
        timeline.push({ tMs: rel(t), kind: "joined", subject: who, detail: "joined" });
        if (open !== undefined && wasDown) {
          // the app rejoined as a new participant after the SDK gave up
          open.endT = t;
          open.path = "rejoin";
          open = undefined;
        }
        break;
      }
      case "join-failed":
        lastReason = event.reason;
        if (state === "none") state = "gone";
        break;
      case "reconnecting":
      case "disconnected": {
        const fault = reach.attributeDisruption(t, p.room, p.identity);
        if (event.type === "disconnected") lastReason = event.reason;
        const wasUp = state === "connected";
        state = event.type === "reconnecting" ? "reconnecting" : "gone";
        timeline.push({
          tMs: rel(t),
          kind: event.type,
          subject: who,
          detail: event.type === "disconnected" ? `disconnected (${event.reason})` : "reconnecting",
        });
        if (fault === undefined || !wasUp) break;
        const last = episodes[episodes.length - 1];
        if (open === undefined && last?.fault === fault) {
          // knocked down again by the same fault: one outcome, another episode
          open = last;
          open.endT = null;
          open.count++;
        } else if (open === undefined) {
          open = { fault, startT: t, endT: null, path: null, count: 1 };
          episodes.push(open);
        }
        break;
      }
      case "reconnected":
        state = "connected";
        timeline.push({
          tMs: rel(t),
          kind: "reconnected",
          subject: who,
          detail: `reconnected (${event.path ?? "resume"})`,
        });
        if (open !== undefined) {
          open.endT = t;
          if (open.path !== "full") open.path = event.path ?? "resume";
          open = undefined;
        }
        break;
      case "session":
        if (sid !== null && sid !== event.sid) {
          // a new sid (it lags Reconnected by up to 3.5 s): the recovery just before it was full
          const recovered = episodes.findLast((ep) => ep.endT !== null && t - ep.endT <= SID_LAG_MS);
          if (recovered !== undefined && recovered.path !== "rejoin") recovered.path = "full";
        }
        sid = event.sid;
        if (t < ctx.firstInjection) sidBefore = event.sid;
        break;
      case "transport":
        if (t < ctx.firstInjection) transportBefore = event.transport;
        transportAfter = event.transport;
        break;
      case "media": {
        const row = media.observe(event);
        if (row !== null) timeline.push(row);
        break;
      }
      default:
        break;
    }
    if (event.type !== "media") history.push({ t, state, sid });
  }
  const tracks = media.finish();

  const connectedAtEnd = state === "connected";
  const lostReason = connectedAtEnd
    ? null
    : state === "reconnecting"
      ? "stuck_reconnecting"
      : state === "none"
        ? "never_joined"
        : (lastReason ?? "unknown");

  // the worst disruption speaks for the participant (in the distributions too); paths count
  // every recovery
  let worst: Episode | undefined;
  for (const ep of episodes) {
    if (ep.count > 1) {
      findings.push({
        id: "reconnect-cycles",
        severity: "medium",
        accepted: false,
        title: "knocked down again after recovering",
        detail: `${who} went through ${ep.count} reconnect cycles for fault ${ep.fault.id} (an abandoned resume completing late is a known cause: docs/livekit-behaviour.md 4.3)`,
        atMs: rel(ep.startT),
      });
    }
    if (worst === undefined || episodeSpan(ep) > episodeSpan(worst)) worst = ep;
  }
  const myTracks = tracks.filter((t) => worst === undefined || t.fault === worst.fault.id);
  const worstT0 = worst === undefined ? null : faultT0(worst.fault);
  const stalled = myTracks.filter((t) => t.stalledMs !== null);
  const fault = worst?.fault ?? reach.byId(stalled[0]?.fault) ?? reach.firstFor(p.room, p.identity);
  const outcome: WalkOutcome = {
    identity: p.identity,
    room: p.room,
    role: p.role,
    fault: worst?.fault.id ?? stalled[0]?.fault ?? null,
    signalNode: fault === undefined ? null : reach.signalNodeAt(p.room, p.identity, fault.injectedAt),
    population: fault === undefined ? null : reach.population(fault, p.room, p.identity),
    roomNodeBefore: ctx.roomNodes.before[p.room] ?? null,
    roomNodeAfter: ctx.roomNodes.after[p.room] ?? null,
    affected: worst !== undefined || stalled.length > 0 || (!connectedAtEnd && state !== "none"),
    detectMs: worst === undefined || worstT0 === null ? null : Math.max(0, worst.startT - worstT0),
    reconnectMs:
      worst?.endT === null || worst === undefined || worstT0 === null || !connectedAtEnd
        ? null
        : Math.max(0, worst.endT - worstT0),
    path: worst?.endT != null ? (worst.path ?? "resume") : null,
    episodes: episodes.reduce((n, e) => n + e.count, 0),
    mediaResumeMs:
      stalled.length === 0 || stalled.some((t) => !t.resumed)
        ? null
        : Math.max(0, ...stalled.map((t) => t.resumedMs ?? 0)),
    connectedAtEnd,
    lostReason,
    sidBefore,
    sidAfter: sid,
    ...(transportBefore !== undefined ? { transportBefore } : {}),
    ...(transportAfter !== undefined ? { transportAfter } : {}),
  };
  if (lostReason === "stuck_reconnecting" && ctx.settled) {
    findings.push({
      id: "stuck-reconnecting",
      severity: "high",
      accepted: false,
      title: "stuck reconnecting",
      detail: `${who} was still reconnecting at the end of the drill without giving up (no SDK event tells the app to act)`,
      atMs: null,
    });
  }
  return { outcome, tracks, episodes, history, timeline, findings };
}

/** How long an episode kept its participant down, from its fault's T0 (open: forever). */
function episodeSpan(ep: Episode): number {
  return (ep.endT ?? Infinity) - faultT0(ep.fault);
}
