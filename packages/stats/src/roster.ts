/** Where a participant stands in its connection: the `state` label of lkswarm_participants. */
export type ConnectionState = "connected" | "reconnecting" | "disconnected" | "failed";
export const connectionStates: readonly ConnectionState[] = [
  "connected",
  "reconnecting",
  "disconnected",
  "failed",
];

/** Out of the room: it left, was dropped, or never got in. */
export const isGone = (state: ConnectionState | undefined): boolean =>
  state === "disconnected" || state === "failed";

/** In the room or trying to stay there: a reconnecting participant has not left yet. */
export const isPresent = (state: ConnectionState | undefined): boolean =>
  state === "connected" || state === "reconnecting";

interface Member {
  readonly room: string;
  readonly identity: string;
  state: ConnectionState;
  reconnects: number;
}

/** One participant's place in the roster. */
export interface RosterEntry {
  readonly room: string;
  readonly identity: string;
  readonly state: ConnectionState;
  /** Entries into `reconnecting`, once per episode, as the catalog counts reconnects. */
  readonly reconnects: number;
}

/**
 * Each participant's connection state, from its lifecycle events. Identities repeat across rooms,
 * so a participant is its room and identity. A participant no event has named yet is absent.
 */
export class Roster {
  private readonly members = new Map<string, Member>();

  /** Moves a participant to `state`; returns the state it left (`undefined` on its first move). */
  move(room: string, identity: string, state: ConnectionState): ConnectionState | undefined {
    const key = memberKey(room, identity);
    const member = this.members.get(key);
    if (member === undefined) {
      this.members.set(key, { room, identity, state, reconnects: state === "reconnecting" ? 1 : 0 });
      return undefined;
    }
    const previous = member.state;
    if (state === "reconnecting" && previous !== "reconnecting") member.reconnects++;
    member.state = state;
    return previous;
  }

  stateOf(room: string, identity: string): ConnectionState | undefined {
    return this.members.get(memberKey(room, identity))?.state;
  }

  reconnectsOf(room: string, identity: string): number {
    return this.members.get(memberKey(room, identity))?.reconnects ?? 0;
  }

  /** Participants whose state passes `include`. */
  count(include: (state: ConnectionState) => boolean): number {
    let n = 0;
    for (const member of this.members.values()) if (include(member.state)) n++;
    return n;
  }

  *entries(): IterableIterator<RosterEntry> {
    for (const { room, identity, state, reconnects } of this.members.values())
      yield { room, identity, state, reconnects };
  }
}

function memberKey(room: string, identity: string): string {
  return `${room}\u0000${identity}`;
}
