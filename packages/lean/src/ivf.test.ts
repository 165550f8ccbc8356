import { describe, expect, it } from "vitest";
import { IvfError, parseIvf } from "./ivf.js";

function ivf(frames: Buffer[], width = 640, height = 360): Buffer {
  const header = Buffer.alloc(32);
  header.write("DKIF", 0, "latin1");
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(32, 6);
  header.write("VP80", 8, "latin1");
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(frames.length, 24);
  const parts = frames.flatMap((f, i) => {
    const h = Buffer.alloc(12);
    h.writeUInt32LE(f.length, 0);
    h.writeBigUInt64LE(BigInt(i), 4);
    return [h, f];
  });
  return Buffer.concat([header, ...parts]);
}

describe("parseIvf", () => {
  it("reads the header and every frame, an empty one included", () => {
    const frames = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.alloc(5000, 9)];
    const file = parseIvf(ivf(frames, 320, 180));
    expect(file).toMatchObject({ fourcc: "VP80", width: 320, height: 180 });
    expect(file.frames).toEqual(frames);
  });

  it("refuses what is not IVF and a frame cut short", () => {
    expect(() => parseIvf(Buffer.from("OggS and more bytes than thirty-two"))).toThrow(IvfError);
    const whole = ivf([Buffer.alloc(100, 1)]);
    expect(() => parseIvf(whole.subarray(0, whole.length - 1))).toThrow(/claims 100 bytes, past the end/);
    expect(() => parseIvf(whole.subarray(0, 40))).toThrow(/truncated frame header/);
  });
});
