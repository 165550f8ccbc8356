/**
 * Media stalls and resumes, track by track: a track that stops flowing after a fault was issued
 * is that fault's (the one that failed the room's node, else the subscriber's or the publisher's
 * signalling node, else the latest), and it resumes when its first packet arrives again.
 */
import type { ParticipantEvent } from "@livekit-swarm/schema";
import type { Finding, TimelineEvent, TrackOutcome } from "../journal.js";
import { faultT0, type FaultTiming, type Relative } from "./observations.js";
import type { FaultReach } from "./reach.js";

/** A stall whose last packet came this long before the fault was issued still counts as the fault's. */
const STALL_LEAD_MS = 500;

type MediaEvent = Extract<ParticipantEvent, { type: "media" }>;

/** One subscriber's tracks: feed it the subscriber's media events in order, then `finish`. */
export class TrackFlows {
  readonly tracks: TrackOutcome[] = [];
  private readonly flows = new Map<
    string,
    { flowing: boolean; stall: { at: number; fault: FaultTiming } | null }
  >();

  /** `subscriber` is room/identity. */
  constructor(
    private readonly subscriber: { readonly room: string; readonly identity: string },
    private readonly reach: FaultReach,
    private readonly rel: Relative,
  ) {}

  private get who(): string {
    return `${this.subscriber.room}/${this.subscriber.identity}`;
  }

  /** Records a media event; returns the timeline row it makes, if any. */
  observe(event: MediaEvent): TimelineEvent | null {
    const flow = this.flows.get(event.track) ?? { flowing: false, stall: null };
    this.flows.set(event.track, flow);
    let row: TimelineEvent | null = null;
    if (!event.flowing && flow.flowing) {
      // the track's id starts with its publisher's identity
      const { room, identity } = this.subscriber;
      const publisher = event.track.slice(0, event.track.lastIndexOf("/"));
      const fault = this.reach.attributeStall(event.atMs, room, identity, publisher, STALL_LEAD_MS);
      if (fault !== undefined) {
        flow.stall = { at: event.atMs, fault };
        row = {
          tMs: this.rel(event.atMs),
          kind: "media-stalled",
          subject: this.who,
          detail: `${event.track} stalled`,
        };
      }
    } else if (event.flowing && !flow.flowing && flow.stall !== null) {
      const t0 = faultT0(flow.stall.fault);
      this.tracks.push({
        subscriber: this.who,
        fault: flow.stall.fault.id,
        track: event.track,
        stalledMs: flow.stall.at - t0,
        resumedMs: event.atMs - t0,
        resumed: true,
      });
      row = {
        tMs: this.rel(event.atMs),
        kind: "media-resumed",
        subject: this.who,
        detail: `${event.track} resumed`,
      };
      flow.stall = null;
    }
    flow.flowing = event.flowing;
    return row;
  }

  /** Closes the walk: a track still stalled never resumed. Returns every track outcome. */
  finish(): TrackOutcome[] {
    for (const [track, flow] of this.flows) {
      if (flow.stall === null) continue;
      const t0 = faultT0(flow.stall.fault);
      this.tracks.push({
        subscriber: this.who,
        fault: flow.stall.fault.id,
        track,
        stalledMs: flow.stall.at - t0,
        resumedMs: null,
        resumed: false,
      });
    }
    return this.tracks;
  }
}

/**
 * A subscriber and its publisher both connected, yet the track never came back: they are in
 * different instances of the room (a split brain the SDK does not report).
 */
export function mediaNeverResumed(
  tracks: readonly TrackOutcome[],
  connectedAtEnd: ReadonlySet<string>,
): Finding | null {
  const silent = tracks.filter((t) => {
    if (t.resumed || !connectedAtEnd.has(t.subscriber)) return false;
    const room = t.subscriber.slice(0, t.subscriber.lastIndexOf("/"));
    const publisher = t.track.slice(0, t.track.lastIndexOf("/"));
    return connectedAtEnd.has(`${room}/${publisher}`);
  });
  if (silent.length === 0) return null;
  return {
    id: "media-never-resumed",
    severity: "high",
    accepted: false,
    title: "media never resumed between connected participants",
    detail: `${silent.map((t) => `${t.subscriber} <- ${t.track}`).join(", ")}: subscriber and publisher both report connected, yet no packet arrived after the fault (they are likely in different instances of the room)`,
    atMs: null,
  };
}
