/**
 * Split brain: one room name served by two instances at once (docs/livekit-behaviour.md 4.1). Every
 * participant reports its room's SID and, in watch mode, the peers it sees; two SIDs among the
 * connected participants of one room at once, or a participant that cannot see others connected to
 * the same room name, is a split brain. A participant that cannot see others all in one instance
 * with it is not two rooms: it is its own finding (`peers-unseen`). Late joiners must also hear the
 * room's publishers.
 *
 * The same SIDs say where each room ended up as its clients saw it: the node of an instance is the
 * one its clients name (lean) or, failing that, the one Redis mapped the room to while it had that
 * SID, so a room that moved before Redis lost track of it still shows as moved.
 */
import type { Finding, RoomInstance, TimelineEvent } from "../journal.js";
import type { LifecycleAt, ObservedEvent, PlacementSample, Relative } from "./observations.js";

/**
 * Two SIDs at once for less than this are not counted: after a full reconnect rtc-node can report
 * the old room SID for a moment, as it does the participant's own sid (up to 3.5 s).
 */
export const SPLIT_GRACE_MS = 5000;
/** Who a participant should see at the end: those connected, like itself, for at least this long. */
const SETTLED_MS = 5000;

export interface SplitBrainInput {
  readonly rooms: readonly string[];
  readonly participants: readonly {
    readonly identity: string;
    readonly room: string;
    readonly role: string;
    readonly lateJoiner?: string;
  }[];
  /** Per `room/identity`: its events in time order, and its lifecycle over time. */
  readonly events: ReadonlyMap<string, readonly ObservedEvent[]>;
  readonly history: ReadonlyMap<string, readonly LifecycleAt[]>;
  readonly placements: readonly PlacementSample[];
  /** Epoch ms: T0 (or the fault phase's start), and the end of the drill. */
  readonly from: number;
  readonly end: number;
  readonly rel: Relative;
  readonly settled: boolean;
}

/** What the clients saw of one room. */
export interface RoomInstances {
  readonly room: string;
  /** Room SIDs of the participants connected at T0. */
  readonly roomSidsBefore: readonly string[];
  /** Instances of the room at the end, largest first. */
  readonly instances: readonly RoomInstance[];
  /** The node of the largest instance at the end; null when unknown. */
  readonly nodeAfter: string | null;
}

export interface SplitBrainAnalysis {
  readonly rooms: readonly RoomInstances[];
  /** Per `room/identity`: its room SID at T0 and at the end, and the node of its instance then. */
  readonly participants: ReadonlyMap<string, ParticipantInstance>;
  readonly findings: readonly Finding[];
  readonly timeline: readonly TimelineEvent[];
}

export interface ParticipantInstance {
  readonly roomSidBefore: string | null;
  readonly roomSidAfter: string | null;
  readonly nodeAfter: string | null;
}

interface Episode {
  readonly start: number;
  end: number | null;
  readonly members: Map<string, Set<string>>;
}

/** The room SID and node a participant reported, over time. */
function placementsOf(events: readonly ObservedEvent[]): { t: number; roomSid: string; nodeId?: string }[] {
  const out: { t: number; roomSid: string; nodeId?: string }[] = [];
  for (const { t, event } of events) {
    if (event.type !== "joined" && event.type !== "reconnected" && event.type !== "session") continue;
    if (event.roomSid === undefined) continue;
    out.push({ t, roomSid: event.roomSid, ...(event.nodeId === undefined ? {} : { nodeId: event.nodeId }) });
  }
  return out;
}

function lastAt<T extends { readonly t: number }>(list: readonly T[], t: number): T | undefined {
  let found: T | undefined;
  for (const x of list) {
    if (x.t > t) break;
    found = x;
  }
  return found;
}

/** Start of the final run of `connected` in a lifecycle; Infinity when it does not end connected. */
function connectedSince(history: readonly LifecycleAt[]): number {
  let since = Infinity;
  for (let i = history.length - 1; i >= 0 && history[i]?.state === "connected"; i--)
    since = history[i]?.t ?? since;
  return since;
}

function listing(members: ReadonlyMap<string, ReadonlySet<string>>): string {
  return [...members].map(([sid, who]) => `${sid} (${[...who].sort().join(", ")})`).join(" and ");
}

export function detectSplitBrain(input: SplitBrainInput): SplitBrainAnalysis {
  const { rel } = input;
  const rooms: RoomInstances[] = [];
  const placed = new Map<string, ParticipantInstance>();
  const findings: Finding[] = [];
  const timeline: TimelineEvent[] = [];

  for (const room of input.rooms) {
    const members = input.participants
      .filter((p) => p.room === room)
      .map((p) => {
        const key = `${p.room}/${p.identity}`;
        const events = input.events.get(key) ?? [];
        return { ...p, key, events, sids: placementsOf(events), history: input.history.get(key) ?? [] };
      });
    /** Connected participants by room SID at `t` (those whose SID is unknown are left out). */
    const instancesAt = (t: number): Map<string, Set<string>> => {
      const out = new Map<string, Set<string>>();
      for (const m of members) {
        if (lastAt(m.history, t)?.state !== "connected") continue;
        const sid = lastAt(m.sids, t)?.roomSid;
        if (sid === undefined) continue;
        out.set(sid, (out.get(sid) ?? new Set()).add(m.identity));
      }
      return out;
    };
    for (const m of members) {
      const after = lastAt(m.sids, input.end)?.roomSid ?? null;
      placed.set(m.key, {
        roomSidBefore: lastAt(m.sids, input.from)?.roomSid ?? null,
        roomSidAfter: after,
        nodeAfter: after === null ? null : nodeOf(after, members, input.placements, room),
      });
    }

    // two SIDs at once: swept over every moment a member's state or SID changed
    const moments = [...new Set(members.flatMap((m) => m.events.map((e) => e.t)))]
      .filter((t) => t <= input.end)
      .sort((a, b) => a - b);
    const episodes: Episode[] = [];
    let open: Episode | undefined;
    for (const t of [...moments, input.end]) {
      const now = instancesAt(t);
      if (now.size >= 2) {
        open ??= { start: t, end: null, members: new Map() };
        for (const [sid, who] of now)
          open.members.set(sid, new Set([...(open.members.get(sid) ?? []), ...who]));
      } else if (open !== undefined) {
        open.end = t;
        if (t - open.start >= SPLIT_GRACE_MS) episodes.push(open);
        open = undefined;
      }
    }
    // a split still open when a drill stops early is a snapshot mid-recovery, not a finding
    if (open !== undefined && input.settled && input.end - open.start >= SPLIT_GRACE_MS) episodes.push(open);

    // at the end: who cannot see (or, for a late joiner, hear) those it should
    const settledAtEnd = members.filter((m) => input.end - connectedSince(m.history) >= SETTLED_MS);
    /** Who cannot see whom: the unseen, listed, to those who miss exactly them. */
    const unseenBy = new Map<string, string[]>();
    const unheardBlind: string[] = [];
    const deaf: string[] = [];
    /** The identities each settled participant saw last; undefined for one that never said. */
    const lastPeers = new Map(
      settledAtEnd.map((m) => {
        const peers = m.events.filter((e) => e.event.type === "peers").at(-1)?.event;
        return [m.identity, peers?.type === "peers" ? peers.identities : undefined] as const;
      }),
    );
    /** Every unseen participant sees the one that misses it: one side was not told, not two rooms. */
    let oneSided = true;
    if (input.settled) {
      for (const m of settledAtEnd) {
        const seen = lastPeers.get(m.identity);
        if (seen === undefined) continue;
        const unseen = settledAtEnd
          .filter((o) => o !== m && !seen.includes(o.identity))
          .map((o) => o.identity);
        if (unseen.some((o) => lastPeers.get(o)?.includes(m.identity) !== true)) oneSided = false;
        if (unseen.length > 0) {
          const list = unseen.join(", ");
          unseenBy.set(list, [...(unseenBy.get(list) ?? []), m.identity]);
        }
        if (m.lateJoiner === undefined) continue;
        const joinedAt = m.events.find((e) => e.event.type === "joined")?.t ?? input.end;
        const heard = new Set(
          m.events.flatMap((e) =>
            e.t >= joinedAt && e.event.type === "media" && e.event.flowing
              ? [e.event.track.slice(0, e.event.track.lastIndexOf("/"))]
              : [],
          ),
        );
        const unheard = settledAtEnd
          .filter((o) => o.role === "publisher" && !heard.has(o.identity))
          .map((o) => o.identity);
        if (unheard.length > 0) {
          const line = `${m.identity} (joined at ${(rel(joinedAt) / 1000).toFixed(1)} s) hears nothing from ${unheard.join(", ")}`;
          // blind to a publisher it cannot hear: part of not seeing it; else deaf where it sees
          if (unheard.some((o) => unseen.includes(o))) unheardBlind.push(line);
          else deaf.push(line);
        }
      }
    }

    const blind = [
      ...[...unseenBy].map(
        ([unseen, who]) => `${who.join(", ")} ${who.length > 1 ? "see" : "sees"} none of ${unseen}`,
      ),
      ...unheardBlind,
    ];

    const final = instancesAt(input.end);
    const instances: RoomInstance[] = [...final]
      .map(([sid, who]) => ({
        sid,
        node: nodeOf(sid, members, input.placements, room),
        participants: [...who].sort(),
      }))
      .sort((a, b) => b.participants.length - a.participants.length || a.sid.localeCompare(b.sid));
    rooms.push({
      room,
      roomSidsBefore: [...instancesAt(input.from).keys()].sort(),
      instances,
      nodeAfter: instances[0]?.node ?? null,
    });

    // Some cannot see others, yet the settled all report one SID (and one node, where the engine
    // names it), never two at once, and every one unseen sees who misses it: not two rooms, but
    // signalling that did not tell one side. One SID alone proves nothing: after a freeze a room's
    // clients move under its old SID while the thawed node still holds it (docs/livekit-behaviour.md
    // 4.1), and there neither side sees the other.
    const finalOf = settledAtEnd.map((m) => lastAt(m.sids, input.end));
    const sidsAtEnd = new Set(finalOf.map((f) => f?.roomSid));
    const nodesAtEnd = new Set(finalOf.flatMap((f) => (f?.nodeId === undefined ? [] : [f.nodeId])));
    const [sid] = sidsAtEnd;
    if (
      blind.length > 0 &&
      episodes.length === 0 &&
      oneSided &&
      sid !== undefined &&
      sidsAtEnd.size === 1 &&
      nodesAtEnd.size <= 1
    ) {
      const node = instances.find((i) => i.sid === sid)?.node ?? [...nodesAtEnd][0] ?? "an unknown node";
      findings.push({
        id: "peers-unseen",
        severity: "high",
        accepted: false,
        title: "participants unseen in one room instance",
        detail: `${room}: ${blind.join("; ")}, although all are in one instance, ${sid} on ${node}, and each one unseen sees who misses it: the signalling did not tell them of each other`,
        atMs: null,
      });
    } else if (episodes.length > 0 || blind.length > 0) {
      const where =
        instances.length > 1
          ? `; at the end ${instances.map((i) => `${i.sid} on ${i.node ?? "an unknown node"}`).join(", ")}`
          : "";
      const split = episodes.map(
        (ep) =>
          `two instances at once from ${(rel(ep.start) / 1000).toFixed(1)} s ${ep.end === null ? "to the end" : `to ${(rel(ep.end) / 1000).toFixed(1)} s`}: ${listing(ep.members)}`,
      );
      findings.push({
        id: "split-brain",
        severity: "high",
        accepted: false,
        title: "split brain",
        detail: `${room}: ${[...split, ...blind].join("; ")}${where} (one room name, disjoint instances: docs/livekit-behaviour.md 4.1)`,
        atMs: episodes[0] === undefined ? null : rel(episodes[0].start),
      });
      for (const ep of episodes)
        timeline.push({
          tMs: rel(ep.start),
          kind: "finding",
          subject: room,
          detail: `split brain: ${listing(ep.members)}`,
        });
    }
    if (deaf.length > 0) {
      findings.push({
        id: "late-joiner-unheard",
        severity: "high",
        accepted: false,
        title: "late joiner hears nothing",
        detail: `${room}: ${deaf.join("; ")}, although it sees them`,
        atMs: null,
      });
    }
  }
  return { rooms, participants: placed, findings, timeline };
}

/**
 * The node of the instance `sid`: the last node Redis mapped the room to while Redis had it under
 * that SID, else the node id a client in it was given (engines that see the JoinResponse).
 */
function nodeOf(
  sid: string,
  members: readonly { readonly sids: readonly { roomSid: string; nodeId?: string }[] }[],
  placements: readonly PlacementSample[],
  room: string,
): string | null {
  const mapped = placements.findLast((p) => p.room === room && p.sid === sid && p.node !== null)?.node;
  if (mapped !== undefined && mapped !== null) return mapped;
  for (const m of members) {
    const named = m.sids.findLast((s) => s.roomSid === sid && s.nodeId !== undefined);
    if (named?.nodeId !== undefined) return named.nodeId;
  }
  return null;
}
