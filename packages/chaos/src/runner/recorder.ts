import { Roster, lossRatioOfSums } from "@livekit-swarm/stats";
import type { EventContext, ParticipantEvent, RunObserver, WindowSample } from "@livekit-swarm/schema";
import type { ObservedEvent } from "../analyze.js";
import type { ParticipantPlan } from "@livekit-swarm/load";

/**
 * Keeps everything the swarm reports during a drill (for the analysis afterwards) and the live
 * state the drill steers by: who is connected, which subscribed tracks receive media.
 */
export class DrillRecorder implements RunObserver {
  readonly events: ObservedEvent[] = [];
  readonly samples: WindowSample[] = [];
  private readonly roster = new Roster();
  private readonly flowing = new Map<string, Map<string, boolean>>();
  private readonly everyone: ParticipantPlan[];
  /** Late joiners (room/identity) and the client.join fault that added them. */
  private readonly late = new Map<string, string>();

  constructor(planned: readonly ParticipantPlan[]) {
    this.everyone = [...planned];
  }

  /** Late joiners a client.join fault adds: watched, counted and analysed like the planned swarm. */
  add(fault: string, joiners: readonly ParticipantPlan[]): void {
    this.everyone.push(...joiners);
    for (const p of joiners) this.late.set(`${p.room}/${p.identity}`, fault);
  }

  /** Every participant, planned or added, with the client.join fault that added it (if one did). */
  get participants(): readonly (ParticipantPlan & { readonly lateJoiner?: string })[] {
    return this.everyone.map((p) => {
      const fault = this.late.get(`${p.room}/${p.identity}`);
      return fault === undefined ? p : { ...p, lateJoiner: fault };
    });
  }

  /** Participants (room/identity) that joined, or failed to, at or after `since`. */
  joinedSince(since: number): Map<string, { ok: boolean; detail: string }> {
    const out = new Map<string, { ok: boolean; detail: string }>();
    for (const e of this.events) {
      if (e.t < since) continue;
      if (e.event.type === "joined")
        out.set(`${e.room}/${e.participant}`, {
          ok: true,
          detail: `in ${e.event.roomSid ?? "a room of unknown SID"}`,
        });
      else if (e.event.type === "join-failed")
        out.set(`${e.room}/${e.participant}`, { ok: false, detail: `failed: ${e.event.reason}` });
    }
    return out;
  }

  onEvent(context: EventContext, event: ParticipantEvent): void {
    this.events.push({
      t: context.t,
      room: context.room,
      participant: context.participant,
      role: context.role,
      event,
    });
    // identities repeat across rooms: a participant is room/identity
    const id = `${context.room}/${context.participant}`;
    switch (event.type) {
      case "joined":
      case "reconnected":
        this.roster.move(context.room, context.participant, "connected");
        break;
      case "reconnecting":
        this.roster.move(context.room, context.participant, "reconnecting");
        break;
      case "disconnected":
        this.roster.move(context.room, context.participant, "disconnected");
        this.flowing.delete(id);
        break;
      case "media": {
        const tracks = this.flowing.get(id) ?? new Map<string, boolean>();
        tracks.set(event.track, event.flowing);
        this.flowing.set(id, tracks);
        break;
      }
      default:
        break;
    }
  }

  onSample(sample: WindowSample): void {
    this.samples.push(sample);
  }

  get planned(): number {
    return this.everyone.length;
  }

  connected(): number {
    return this.roster.count((state) => state === "connected");
  }

  /** Participants that joined once and are now reconnecting or gone. */
  down(): number {
    return this.roster.count((state) => state !== "connected");
  }

  /** Connected participants of each room. */
  connectedByRoom(): Map<string, string[]> {
    const rooms = new Map<string, string[]>();
    for (const p of this.everyone) {
      if (this.roster.stateOf(p.room, p.identity) !== "connected") continue;
      rooms.set(p.room, [...(rooms.get(p.room) ?? []), p.identity]);
    }
    return rooms;
  }

  tracks(): { expected: number; flowing: number } {
    let flowing = 0;
    const expected = this.everyone.reduce(
      (n, p) => n + (p.subscribe ? p.expectedTracks.audio + p.expectedTracks.video : 0),
      0,
    );
    for (const p of this.everyone) {
      if (this.roster.stateOf(p.room, p.identity) !== "connected") continue;
      const tracks = this.flowing.get(`${p.room}/${p.identity}`);
      if (tracks === undefined) continue;
      let mine = 0;
      for (const f of tracks.values()) if (f) mine++;
      flowing += Math.min(mine, p.expectedTracks.audio + p.expectedTracks.video);
    }
    return { expected, flowing };
  }

  /** Inbound loss (ratio of sums) over the samples whose whole window is at or after `from`. */
  lossSince(from: number): number | null {
    const inbound = this.samples.filter((s) => s.t - s.durationMs >= from).flatMap((s) => s.inbound);
    return (
      lossRatioOfSums(inbound.map((i) => ({ packetsLost: i.lost, packetsExpected: i.expected }))).value ??
      null
    );
  }

  /** Participants (room/identity) that reported `simulated` at or after `since`, with their outcome. */
  simulated(since: number): Map<string, { ok: boolean; message: string | undefined }> {
    const out = new Map<string, { ok: boolean; message: string | undefined }>();
    for (const e of this.events) {
      if (e.t >= since && e.event.type === "simulated")
        out.set(`${e.room}/${e.participant}`, { ok: e.event.ok, message: e.event.message });
    }
    return out;
  }
}
