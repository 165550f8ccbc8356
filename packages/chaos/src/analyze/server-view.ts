/**
 * The server's view against the swarm's, room by room: each ListParticipants answer is compared
 * with who the swarm had connected at that moment, to find ghosts, duplicates and missing
 * participants, and when the room became consistent after the fault.
 */
import type { Finding, RoomOutcome, TimelineEvent } from "../journal.js";
import type { LifecycleAt, Relative, ServerView } from "./observations.js";

/** What the server's answers say of one room, as the journal's room outcome records it. */
export type RoomServerView = Pick<
  RoomOutcome,
  "room" | "serverViews" | "consistentMs" | "ghosts" | "duplicates" | "missing"
>;

export interface ServerViewInput {
  readonly rooms: readonly string[];
  readonly participants: readonly { readonly identity: string; readonly room: string }[];
  /** Per `room/identity`: its lifecycle over time. */
  readonly history: ReadonlyMap<string, readonly LifecycleAt[]>;
  readonly serverViews: readonly ServerView[];
  /** Epoch ms from which answers count (T0, or the fault phase's start). */
  readonly from: number;
  readonly rel: Relative;
  readonly settled: boolean;
}

interface Comparison {
  readonly ok: boolean;
  /** One entry per server-side participant no connected client owns. */
  readonly ghosts: string[];
  readonly duplicates: string[];
  readonly missing: string[];
}

export function compareServerViews(input: ServerViewInput): {
  rooms: RoomServerView[];
  timeline: TimelineEvent[];
  findings: Finding[];
} {
  const { rel } = input;
  /** The swarm's view of a room at `t`: connected participants with their sid, and those in flux. */
  const swarmViewAt = (
    room: string,
    t: number,
  ): { connected: Map<string, string | null>; reconnecting: Set<string> } => {
    const connected = new Map<string, string | null>();
    const reconnecting = new Set<string>();
    for (const p of input.participants) {
      if (p.room !== room) continue;
      let last: LifecycleAt | undefined;
      for (const h of input.history.get(`${p.room}/${p.identity}`) ?? []) {
        if (h.t > t) break;
        last = h;
      }
      if (last?.state === "connected") connected.set(p.identity, last.sid);
      // not joined yet (a late joiner on its way in): the server may list it first
      if (last === undefined || last.state === "reconnecting") reconnecting.add(p.identity);
    }
    return { connected, reconnecting };
  };
  /**
   * A server answer against the swarm at that moment. A participant in the middle of reconnecting
   * may be listed or not: either is right, so it is neither a ghost nor missing.
   */
  const compare = (v: ServerView & { participants: NonNullable<ServerView["participants"]> }): Comparison => {
    const { connected, reconnecting } = swarmViewAt(v.room, v.t);
    const entries = new Map<string, string[]>();
    for (const sp of v.participants) entries.set(sp.identity, [...(entries.get(sp.identity) ?? []), sp.sid]);
    const ghosts: string[] = [];
    for (const [identity, sids] of entries) {
      if (reconnecting.has(identity)) continue;
      const mine = connected.get(identity);
      // a connected client owns one entry: the one with its sid, or any while its sid is unknown
      const owned =
        connected.has(identity) && (mine === null || mine === undefined || sids.includes(mine)) ? 1 : 0;
      for (let n = owned; n < sids.length; n++) ghosts.push(identity);
    }
    const duplicates = [...entries].filter(([, sids]) => sids.length > 1).map(([id]) => id);
    const missing = [...connected.keys()].filter((id) => !entries.has(id));
    return {
      ok: ghosts.length === 0 && duplicates.length === 0 && missing.length === 0,
      ghosts,
      duplicates,
      missing,
    };
  };

  const rooms: RoomServerView[] = [];
  const timeline: TimelineEvent[] = [];
  const findings: Finding[] = [];
  for (const room of input.rooms) {
    const views = input.serverViews.filter((v) => v.room === room).sort((a, b) => a.t - b.t);
    let consistentSince: number | null = null;
    let answered = 0;
    // the end state is the last answer the server gave: a failed call at the end does not clear it
    let last: Comparison = { ok: false, ghosts: [], duplicates: [], missing: [] };
    let previousDetail = "";
    for (const v of views) {
      if (v.t < input.from) continue;
      if (v.participants === null) {
        consistentSince = null;
        previousDetail = "";
        continue;
      }
      answered++;
      last = compare({ ...v, participants: v.participants });
      if (last.ok) {
        consistentSince ??= v.t;
        previousDetail = "";
        continue;
      }
      consistentSince = null;
      const detail = `server view differs: ghosts [${last.ghosts.join(", ")}] duplicates [${last.duplicates.join(", ")}] missing [${last.missing.join(", ")}]`;
      // one row per run of the same disagreement
      if (detail !== previousDetail) timeline.push({ tMs: rel(v.t), kind: "server", subject: room, detail });
      previousDetail = detail;
    }
    rooms.push({
      room,
      serverViews: answered,
      consistentMs: consistentSince === null ? null : Math.max(0, rel(consistentSince)),
      ghosts: last.ghosts,
      duplicates: last.duplicates,
      missing: last.missing,
    });
    if (last.ghosts.length > 0 && input.settled) {
      findings.push({
        id: "ghost-participants",
        severity: "high",
        accepted: false,
        title: "ghost participants",
        detail: `${room}: the server still lists ${last.ghosts.join(", ")} that no connected client owns (a stale sid, a duplicate, or a participant that is gone)`,
        atMs: null,
      });
    }
    if (last.missing.length > 0 && input.settled) {
      findings.push({
        id: "missing-from-server-view",
        severity: "high",
        accepted: false,
        title: "live participants missing from the server's view",
        detail: `${room}: ${last.missing.join(", ")} are connected, but ListParticipants omits them (the room's state in Redis was lost or deleted)`,
        atMs: null,
      });
    }
  }
  return { rooms, timeline, findings };
}
