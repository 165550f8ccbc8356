/**
 * VP8 over RTP without a codec (RFC 7741): splitting an encoded frame into packets behind a payload
 * descriptor, and reading back from a packet whether it starts a frame, whether that frame is a
 * keyframe, and a keyframe's size. Pure, for the sender's loop and the receiver's counting.
 */

/** Payload bytes per packet, descriptor included: what libwebrtc uses, well under a 1500-byte MTU after SRTP and extensions. */
export const VP8_MAX_PAYLOAD = 1200;
/** X=1 (extensions present), I=1 (picture id), M=1 (15-bit picture id): 4 bytes. */
const DESCRIPTOR_BYTES = 4;
const PICTURE_ID_MOD = 0x8000;

/** Whether a whole encoded frame (not an RTP payload) is a keyframe: the P bit of its frame tag is 0. */
export function isKeyframeBitstream(frame: Uint8Array): boolean {
  return frame.length > 0 && ((frame[0] ?? 1) & 0x01) === 0;
}

/**
 * One frame as RTP payloads: a 4-byte descriptor (S=1 on the first, the frame's 15-bit picture id
 * on all) and near-equal slices of the frame, so no packet is a runt. The caller sets the marker
 * bit on the last one.
 */
export function vp8Payloads(frame: Uint8Array, pictureId: number, maxPayload = VP8_MAX_PAYLOAD): Buffer[] {
  const room = maxPayload - DESCRIPTOR_BYTES;
  if (room <= 0) throw new RangeError(`maxPayload ${maxPayload} leaves no room after the descriptor`);
  const count = Math.max(1, Math.ceil(frame.length / room));
  const slice = Math.ceil(frame.length / count);
  const id = pictureId % PICTURE_ID_MOD;
  const payloads: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const body = frame.subarray(i * slice, Math.min(frame.length, (i + 1) * slice));
    const payload = Buffer.allocUnsafe(DESCRIPTOR_BYTES + body.length);
    payload[0] = i === 0 ? 0x90 : 0x80; // X, and S on the first packet; partition index 0
    payload[1] = 0x80; // I
    payload[2] = 0x80 | (id >> 8); // M: 15-bit picture id
    payload[3] = id & 0xff;
    payload.set(body, DESCRIPTOR_BYTES);
    payloads.push(payload);
  }
  return payloads;
}

export interface Vp8Descriptor {
  /** S=1 and partition 0: the packet starts a frame. */
  readonly frameStart: boolean;
  readonly pictureId: number | undefined;
  /** Where the VP8 bitstream starts in the payload. */
  readonly headerBytes: number;
}

/** Reads an RFC 7741 payload descriptor; undefined when the payload is too short to hold it. */
export function vp8Descriptor(payload: Uint8Array): Vp8Descriptor | undefined {
  const first = payload[0];
  if (first === undefined) return undefined;
  let offset = 1;
  let pictureId: number | undefined;
  if ((first & 0x80) !== 0) {
    const ext = payload[offset++];
    if (ext === undefined) return undefined;
    if ((ext & 0x80) !== 0) {
      const high = payload[offset++];
      if (high === undefined) return undefined;
      if ((high & 0x80) !== 0) {
        const low = payload[offset++];
        if (low === undefined) return undefined;
        pictureId = ((high & 0x7f) << 8) | low;
      } else {
        pictureId = high & 0x7f;
      }
    }
    if ((ext & 0x40) !== 0) offset++; // L: TL0PICIDX
    if ((ext & 0x30) !== 0) offset++; // T or K: TID/Y/KEYIDX
  }
  if (offset > payload.length) return undefined;
  return { frameStart: (first & 0x10) !== 0 && (first & 0x07) === 0, pictureId, headerBytes: offset };
}

/** Whether this RTP payload starts a VP8 keyframe. */
export function startsKeyframe(payload: Uint8Array): boolean {
  const d = vp8Descriptor(payload);
  return (
    d !== undefined &&
    d.frameStart &&
    payload.length > d.headerBytes &&
    isKeyframeBitstream(payload.subarray(d.headerBytes))
  );
}

/**
 * The size a keyframe's first packet declares (RFC 6386 9.1: a 3-byte frame tag, the start code
 * 9d 01 2a, then 14-bit width and height); undefined for any other packet.
 */
export function keyframeSize(payload: Uint8Array): { width: number; height: number } | undefined {
  const d = vp8Descriptor(payload);
  if (d === undefined || !d.frameStart) return undefined;
  const b = payload.subarray(d.headerBytes);
  if (b.length < 10 || !isKeyframeBitstream(b) || b[3] !== 0x9d || b[4] !== 0x01 || b[5] !== 0x2a)
    return undefined;
  return {
    width: (((b[7] ?? 0) << 8) | (b[6] ?? 0)) & 0x3fff,
    height: (((b[9] ?? 0) << 8) | (b[8] ?? 0)) & 0x3fff,
  };
}
