/**
 * H.264 over RTP without a codec (RFC 6184, packetization-mode 1): an Annex B stream cut into
 * access units, an access unit into single-NAL, STAP-A and FU-A payloads, and read back from a
 * payload whether it carries an IDR slice and, from its SPS, the picture's size. Pure, for the
 * sender's loop and the receiver's counting.
 */

/** Payload bytes per packet, as for VP8: well under a 1500-byte MTU after SRTP and extensions. */
export const H264_MAX_PAYLOAD = 1200;

export const NAL_SLICE = 1;
export const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_FILLER = 12;
const STAP_A = 24;
const FU_A = 28;

/** The NAL units of an Annex B byte stream (3- or 4-byte start codes), without their start codes. */
export function annexBNalUnits(stream: Uint8Array): Buffer[] {
  const data = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  const starts: { at: number; code: number }[] = [];
  for (let i = data.indexOf(START, 0); i !== -1; i = data.indexOf(START, i + 3))
    starts.push({ at: i, code: 3 });
  const units: Buffer[] = [];
  for (const [k, s] of starts.entries()) {
    const next = starts[k + 1]?.at ?? data.length;
    let end = next;
    // a 4-byte start code's leading zero (and any trailing_zero_8bits) belongs to no NAL unit
    while (end > s.at + s.code && data[end - 1] === 0 && next !== data.length) end--;
    if (end > s.at + s.code) units.push(data.subarray(s.at + s.code, end));
  }
  return units;
}
const START = Buffer.from([0, 0, 1]);

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

function isSlice(type: number): boolean {
  return type >= NAL_SLICE && type <= NAL_IDR;
}

/**
 * Access units of a stream with one slice per picture (as the loop's encoder is told): filler
 * data joins the slice before it (it follows the picture's slices, ITU-T H.264 7.4.1.2.3), every
 * other non-slice NAL unit (SPS, PPS, SEI, delimiter) the slice after it. Throws on a picture in
 * several slices (first_mb_in_slice not 0: its ue(v) would start with a 0 bit), which this
 * grouping would split into frames.
 */
export function accessUnits(nals: readonly Buffer[]): Buffer[][] {
  const units: Buffer[][] = [];
  let pending: Buffer[] = [];
  for (const nal of nals) {
    const last = units.at(-1);
    if (nalType(nal) === NAL_FILLER && pending.length === 0 && last !== undefined) {
      last.push(nal);
      continue;
    }
    pending.push(nal);
    if (!isSlice(nalType(nal))) continue;
    if (((nal[1] ?? 0) & 0x80) === 0)
      throw new RangeError(`access unit ${units.length} has a slice that does not start the picture`);
    units.push(pending);
    pending = [];
  }
  if (pending.length > 0) throw new RangeError(`${pending.length} NAL unit(s) after the last slice`);
  return units;
}

/** A frame as it is kept in a loop: its NAL units, each behind a 4-byte start code (Annex B). */
export function annexBFrame(nals: readonly Buffer[]): Buffer {
  return Buffer.concat(nals.flatMap((n) => [START4, n]));
}
const START4 = Buffer.from([0, 0, 0, 1]);

/** Whether a whole frame (Annex B) holds an IDR slice: a keyframe. */
export function isH264KeyframeBitstream(frame: Uint8Array): boolean {
  return annexBNalUnits(frame).some((n) => nalType(n) === NAL_IDR);
}

/**
 * One frame as RTP payloads, as libwebrtc packs them: consecutive NAL units that fit together go
 * in one STAP-A (the SPS and PPS before an IDR), a unit that fits alone goes as a single NAL unit
 * packet, and a larger one is cut into near-equal FU-A fragments, so no packet is a runt. The
 * caller sets the marker bit on the last one.
 */
export function h264Payloads(frame: Uint8Array, maxPayload = H264_MAX_PAYLOAD): Buffer[] {
  if (maxPayload < 3) throw new RangeError(`maxPayload ${maxPayload} leaves no room after the FU-A header`);
  const nals = annexBNalUnits(frame);
  const payloads: Buffer[] = [];
  let i = 0;
  while (i < nals.length) {
    const nal = nals[i] ?? Buffer.alloc(0);
    if (nal.length > maxPayload) {
      payloads.push(...fuA(nal, maxPayload));
      i++;
      continue;
    }
    // as many following units as fit in one STAP-A: 1 byte of header, 2 of size per unit
    let size = 1;
    let j = i;
    while (j < nals.length && size + 2 + (nals[j]?.length ?? 0) <= maxPayload)
      size += 2 + (nals[j++]?.length ?? 0);
    if (j - i < 2) {
      payloads.push(nal);
      i++;
      continue;
    }
    payloads.push(stapA(nals.slice(i, j)));
    i = j;
  }
  return payloads;
}

function stapA(nals: readonly Buffer[]): Buffer {
  // F is the OR of the units' F bits, NRI their highest (RFC 6184 5.7.1)
  const f = nals.reduce((a, n) => a | ((n[0] ?? 0) & 0x80), 0);
  const nri = nals.reduce((a, n) => Math.max(a, (n[0] ?? 0) & 0x60), 0);
  const parts: Buffer[] = [Buffer.from([f | nri | STAP_A])];
  for (const n of nals) {
    const size = Buffer.allocUnsafe(2);
    size.writeUInt16BE(n.length, 0);
    parts.push(size, n);
  }
  return Buffer.concat(parts);
}

function fuA(nal: Buffer, maxPayload: number): Buffer[] {
  const header = nal[0] ?? 0;
  const body = nal.subarray(1);
  const room = maxPayload - 2;
  const count = Math.ceil(body.length / room);
  const slice = Math.ceil(body.length / count);
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const part = body.subarray(k * slice, Math.min(body.length, (k + 1) * slice));
    const payload = Buffer.allocUnsafe(2 + part.length);
    payload[0] = (header & 0xe0) | FU_A;
    payload[1] = (k === 0 ? 0x80 : 0) | (k === count - 1 ? 0x40 : 0) | (header & 0x1f);
    payload.set(part, 2);
    out.push(payload);
  }
  return out;
}

/**
 * The NAL units an RTP payload carries whole, or the start of one (an FU-A's first fragment, the
 * unit's type restored, its body cut short): what keyframe and size detection look at.
 */
export function payloadNalUnits(payload: Uint8Array): Buffer[] {
  const data = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const type = nalType(data);
  if (data.length === 0) return [];
  if (type === STAP_A) {
    const units: Buffer[] = [];
    for (let at = 1; at + 2 <= data.length;) {
      const size = data.readUInt16BE(at);
      if (at + 2 + size > data.length) break;
      units.push(data.subarray(at + 2, at + 2 + size));
      at += 2 + size;
    }
    return units;
  }
  if (type === FU_A) {
    const fu = data[1];
    if (fu === undefined || (fu & 0x80) === 0) return [];
    return [Buffer.concat([Buffer.from([((data[0] ?? 0) & 0xe0) | (fu & 0x1f)]), data.subarray(2)])];
  }
  return type >= 1 && type <= 23 ? [data] : [];
}

/** Whether this RTP payload carries (the start of) an IDR slice: the frame it belongs to is a keyframe. */
export function h264StartsKeyframe(payload: Uint8Array): boolean {
  const first = payload[0];
  if (first === undefined) return false;
  const type = first & 0x1f;
  // the cheap cases first: every packet of every frame passes here
  if (type === NAL_IDR) return true;
  if (type === FU_A) return ((payload[1] ?? 0) & 0x9f) === (0x80 | NAL_IDR);
  if (type !== STAP_A) return false;
  return payloadNalUnits(payload).some((n) => nalType(n) === NAL_IDR);
}

/** Whether a payload may carry an SPS (h264KeyframeSize reads one alone or in a STAP-A): a keyframe's first packet. */
export function h264MayCarrySps(payload: Uint8Array): boolean {
  const type = (payload[0] ?? 0) & 0x1f;
  return type === NAL_SPS || type === STAP_A;
}

/** The picture size an SPS in this payload declares (a keyframe's first packet carries it); undefined without one. */
export function h264KeyframeSize(payload: Uint8Array): { width: number; height: number } | undefined {
  if (!h264MayCarrySps(payload)) return undefined;
  const sps = payloadNalUnits(payload).find((n) => nalType(n) === NAL_SPS);
  return sps === undefined ? undefined : spsSize(sps);
}

/** An SPS's profile_idc, constraint flags and level_idc as the SDP's profile-level-id writes them (6 hex digits). */
export function profileLevelId(sps: Uint8Array): string {
  return Buffer.from(sps.subarray(1, 4)).toString("hex");
}

/** Profiles whose SPS carries chroma format, bit depths and scaling lists (ITU-T H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Width and height from a sequence parameter set (ITU-T H.264 7.3.2.1.1 and the cropping of
 * 7.4.2.1.1), emulation prevention removed first; undefined when it is cut short or malformed.
 */
export function spsSize(sps: Uint8Array): { width: number; height: number } | undefined {
  try {
    const r = new BitReader(unescape(sps.subarray(1)));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level_idc
    r.ue(); // seq_parameter_set_id
    let chroma = 1;
    if (HIGH_PROFILES.has(profile)) {
      chroma = r.ue();
      if (chroma === 3) r.bits(1); // separate_colour_plane_flag
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.bits(1); // qpprime_y_zero_transform_bypass_flag
      if (r.bits(1) === 1)
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.bits(1) === 1) r.scalingList(i < 6 ? 16 : 64);
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bits(1);
      r.se();
      r.se();
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bits(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bits(1);
    if (frameMbsOnly === 0) r.bits(1);
    r.bits(1); // direct_8x8_inference_flag
    let crop = { left: 0, right: 0, top: 0, bottom: 0 };
    if (r.bits(1) === 1) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
    const cropX = chroma === 1 || chroma === 2 ? 2 : 1;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    return {
      width: widthMbs * 16 - cropX * (crop.left + crop.right),
      height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop.top + crop.bottom),
    };
  } catch {
    return undefined;
  }
}

/** Removes emulation prevention bytes: 00 00 03 reads 00 00. */
function unescape(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

class BitReader {
  private at = 0;
  constructor(private readonly data: Uint8Array) {}

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.at >> 3];
      if (byte === undefined) throw new RangeError("SPS cut short");
      v = v * 2 + ((byte >> (7 - (this.at & 7))) & 1);
      this.at++;
    }
    return v;
  }

  /** Exp-Golomb, unsigned. */
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) if (++zeros > 31) throw new RangeError("bad Exp-Golomb code");
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }

  scalingList(size: number): void {
    let last = 8;
    let next = 8;
    for (let j = 0; j < size; j++) {
      if (next !== 0) next = (last + this.se() + 256) % 256;
      last = next === 0 ? last : next;
    }
  }
}
