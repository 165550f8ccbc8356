/**
 * livekit-client's reconnect events turned into the engines' `reconnecting` / `reconnected` pair. No
 * DOM, no clock: the page calls it with the time of each event, and unit tests call it the same way.
 *
 * livekit-client 2.x says which way it is reconnecting, where rtc-node does not:
 * - `SignalReconnecting` starts a resume (the signal socket is reopened, peer connections kept);
 *   `Reconnected` ends it.
 * - `Reconnecting` is a full reconnect (its engine restarts: a new join, every remote participant
 *   unwound, local tracks republished), or the browser going offline; it can also come in the middle
 *   of a resume that failed, which then becomes a full one.
 * One episode is one `reconnecting` event, however many of these came before its `Reconnected`.
 */
import type { ParticipantEvent } from "@livekit-swarm/schema";

type Reconnecting = Extract<ParticipantEvent, { type: "reconnecting" }>;
type Reconnected = Extract<ParticipantEvent, { type: "reconnected" }>;

export class ReconnectEpisodes {
  private episode: { sinceMs: number; restarted: boolean; republished: boolean } | undefined;

  /** `SignalReconnecting`: a resume starts, unless an episode is already open. */
  signalReconnecting(nowMs: number): Reconnecting | undefined {
    if (this.episode !== undefined) return undefined;
    this.episode = { sinceMs: nowMs, restarted: false, republished: false };
    return { type: "reconnecting" };
  }

  /** `Reconnecting`: a full reconnect starts, or the open episode turns into one. */
  reconnecting(nowMs: number): Reconnecting | undefined {
    if (this.episode !== undefined) {
      this.episode.restarted = true;
      return undefined;
    }
    this.episode = { sinceMs: nowMs, restarted: true, republished: false };
    return { type: "reconnecting" };
  }

  /** `LocalTrackPublished`: during an episode, livekit-client republishing after a rejoin. */
  published(): void {
    if (this.episode !== undefined) this.episode.republished = true;
  }

  /**
   * `Reconnected`, once the participant's sid was read again: `sessionChanged` when it is new (the
   * server saw a new session, whatever the events said). Without an open episode (not seen on
   * livekit-client 2.23) the duration is 0 and the path what the sid says.
   */
  reconnected(nowMs: number, sessionChanged: boolean): Reconnected {
    const episode = this.episode;
    this.episode = undefined;
    const full = sessionChanged || episode?.restarted === true || episode?.republished === true;
    return {
      type: "reconnected",
      durationS: episode === undefined ? 0 : (nowMs - episode.sinceMs) / 1000,
      path: full ? "full" : "resume",
    };
  }

  get open(): boolean {
    return this.episode !== undefined;
  }
}

/**
 * livekit-client's `DisconnectReason` (the protocol's enum, numbered) in snake case, as the native
 * engine names rtc-node's: `names` is the enum object, so a number it does not know is still named.
 */
export function disconnectReasonName(
  reason: number | undefined,
  names: Readonly<Record<number, string | undefined>>,
): string {
  if (reason === undefined) return "unknown_reason";
  return (names[reason] ?? `reason_${String(reason)}`).toLowerCase();
}
