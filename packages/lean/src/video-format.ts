import {
  h264KeyframeSize,
  h264MayCarrySps,
  h264Payloads,
  h264StartsKeyframe,
  isH264KeyframeBitstream,
} from "./h264.js";
import { isKeyframeBitstream, keyframeSize, startsKeyframe, vp8Payloads } from "./vp8.js";

/** The video codecs a lean participant sends pre-encoded and counts without decoding. */
export type LeanVideoCodec = "vp8" | "h264";
export const LEAN_VIDEO_CODECS: readonly LeanVideoCodec[] = ["vp8", "h264"];

/**
 * What the sender and the receiver need to know of a codec's RTP payload format, and nothing of
 * its bitstream beyond keyframes and the picture size: VP8 (RFC 7741) and H.264 (RFC 6184).
 */
export interface VideoFormat {
  readonly codec: LeanVideoCodec;
  readonly mimeType: string;
  /** A whole frame as RTP payloads; `pictureId` is VP8's (H.264 has none). */
  payloads(frame: Uint8Array, pictureId: number): Buffer[];
  /** Whether a whole frame of the loop is a keyframe. */
  isKeyframe(frame: Uint8Array): boolean;
  /** Whether an RTP payload belongs to a keyframe (and is the packet that shows it). */
  startsKeyframe(payload: Uint8Array): boolean;
  /** The picture size a keyframe's packet declares, where it declares one. */
  keyframeSize(payload: Uint8Array): { width: number; height: number } | undefined;
  /**
   * Whether a payload whose first bytes are `prefix` (at least 62 of them when it has that many)
   * may declare a picture size past them, so the rest is worth decrypting (video-bypass.ts).
   */
  wantsWholePayload(prefix: Uint8Array): boolean;
  /**
   * Whether startsKeyframe and keyframeSize can be true only of a frame's first packet (VP8: the
   * descriptor's start bit, the frame tag), so other packets' payloads need not be read.
   */
  readonly readsFrameStartOnly: boolean;
}

export const VIDEO_FORMATS: Readonly<Record<LeanVideoCodec, VideoFormat>> = {
  vp8: {
    codec: "vp8",
    mimeType: "video/VP8",
    payloads: (frame, pictureId) => vp8Payloads(frame, pictureId),
    isKeyframe: isKeyframeBitstream,
    startsKeyframe,
    keyframeSize,
    // the descriptor (at most 6 bytes) and the keyframe header's 10 come first
    wantsWholePayload: () => false,
    readsFrameStartOnly: true,
  },
  h264: {
    codec: "h264",
    mimeType: "video/H264",
    payloads: (frame) => h264Payloads(frame),
    isKeyframe: isH264KeyframeBitstream,
    startsKeyframe: h264StartsKeyframe,
    keyframeSize: h264KeyframeSize,
    wantsWholePayload: h264MayCarrySps,
    // an IDR may follow its parameter sets in a packet of its own, with the same timestamp
    readsFrameStartOnly: false,
  },
};

/** The format of a negotiated mime type (case-insensitive, as SDP writes it); undefined for any other codec. */
export function formatOfMimeType(mimeType: string | undefined): VideoFormat | undefined {
  const lower = mimeType?.toLowerCase();
  return Object.values(VIDEO_FORMATS).find((f) => f.mimeType.toLowerCase() === lower);
}
