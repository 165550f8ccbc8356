import { ParticipantInfo_State, type ParticipantInfo } from "@livekit/protocol";

/** What the subscriber's offer says of a received track: its `msid` stream and track ids. */
export interface RemoteTrackIds {
  /** LiveKit packs `<participant sid>|<track sid>` (protocol 16 and later). */
  readonly streamId?: string | undefined;
  /** The track's sid (`TR_...`). */
  readonly trackId?: string | undefined;
}

/**
 * The other participants of the room as the signalling told them (the JoinResponse, then every
 * ParticipantUpdate): who is in the room now, and whose a received track is. A received stream
 * names no identity, only sids (the offer's msid), so a track's publisher is looked up here.
 * Sids are never forgotten while the session lasts: a departed publisher's last packets still
 * belong to it. A full rejoin starts over from its own JoinResponse.
 */
export class RemotePublishers {
  private readonly present = new Map<string, string>();
  private readonly bySid = new Map<string, string>();
  private readonly byTrack = new Map<string, string>();

  constructor(
    /** This participant's own identity: the server sends our own info in updates too. */
    private readonly self: string,
  ) {}

  /** A new session: its JoinResponse lists everyone else already in the room. */
  joined(others: readonly ParticipantInfo[]): void {
    this.present.clear();
    this.updated(others);
  }

  /** A ParticipantUpdate: new participants, new tracks, and participants who left. */
  updated(infos: readonly ParticipantInfo[]): void {
    for (const info of infos) {
      if (info.identity === this.self || info.identity === "") continue;
      this.bySid.set(info.sid, info.identity);
      for (const track of info.tracks) this.byTrack.set(track.sid, info.identity);
      if (info.state === ParticipantInfo_State.DISCONNECTED) this.present.delete(info.sid);
      else this.present.set(info.sid, info.identity);
    }
  }

  /** The identity that publishes the track with these ids; undefined until the signalling named it. */
  publisherOf(ids: RemoteTrackIds): string | undefined {
    const byTrack = ids.trackId === undefined ? undefined : this.byTrack.get(ids.trackId);
    if (byTrack !== undefined) return byTrack;
    const sid = ids.streamId?.split("|")[0];
    return sid === undefined ? undefined : this.bySid.get(sid);
  }

  /** The identities in the room besides ours, sorted. */
  identities(): string[] {
    return [...new Set(this.present.values())].sort();
  }
}
