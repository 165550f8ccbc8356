import { describe, expect, it } from "vitest";
import {
  accessUnits,
  annexBFrame,
  annexBNalUnits,
  h264KeyframeSize,
  h264Payloads,
  h264StartsKeyframe,
  isH264KeyframeBitstream,
  payloadNalUnits,
  profileLevelId,
  spsSize,
} from "./h264.js";

/** x264's SPS for 320x180 constrained baseline level 3.1 (180 = 12 macroblock rows less 4 cropped lines). */
const SPS_320x180 = Buffer.from("6742c01fda05067e7c04400000030040000000a23c60ca80", "hex");
const PPS = Buffer.from("68ce3c80", "hex");
// the fill's top bit is first_mb_in_slice = 0 (ue "1"): every slice here starts its picture
const nal = (header: number, size: number, fill = 0x88): Buffer =>
  Buffer.concat([Buffer.from([header]), Buffer.alloc(size - 1, fill)]);

describe("H.264 Annex B", () => {
  it("splits 3- and 4-byte start codes and groups NAL units into access units ending at a slice", () => {
    const idr = nal(0x65, 50);
    const p = nal(0x41, 30);
    const stream = Buffer.concat([
      Buffer.from([0, 0, 0, 1]),
      SPS_320x180,
      Buffer.from([0, 0, 1]),
      PPS,
      Buffer.from([0, 0, 0, 1]),
      idr,
      Buffer.from([0, 0, 1]),
      p,
    ]);
    const nals = annexBNalUnits(stream);
    expect(nals).toEqual([SPS_320x180, PPS, idr, p]);
    const units = accessUnits(nals);
    expect(units).toEqual([[SPS_320x180, PPS, idr], [p]]);
    expect(isH264KeyframeBitstream(annexBFrame(units[0] ?? []))).toBe(true);
    expect(isH264KeyframeBitstream(annexBFrame([p]))).toBe(false);
  });

  it("refuses a picture in several slices and units after the last slice", () => {
    // first_mb_in_slice = 1 codes as 010: the byte after the header starts with a 0 bit
    expect(() => accessUnits([nal(0x65, 10), Buffer.from([0x41, 0x40, 0x00])])).toThrow(/does not start/);
    expect(() => accessUnits([nal(0x65, 10), SPS_320x180])).toThrow(/after the last slice/);
  });
});

describe("RFC 6184 payloads (packetization-mode 1)", () => {
  it("puts SPS and PPS in one STAP-A, a unit that fits alone as a single NAL, and reads an IDR back", () => {
    const idr = nal(0x65, 1190);
    const payloads = h264Payloads(annexBFrame([SPS_320x180, PPS, idr]));
    expect(payloads.map((p) => (p[0] ?? 0) & 0x1f)).toEqual([24, 5]);
    const stap = payloads[0] ?? Buffer.alloc(0);
    expect(stap[0]).toBe(0x78); // NRI 3 (the SPS's), type 24
    expect(payloadNalUnits(stap)).toEqual([SPS_320x180, PPS]);
    expect(h264KeyframeSize(stap)).toEqual({ width: 320, height: 180 });
    expect(payloads.map(h264StartsKeyframe)).toEqual([false, true]);
  });

  it("fragments a large unit into near-equal FU-A packets, start and end bits on the first and last", () => {
    const idr = nal(0x65, 3000, 0x22);
    const payloads = h264Payloads(annexBFrame([idr]), 1200);
    expect(payloads).toHaveLength(3);
    expect(payloads.every((p) => p.length <= 1200)).toBe(true);
    expect(payloads.map((p) => [p[0], p[1]])).toEqual([
      [0x7c, 0x85],
      [0x7c, 0x05],
      [0x7c, 0x45],
    ]);
    // the unit comes back whole: the header from the FU bytes, then every fragment's body
    const rebuilt = Buffer.concat([Buffer.from([0x65]), ...payloads.map((p) => p.subarray(2))]);
    expect(rebuilt.equals(idr)).toBe(true);
    expect(payloads.map(h264StartsKeyframe)).toEqual([true, false, false]);
    // a P slice's fragments are never a keyframe
    expect(h264Payloads(annexBFrame([nal(0x41, 3000)])).map(h264StartsKeyframe)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("aggregates small units that fit together, and refuses a size with no room", () => {
    const a = nal(0x41, 100);
    const b = nal(0x06, 100);
    expect(h264Payloads(annexBFrame([b, a])).map((p) => p.length)).toEqual([1 + 2 + 100 + 2 + 100]);
    expect(() => h264Payloads(annexBFrame([a]), 2)).toThrow(RangeError);
  });

  it("reads STAP-A with an IDR, ignores a cut-short STAP-A and a middle fragment", () => {
    const stap = h264Payloads(annexBFrame([SPS_320x180, PPS, nal(0x65, 40)]))[0] ?? Buffer.alloc(0);
    expect(h264StartsKeyframe(stap)).toBe(true);
    expect(payloadNalUnits(stap.subarray(0, 10))).toEqual([]);
    expect(payloadNalUnits(Buffer.from([0x7c, 0x05, 1, 2]))).toEqual([]);
    expect(h264StartsKeyframe(Buffer.alloc(0))).toBe(false);
    expect(h264KeyframeSize(nal(0x41, 10))).toBeUndefined();
  });
});

describe("SPS", () => {
  it("reads the cropped size and the profile-level-id", () => {
    expect(spsSize(SPS_320x180)).toEqual({ width: 320, height: 180 });
    expect(profileLevelId(SPS_320x180)).toBe("42c01f");
  });

  it("reads a high-profile SPS (chroma format, bit depths) and fails soft on a short one", () => {
    // libx264's high-profile SPS for 1280x720 (emulation prevention bytes included)
    const high = Buffer.from("6764001facd9405005bb011000000300100000030280f1831960", "hex");
    expect(spsSize(high)).toEqual({ width: 1280, height: 720 });
    expect(spsSize(SPS_320x180.subarray(0, 6))).toBeUndefined();
  });
});

describe("filler data", () => {
  it("joins the slice before it, never the next picture", () => {
    const idr = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(20, 0x88)]);
    const p = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(20, 0x88)]);
    const filler = Buffer.concat([Buffer.from([0x0c]), Buffer.alloc(30, 0xff), Buffer.from([0x80])]);
    expect(accessUnits([SPS_320x180, PPS, idr, filler, p, filler])).toEqual([
      [SPS_320x180, PPS, idr, filler],
      [p, filler],
    ]);
  });
});
