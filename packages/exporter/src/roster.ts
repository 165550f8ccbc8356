import { Roster, isGone, type ConnectionState } from "@livekit-swarm/stats";

/** Time one participant spent at one connection quality, to add to a counter. */
export interface QualityTime {
  readonly quality: string;
  readonly seconds: number;
}

interface Quality {
  readonly value: string;
  sinceMs: number;
}

/**
 * Each participant's connection state (the shared `Roster`) and current LiveKit connection quality.
 *
 * Quality time is handed out in pieces whenever the participant's own clock moves: a new quality, a
 * departure, or the end of one of its sampling windows. A scrape therefore sees time accrued up to the
 * participant's last window, and time stops when its windows do (the run ended, or its worker died),
 * instead of running on with the wall clock of whoever reads the metrics.
 */
export class QualityRoster {
  private readonly roster = new Roster();
  /** Only participants in the room: no quality is reported and none is counted for one gone. */
  private readonly qualities = new Map<string, Quality>();

  /** Moves a participant to `state`; a departure closes its quality time. */
  move(
    room: string,
    participant: string,
    state: ConnectionState,
    atMs: number,
  ): { previous: ConnectionState | undefined; closed: QualityTime | undefined } {
    const previous = this.roster.move(room, participant, state);
    if (!isGone(state)) return { previous, closed: undefined };
    const key = memberKey(room, participant);
    const closed = accrue(this.qualities.get(key), atMs);
    this.qualities.delete(key);
    return { previous, closed };
  }

  /** LiveKit reported a new quality; returns the time spent at the previous one. */
  changeQuality(room: string, participant: string, quality: string, atMs: number): QualityTime | undefined {
    if (isGone(this.roster.stateOf(room, participant))) return undefined;
    const key = memberKey(room, participant);
    const current = this.qualities.get(key);
    const closed = accrue(current, atMs);
    this.qualities.set(key, { value: quality, sinceMs: Math.max(atMs, current?.sinceMs ?? atMs) });
    return closed;
  }

  /** One of the participant's windows ended at `atMs`; returns the quality time since the last hand-out. */
  advance(room: string, participant: string, atMs: number): QualityTime | undefined {
    return accrue(this.qualities.get(memberKey(room, participant)), atMs);
  }
}

function memberKey(room: string, participant: string): string {
  return `${room}\u0000${participant}`;
}

/** Events and samples reach the orchestrator from several workers, so a timestamp may be a little behind. */
function accrue(quality: Quality | undefined, atMs: number): QualityTime | undefined {
  if (quality === undefined || !(atMs > quality.sinceMs)) return undefined;
  const seconds = (atMs - quality.sinceMs) / 1000;
  quality.sinceMs = atMs;
  return { quality: quality.value, seconds };
}
