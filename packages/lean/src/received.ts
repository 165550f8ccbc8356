import type { InboundTrackSample, Kind } from "@livekit-swarm/schema";
import { InboundStream, type InboundTotals } from "./inbound.js";

/**
 * Every stream one participant receives, across its sessions. A full rejoin ends the old streams
 * (new PeerConnection, new SSRCs): their last window is still reported once, then they go, as
 * libwebrtc drops a closed PeerConnection's inbound-rtp stats; no counter is ever carried from one
 * incarnation into another, so no window goes backwards. Keys name the session after the first
 * (`ssrc:N@1`), so a reused SSRC is still a new stream. A stream that replaces one ended by the
 * rejoin is the same track coming back, not a new track: it reports no first packet, as the
 * native engine counts first packets per kind.
 */
export class ReceivedStreams {
  private current = new Map<number, InboundStream>();
  private ended: InboundStream[] = [];
  private session = 0;
  private readonly replaced: Record<Kind, number> = { audio: 0, video: 0 };

  /** The stream of an SSRC, created at its first packet; `fresh` when that packet is a new track's first. */
  stream(ssrc: number, kind: Kind, clockRate: number): { stream: InboundStream; fresh: boolean } {
    const known = this.current.get(ssrc);
    if (known !== undefined) return { stream: known, fresh: false };
    const key = this.session === 0 ? `ssrc:${ssrc}` : `ssrc:${ssrc}@${this.session}`;
    const stream = new InboundStream(key, kind, clockRate);
    this.current.set(ssrc, stream);
    const fresh = this.replaced[kind] === 0;
    if (!fresh) this.replaced[kind]--;
    return { stream, fresh };
  }

  /** A full rejoin: the current streams end; the next ones belong to a new session. */
  endSession(): void {
    for (const stream of this.current.values()) {
      this.ended.push(stream);
      this.replaced[stream.kind]++;
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

  /** Cumulative counters of the current session's streams, by key. */
  totals(): Map<string, InboundTotals> {
    return new Map([...this.current.values()].map((s) => [s.key, s.totals()]));
  }
}
