import type { Kind } from "../run/messages.js";
import type { EventSink } from "./engine.js";

/** One inbound stream as a look sees it: cumulative packets received. */
export interface StreamCount {
  readonly key: string;
  readonly kind: Kind;
  readonly packetsReceived: number;
  /**
   * The subscribed track it carries (`<publisher identity>/<kind>`), where the engine knows it (lean
   * taps each track and reads its publisher from the signalling); otherwise matched by order.
   */
  readonly track?: string;
}

/**
 * Watch mode (chaos drills): at every look, which subscribed tracks received packets since the last
 * one. A track that received nothing for two looks in a row is reported stalled (at its last
 * packet's look), and flowing again at the first look that sees a packet. Tracks are named by
 * publisher and kind, so a republished track (new sid, new SSRC) is the same track. No clock and no
 * I/O: the caller looks, with the time of the look.
 */
export class MediaWatch {
  /** Per subscribed track, whether it flows; per inbound stream, its last packet count. */
  private readonly trackFlow = new Map<
    string,
    { kind: Kind; flowing: boolean; lastIncreaseMs: number; idle: number }
  >();
  private readonly streamPackets = new Map<string, number>();
  private readonly streamTrack = new Map<string, string>();
  /** Streams seen before their subscription: since when held, and when their packets started. */
  private readonly heldStreams = new Map<string, number>();
  private readonly earlyPackets = new Map<string, number>();
  private readonly unmatched: Record<Kind, string[]> = { audio: [], video: [] };
  /** Streams named `unknown-<kind>-<n>`, by that name: their stream and when their packets started. */
  private readonly unknown = new Map<string, { key: string; kind: Kind; since: number }>();
  private unknownStreams = 0;

  constructor(private readonly emit: EventSink) {}

  /**
   * A track was subscribed: it waits for its stream (again, after a full reconnect). A subscription
   * that comes after its stream was already named unknown (its event more than 2 s behind its
   * packets, on a loaded machine) claims the oldest unknown stream of its kind that still flows, so
   * the track is not left stalled while its packets arrive; its flow dates from that stream's first
   * packets.
   */
  subscribed(track: string, kind: Kind): void {
    for (const [name, stream] of this.unknown) {
      if (stream.kind !== kind || this.trackFlow.get(name)?.flowing !== true) continue;
      this.unknown.delete(name);
      this.trackFlow.delete(name);
      this.streamTrack.set(stream.key, track);
      this.earlyPackets.set(stream.key, stream.since);
      return;
    }
    if (!this.unmatched[kind].includes(track)) this.unmatched[kind].push(track);
  }

  /** One look at `now`; `streams` undefined when there were no stats (every track idle this look). */
  look(streams: Iterable<StreamCount> | undefined, now: number): void {
    // per track, the first look in which it received new packets
    const increased = new Map<string, number>();
    for (const stream of streams ?? []) {
      const before = this.streamPackets.get(stream.key) ?? 0;
      this.streamPackets.set(stream.key, stream.packetsReceived);
      const fresh = stream.packetsReceived > before;
      if (fresh && !this.streamTrack.has(stream.key) && !this.earlyPackets.has(stream.key))
        this.earlyPackets.set(stream.key, now);
      const track = this.trackOf(stream, now);
      if (track === undefined) continue;
      if (!this.trackFlow.has(track))
        this.trackFlow.set(track, { kind: stream.kind, flowing: false, lastIncreaseMs: now, idle: 0 });
      const early = this.earlyPackets.get(stream.key);
      this.earlyPackets.delete(stream.key);
      const since = early ?? (fresh ? now : undefined);
      if (since !== undefined) increased.set(track, Math.min(increased.get(track) ?? since, since));
    }
    for (const [track, flow] of this.trackFlow) {
      const since = increased.get(track);
      if (since !== undefined) {
        flow.idle = 0;
        flow.lastIncreaseMs = now;
        if (!flow.flowing) {
          flow.flowing = true;
          this.emit({ type: "media", track, kind: flow.kind, flowing: true, atMs: since });
        }
      } else if (flow.flowing && ++flow.idle >= 2) {
        flow.flowing = false;
        this.emit({ type: "media", track, kind: flow.kind, flowing: false, atMs: flow.lastIncreaseMs });
      }
    }
  }

  /**
   * Which subscribed track an inbound stream carries. WebRTC stats name a stream by SSRC and a
   * receiver-side uuid, never by LiveKit track sid, so a new stream is matched to the oldest
   * subscription of its kind that has no stream yet: subscriptions come before their packets.
   * Tracks of one kind subscribed within the same 250 ms look are told apart by order only.
   * Packets can show up a look before their subscription event does: such a stream is held
   * (undefined) until the subscription names it, keeping the time of its first packets, and named
   * `unknown-<kind>-<n>` only if no subscription comes within 2 s.
   */
  private trackOf({ key: streamKey, kind, track: named }: StreamCount, now: number): string | undefined {
    let track = this.streamTrack.get(streamKey);
    if (track !== undefined) return track;
    if (named !== undefined) {
      this.heldStreams.delete(streamKey);
      this.streamTrack.set(streamKey, named);
      return named;
    }
    track = this.unmatched[kind].shift();
    if (track === undefined) {
      const since = this.heldStreams.get(streamKey) ?? now;
      this.heldStreams.set(streamKey, since);
      if (now - since < 2000) return undefined;
      track = `unknown-${kind}-${++this.unknownStreams}`;
      this.unknown.set(track, { key: streamKey, kind, since });
    }
    this.heldStreams.delete(streamKey);
    this.streamTrack.set(streamKey, track);
    return track;
  }
}

/** Watch mode: a `peers` event whenever the set of remote participants a participant sees changes. */
export class PeerWatch {
  /** The identities last reported, sorted and joined. */
  private last: string | undefined;

  constructor(private readonly emit: EventSink) {}

  look(identities: Iterable<string>): void {
    const sorted = [...identities].sort();
    const key = sorted.join("\n");
    if (key === this.last) return;
    this.last = key;
    this.emit({ type: "peers", identities: sorted });
  }
}
