import type { InboundTrackSample, Kind } from "@livekit-swarm/schema";
import { InboundStream, type InboundTotals } from "./inbound.js";
import type { VideoFormat } from "./video-format.js";
import { VideoInbound, type VideoTotals } from "./video-inbound.js";

/**
 * Every stream one participant receives, across its sessions. A full rejoin ends the old streams
 * (new PeerConnection, new SSRCs): their last window is still reported once, then they go, as
 * libwebrtc drops a closed PeerConnection's inbound-rtp stats; no counter is ever carried from one
 * incarnation into another, so no window goes backwards. Keys name the session after the first
 * (`ssrc:N@1`), so a reused SSRC is still a new stream. A stream that replaces one ended by the
 * rejoin is the same track coming back, not a new track: it reports no first packet (nor, for
 * video, first frame), as the native engine counts them per kind.
 */
export class ReceivedStreams {
  private current = new Map<string, InboundStream | VideoInbound>();
  private ended: (InboundStream | VideoInbound)[] = [];
  private session = 0;
  private readonly replaced: Record<Kind, number> = { audio: 0, video: 0 };

  /** The audio stream of an SSRC, created at its first packet; `fresh` when that packet is a new track's first. */
  stream(ssrc: number, kind: Kind, clockRate: number): { stream: InboundStream; fresh: boolean } {
    const known = this.current.get(String(ssrc));
    if (known instanceof InboundStream) return { stream: known, fresh: false };
    const { key, fresh } = this.added(kind);
    const stream = new InboundStream(`ssrc:${ssrc}${key}`, kind, clockRate);
    this.current.set(String(ssrc), stream);
    return { stream, fresh };
  }

  /** The video stream of a subscribed track (its SSRC from the offer, if werift knew it); `fresh` as for `stream`. */
  video(ssrc: number | undefined, format?: VideoFormat): { stream: VideoInbound; fresh: boolean } {
    const id = ssrc === undefined ? "unknown" : String(ssrc);
    const known = this.current.get(id);
    if (known instanceof VideoInbound) return { stream: known, fresh: false };
    const { key, fresh } = this.added("video");
    const stream = new VideoInbound(`ssrc:${id}${key}`, format);
    this.current.set(id, stream);
    return { stream, fresh };
  }

  private added(kind: Kind): { key: string; fresh: boolean } {
    const fresh = this.replaced[kind] === 0;
    if (!fresh) this.replaced[kind]--;
    return { key: this.session === 0 ? "" : `@${this.session}`, fresh };
  }

  /**
   * The stream of `ssrc` ends within the session: the receiver it came on now carries another SSRC
   * (LiveKit gave the subscriber's transceiver the next publication of the kind: same mid, new
   * SSRC, a new sequence and timestamp base). Its last window is reported once, as a rejoin's; the
   * stream that follows on the receiver is a track coming back, not a new one (no first packet).
   */
  retire(ssrc: number): void {
    const stream = this.current.get(String(ssrc));
    if (stream === undefined) return;
    this.current.delete(String(ssrc));
    this.ended.push(stream);
    this.replaced[stream instanceof VideoInbound ? "video" : stream.kind]++;
  }

  /** A full rejoin: the current streams end; the next ones belong to a new session. */
  endSession(): void {
    for (const stream of this.current.values()) {
      this.ended.push(stream);
      this.replaced[stream instanceof VideoInbound ? "video" : stream.kind]++;
    }
    this.current.clear();
    this.session++;
  }

  /** Each stream's window since the previous call; ended streams give their last one, once. */
  windows(): InboundTrackSample[] {
    const windows = [...this.ended, ...this.current.values()].map((s) => s.window());
    this.ended = [];
    return windows;
  }

  /** Latencies (s) of the video frames that ended since the previous call, ended streams' too. */
  takeLatencies(): number[] {
    return [...this.ended, ...this.current.values()].flatMap((s) =>
      s instanceof VideoInbound ? s.takeLatencies() : [],
    );
  }

  /** Packets received so far by each of the current session's streams (a drill's watch looks at them). */
  packetCounts(): { key: string; kind: Kind; packetsReceived: number }[] {
    return [...this.current.values()].map((s) => ({
      key: s.key,
      kind: s instanceof VideoInbound ? "video" : s.kind,
      packetsReceived: s.totals().received,
    }));
  }

  /** Cumulative counters of the current session's streams, by key (video streams with frames and keyframes). */
  totals(): Map<string, InboundTotals | VideoTotals> {
    return new Map([...this.current.values()].map((s) => [s.key, s.totals()]));
  }
}
