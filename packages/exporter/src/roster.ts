export type ConnectionState = "connected" | "reconnecting" | "disconnected" | "failed";
export const connectionStates: readonly ConnectionState[] = [
  "connected",
  "reconnecting",
  "disconnected",
  "failed",
];

/** Time one participant spent at one connection quality, to add to a counter. */
export interface QualityTime {
  readonly quality: string;
  readonly seconds: number;
}

interface Member {
  state: ConnectionState | undefined;
  quality: { readonly value: string; sinceMs: number } | undefined;
}

/** Out of the room: no quality is reported and none is counted. */
const gone = (state: ConnectionState | undefined): boolean => state === "disconnected" || state === "failed";

/**
 * Each participant's connection state and current LiveKit connection quality, from its events.
 *
 * Quality time is handed out in pieces whenever the participant's own clock moves: a new quality, a
 * departure, or the end of one of its sampling windows. A scrape therefore sees time accrued up to the
 * participant's last window, and time stops when its windows do (the run ended, or its worker died),
 * instead of running on with the wall clock of whoever reads the metrics.
 */
export class Roster {
  private readonly members = new Map<string, Member>();

  /** Moves a participant to `state`; a departure closes its quality time. */
  move(
    room: string,
    participant: string,
    state: ConnectionState,
    atMs: number,
  ): { previous: ConnectionState | undefined; closed: QualityTime | undefined } {
    const member = this.member(room, participant);
    const previous = member.state;
    member.state = state;
    if (!gone(state)) return { previous, closed: undefined };
    const closed = accrue(member, atMs);
    member.quality = undefined;
    return { previous, closed };
  }

  /** LiveKit reported a new quality; returns the time spent at the previous one. */
  changeQuality(room: string, participant: string, quality: string, atMs: number): QualityTime | undefined {
    const member = this.member(room, participant);
    if (gone(member.state)) return undefined;
    const closed = accrue(member, atMs);
    member.quality = { value: quality, sinceMs: Math.max(atMs, member.quality?.sinceMs ?? atMs) };
    return closed;
  }

  /** One of the participant's windows ended at `atMs`; returns the quality time since the last hand-out. */
  advance(room: string, participant: string, atMs: number): QualityTime | undefined {
    const member = this.members.get(memberKey(room, participant));
    return member === undefined ? undefined : accrue(member, atMs);
  }

  private member(room: string, participant: string): Member {
    const key = memberKey(room, participant);
    let member = this.members.get(key);
    if (member === undefined) {
      member = { state: undefined, quality: undefined };
      this.members.set(key, member);
    }
    return member;
  }
}

function memberKey(room: string, participant: string): string {
  return `${room}\u0000${participant}`;
}

/** Events and samples reach the orchestrator from several workers, so a timestamp may be a little behind. */
function accrue(member: Member, atMs: number): QualityTime | undefined {
  const quality = member.quality;
  if (quality === undefined || !(atMs > quality.sinceMs)) return undefined;
  const seconds = (atMs - quality.sinceMs) / 1000;
  quality.sinceMs = atMs;
  return { quality: quality.value, seconds };
}
