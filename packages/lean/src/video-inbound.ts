import type { InboundTrackSample } from "@livekit-swarm/schema";
import { FreezeDetector } from "@livekit-swarm/stats";
import { InboundStream, type InboundTotals } from "./inbound.js";
import { VIDEO_CLOCK } from "./video-send.js";
import { VIDEO_FORMATS, type VideoFormat } from "./video-format.js";

/** Without a keyframe this long after the first packet, the receiver asks for one (PLI), at most this often. */
export const KEYFRAME_WAIT_MS = 1000;

export interface VideoTotals extends InboundTotals {
  readonly retransmitted: number;
  /** Frames whose last packet (marker bit) arrived, originals or retransmitted: "assembled", never decoded. */
  readonly frames: number;
  readonly keyframes: number;
  /** Arrival of the last packet of the first keyframe, ms on the caller's clock. */
  readonly firstFrameMs: number | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
}

/**
 * One received VP8 or H.264 stream, counted from RTP headers and payload descriptors (VP8) or NAL
 * unit headers (H.264) without decoding.
 * Originals feed an `InboundStream` (sequence-gap loss, RFC 3550 jitter); retransmissions (RTX)
 * are counted apart and never fill a gap, so loss is over original packets as libwebrtc counts it.
 * A frame ends at a packet with the marker bit; the first frame is the first whole keyframe (VP8: the
 * descriptor's start bit and the frame tag's key bit at its first packet; H.264: an IDR slice); freezes follow the
 * W3C rule on the arrival times of frame ends (`FreezeDetector`). No clock of its own.
 */
export class VideoInbound {
  readonly stream: InboundStream;
  private retransmitted = 0;
  private retransmittedBytes = 0;
  private frames = 0;
  private keyframes = 0;
  private keyTimestamp: number | undefined;
  private lastFrameTimestamp: number | undefined;
  private firstFrameMs: number | undefined;
  private width: number | undefined;
  private height: number | undefined;
  private lastKeyframeRequestMs: number | undefined;
  private readonly freezes = new FreezeDetector();
  private latencies: number[] = [];
  /** NACK and PLI feedback packets sent for this stream, kept by the participant that sends them. */
  nack = 0;
  pli = 0;
  private retransmittedHeaderBytes: number | undefined = 0;
  private previous = {
    retransmitted: 0,
    retransmittedBytes: 0,
    retransmittedHeaderBytes: 0 as number | undefined,
    frames: 0,
    nack: 0,
    pli: 0,
  };

  constructor(
    readonly key: string,
    /**
     * The payload format, which says where keyframes start and what size they declare: the
     * receiver sets it from each original's payload type.
     */
    public format: VideoFormat = VIDEO_FORMATS.vp8,
  ) {
    this.stream = new InboundStream(key, "video", VIDEO_CLOCK);
  }

  /**
   * The same publisher's video coming back on this new stream (a rejoin, a republished track): its
   * freezes continue from `previous`'s frames, so the outage between them counts as one.
   */
  continueFrom(previous: VideoInbound): void {
    this.freezes.continueFrom(previous.freezes);
  }

  /**
   * An original packet. `latencyS` is what its abs-capture-time says, read by the caller on frame
   * ends only; `headerBytes` its RTP header and padding; `payloadBytes` the payload's length when
   * `payload` holds only its first bytes. Returns true when it completes the first keyframe: the
   * first frame.
   */
  onOriginal(
    sequenceNumber: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
    arrivalMs: number,
    latencyS?: number,
    headerBytes?: number,
    payloadBytes = payload.length,
  ): boolean {
    this.stream.onPacket(sequenceNumber, timestamp, payloadBytes, arrivalMs, headerBytes);
    return this.onMedia(timestamp, marker, payload, arrivalMs, latencyS);
  }

  /**
   * A retransmission (RTX, original sequence number stripped): counted, never a gap filled.
   * `headerBytes` is the RTX packet's header, padding and original sequence number;
   * `payloadBytes` as for onOriginal.
   */
  onRetransmission(
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
    arrivalMs: number,
    headerBytes?: number,
    payloadBytes = payload.length,
  ): boolean {
    this.retransmitted++;
    this.retransmittedBytes += payloadBytes;
    this.retransmittedHeaderBytes =
      headerBytes === undefined || this.retransmittedHeaderBytes === undefined
        ? undefined
        : this.retransmittedHeaderBytes + headerBytes;
    return this.onMedia(timestamp, marker, payload, arrivalMs, undefined);
  }

  private onMedia(
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
    arrivalMs: number,
    latencyS: number | undefined,
  ): boolean {
    if (this.format.startsKeyframe(payload)) this.keyTimestamp = timestamp;
    // H.264 declares the size in its SPS, which travels before the IDR, often in a packet of its own
    const size = this.format.keyframeSize(payload);
    if (size !== undefined) ({ width: this.width, height: this.height } = size);
    // a frame ends once, whether its last packet came first as an original or as a retransmission
    if (!marker || timestamp === this.lastFrameTimestamp) return false;
    this.lastFrameTimestamp = timestamp;
    this.frames++;
    this.freezes.onFrame(arrivalMs);
    if (latencyS !== undefined) this.latencies.push(latencyS);
    if (timestamp !== this.keyTimestamp) return false;
    this.keyframes++;
    if (this.firstFrameMs !== undefined) return false;
    this.firstFrameMs = arrivalMs;
    return true;
  }

  /**
   * Whether to ask the sender for a keyframe now: packets flow but no keyframe came within
   * `KEYFRAME_WAIT_MS`, asked at most that often. A decoder would ask the same way; LiveKit
   * normally sends one at subscription.
   */
  wantsKeyframe(nowMs: number): boolean {
    if (this.keyframes > 0) return false;
    const since = this.lastKeyframeRequestMs ?? this.stream.totals().firstPacketMs;
    if (since === undefined || nowMs - since < KEYFRAME_WAIT_MS) return false;
    this.lastKeyframeRequestMs = nowMs;
    return true;
  }

  totals(): VideoTotals {
    return {
      ...this.stream.totals(),
      retransmitted: this.retransmitted,
      frames: this.frames,
      keyframes: this.keyframes,
      firstFrameMs: this.firstFrameMs,
      width: this.width,
      height: this.height,
    };
  }

  /** Latencies (s) of the frames that ended since the previous call. */
  takeLatencies(): number[] {
    return this.latencies.splice(0);
  }

  /**
   * The stream's counts since the previous call, in the engines' shape, field for field as the
   * native engine fills them from libwebrtc: `received` holds originals and retransmissions,
   * `expected` originals only (received - retransmitted + lost), `framesDecoded` the frames
   * assembled (never decoded here), freezes measured from frame ends.
   */
  window(): InboundTrackSample {
    const original = this.stream.window();
    const before = this.previous;
    this.previous = {
      retransmitted: this.retransmitted,
      retransmittedBytes: this.retransmittedBytes,
      retransmittedHeaderBytes: this.retransmittedHeaderBytes,
      frames: this.frames,
      nack: this.nack,
      pli: this.pli,
    };
    const retransmitted = this.retransmitted - before.retransmitted;
    const frozen = this.freezes.take();
    const { headerBytes, ...counts } = original;
    const rtxHeaderBytes =
      this.retransmittedHeaderBytes === undefined || before.retransmittedHeaderBytes === undefined
        ? undefined
        : this.retransmittedHeaderBytes - before.retransmittedHeaderBytes;
    return {
      ...counts,
      ...(headerBytes === undefined || rtxHeaderBytes === undefined
        ? {}
        : { headerBytes: headerBytes + rtxHeaderBytes }),
      received: original.received + retransmitted,
      retransmitted,
      bytes: original.bytes + this.retransmittedBytes - before.retransmittedBytes,
      ...(this.width !== undefined && this.height !== undefined
        ? { width: this.width, height: this.height }
        : {}),
      nack: this.nack - before.nack,
      pli: this.pli - before.pli,
      framesDecoded: this.frames - before.frames,
      freezes: frozen.freezes,
      freezeS: frozen.frames > 0 ? frozen.frozen : undefined,
    };
  }
}
