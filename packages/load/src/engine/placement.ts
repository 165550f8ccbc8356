import type { Room } from "@livekit/rtc-node";
import type { EventSink } from "./engine.js";

/**
 * Which room instance a native participant is in (its SID, `RM_...`) and whom it sees there. Two
 * SIDs at once for one room name are a split brain (chaos analysis), so the SID rides on the
 * joined, reconnected and session events, and a change is told at once.
 */
export class RoomPlacement {
  private roomSid: string | undefined;

  constructor(
    private readonly emit: EventSink,
    /** The participant's server-side sid, once known. */
    private readonly sessionSid: () => string | undefined,
    private readonly left: () => boolean,
  ) {}

  /** `{ roomSid }` once known: spread into the events that carry it. */
  fields(): { roomSid?: string } {
    return this.roomSid === undefined ? {} : { roomSid: this.roomSid };
  }

  /** A room SID seen after the join was reported is told at once, with the participant's sid. */
  note(roomSid: string): void {
    if (roomSid === "" || roomSid === this.roomSid || this.left()) return;
    this.roomSid = roomSid;
    const sid = this.sessionSid();
    if (sid !== undefined) this.emit({ type: "session", sid, roomSid });
  }

  /** rtc-node gives the room SID asynchronously (at once when the join carried it); 1 s at most. */
  async read(room: Room): Promise<void> {
    const sid = await Promise.race([
      room.getSid().catch(() => ""),
      new Promise<string>((resolve) => {
        setTimeout(() => {
          resolve("");
        }, 1000).unref();
      }),
    ]);
    this.note(sid);
  }
}
