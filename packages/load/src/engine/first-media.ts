import type { Kind } from "../run/messages.js";
import type { EventSink } from "./engine.js";

/**
 * A probe's first video packets and first frames, kept in order. Its first frame is timed exactly
 * (decoded pixels), its first packet by a stats poll every 250 ms (an upper bound), so the packet
 * could read later than the frame it belongs to. A decoded frame implies its packets arrived: when
 * the probe has decoded more tracks' first frames than it has recorded first packets, a first packet
 * is recorded at the frame's time (still an upper bound), and the next stream the poll finds with
 * packets is taken as that one, not recorded again. Events name no track, so this keeps the k-th
 * first packet no later than the k-th first frame; with one video track it is per track.
 */
export class VideoFirsts {
  private packets = 0;
  private frames = 0;
  /** First packets recorded for a frame that the poll has not matched to a stream yet. */
  private implied = 0;

  /** A stream's first packet seen by the poll: true to record it, false when a frame already did. */
  packetSeen(): boolean {
    if (this.implied > 0) {
      this.implied--;
      return false;
    }
    this.packets++;
    return true;
  }

  /** A track's exact first frame: true when a first packet must be recorded at the same time. */
  frameDecoded(): boolean {
    this.frames++;
    if (this.frames <= this.packets) return false;
    this.packets++;
    this.implied++;
    return true;
  }
}

/** A received stream as a stats look sees it: enough to tell its first packet and first frame. */
export interface StreamLook {
  readonly key: string;
  readonly kind: string;
  readonly packetsReceived: number;
  readonly framesDecoded?: number | undefined;
}

/**
 * A participant's first-packet and first-frame events, at most as many per kind as its plan expects
 * tracks: a stream re-created by a reconnect is not a new track. Streams are seen by stats looks
 * (the fast poll after joining, then each sample, `late`); a probe also reports its exactly timed
 * decoded first frames (`frameDecoded`), which take the place of the looks' first frames.
 */
export class FirstMedia {
  private readonly firstPacket = new Set<string>();
  private readonly firstFrame = new Set<string>();
  /** Per kind, first packets reported. */
  private readonly reported: Record<Kind, number> = { audio: 0, video: 0 };
  /** Probes: first video packets kept no later than the exactly timed first frames. */
  private readonly videoFirsts = new VideoFirsts();

  constructor(
    private readonly expected: Readonly<Record<Kind, number>>,
    private readonly probe: boolean,
    private readonly emit: EventSink,
  ) {}

  /** Every expected track's first packet and (video) first frame were seen. */
  get complete(): boolean {
    return (
      this.firstPacket.size >= this.expected.audio + this.expected.video &&
      this.firstFrame.size >= this.expected.video
    );
  }

  /** A stats look at `stream`: first-packet / first-frame the first time it shows packets / decoded frames. */
  seen(stream: StreamLook, afterJoinStartS: number, late?: true): void {
    const { key, kind } = stream;
    if (kind !== "audio" && kind !== "video") return;
    const extra = late !== undefined ? { late } : {};
    if (stream.packetsReceived > 0 && !this.firstPacket.has(key)) {
      this.firstPacket.add(key);
      // a probe's decoded first frame may have recorded this packet already
      const recorded = kind === "video" && !this.videoFirsts.packetSeen();
      if (!recorded && this.reported[kind]++ < this.expected[kind])
        this.emit({ type: "first-packet", kind, afterJoinStartS, ...extra });
    }
    if (kind === "video" && (stream.framesDecoded ?? 0) > 0 && !this.firstFrame.has(key)) {
      this.firstFrame.add(key);
      // a probe times its first frame exactly from the decoded pixels instead
      if (!this.probe && this.firstFrame.size <= this.expected.video)
        this.emit({ type: "first-frame", kind: "video", afterJoinStartS, exact: false, ...extra });
    }
  }

  /** A probe decoded a video track's first frame: exact, with a first packet no later than it. */
  frameDecoded(afterJoinStartS: number): void {
    if (this.videoFirsts.frameDecoded() && this.reported.video++ < this.expected.video)
      this.emit({ type: "first-packet", kind: "video", afterJoinStartS });
    this.emit({ type: "first-frame", kind: "video", afterJoinStartS, exact: true });
  }
}
