import { describe, expect, it } from "vitest";
import { isKeyframeBitstream, keyframeSize, startsKeyframe, vp8Descriptor, vp8Payloads } from "./vp8.js";

/** A VP8 keyframe's first bytes (RFC 6386 9.1): frame tag (key, shown), start code, 640x360. */
function keyframe(length: number): Buffer {
  const frame = Buffer.alloc(length, 0xaa);
  frame.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
  return frame;
}
const interframe = (length: number): Buffer => Buffer.alloc(length, 0x11); // P bit 1, shown

describe("vp8Payloads", () => {
  it("splits a frame into near-equal packets under the limit, descriptor first, start bit on the first only", () => {
    const frame = keyframe(3000);
    const payloads = vp8Payloads(frame, 0x1234, 1200);
    expect(payloads.map((p) => p.length)).toEqual([1004, 1004, 1004]);
    expect(payloads.map((p) => vp8Descriptor(p)?.frameStart)).toEqual([true, false, false]);
    expect(payloads.map((p) => vp8Descriptor(p)?.pictureId)).toEqual([0x1234, 0x1234, 0x1234]);
    expect(Buffer.concat(payloads.map((p) => p.subarray(4)))).toEqual(frame);
  });

  it("keeps a small frame in one packet and wraps the picture id at 15 bits", () => {
    const payloads = vp8Payloads(interframe(10), 0x8000 + 5);
    expect(payloads).toHaveLength(1);
    expect(vp8Descriptor(payloads[0] ?? Buffer.alloc(0))).toEqual({
      frameStart: true,
      pictureId: 5,
      headerBytes: 4,
    });
  });
});

describe("reading VP8 payloads", () => {
  it("tells a keyframe's first packet from the rest and from inter frames", () => {
    const [first, second] = vp8Payloads(keyframe(2000), 1, 1200);
    const [inter] = vp8Payloads(interframe(500), 2);
    expect(startsKeyframe(first ?? Buffer.alloc(0))).toBe(true);
    expect(startsKeyframe(second ?? Buffer.alloc(0))).toBe(false);
    expect(startsKeyframe(inter ?? Buffer.alloc(0))).toBe(false);
    expect(isKeyframeBitstream(keyframe(20))).toBe(true);
    expect(isKeyframeBitstream(interframe(20))).toBe(false);
  });

  it("reads a keyframe's size from its first packet only", () => {
    const [first, second] = vp8Payloads(keyframe(2000), 1, 1200);
    expect(keyframeSize(first ?? Buffer.alloc(0))).toEqual({ width: 640, height: 360 });
    expect(keyframeSize(second ?? Buffer.alloc(0))).toBeUndefined();
  });

  it("reads descriptors of other senders: 7-bit picture id, TL0PICIDX and TID/KEYIDX bytes, none at all", () => {
    // X I L T K, 7-bit picture id 0x05, TL0PICIDX, TID byte, then a keyframe tag
    const rich = Buffer.from([0x90, 0xf0, 0x05, 0x01, 0x20, 0x10, 0x02, 0x00]);
    expect(vp8Descriptor(rich)).toEqual({ frameStart: true, pictureId: 5, headerBytes: 5 });
    expect(startsKeyframe(rich)).toBe(true);
    // no extensions: one byte, S=1 partition 0
    expect(vp8Descriptor(Buffer.from([0x10, 0x11]))).toEqual({
      frameStart: true,
      pictureId: undefined,
      headerBytes: 1,
    });
    // S=1 but partition 1 does not start a frame
    expect(vp8Descriptor(Buffer.from([0x11, 0x10]))?.frameStart).toBe(false);
    expect(vp8Descriptor(Buffer.from([0x90]))).toBeUndefined();
    expect(vp8Descriptor(Buffer.alloc(0))).toBeUndefined();
  });
});
