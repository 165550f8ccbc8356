import { describe, expect, it } from "vitest";
import { readStamp, STAMP_ROWS, unwrapCaptureTime, writeStamp } from "./stamp.js";

function frame(width: number, height: number, fill = 128): Uint8Array {
  return new Uint8Array(width * height).fill(fill);
}

describe("video stamp", () => {
  it("round-trips capture time and frame number", () => {
    const luma = frame(640, 360);
    const stamp = { captureTimeMs: 1_795_326_144_370, frame: 201 };
    writeStamp(luma, 640, stamp);
    expect(readStamp(luma, 640, 360)).toEqual({ captureTimeMs: stamp.captureTimeMs % 2 ** 40, frame: 201 });
  });

  it("survives noise of +-60 luma levels, as lossy encoding adds", () => {
    const luma = frame(640, 360);
    writeStamp(luma, 640, { captureTimeMs: 123_456_789, frame: 7 });
    let seed = 42;
    for (let i = 0; i < 640 * STAMP_ROWS; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const v = (luma[i] ?? 0) + ((seed % 121) - 60);
      luma[i] = Math.max(0, Math.min(255, v));
    }
    expect(readStamp(luma, 640, 360)).toEqual({ captureTimeMs: 123_456_789, frame: 7 });
  });

  it("reads a frame scaled down to half size (a lower simulcast layer)", () => {
    const full = frame(640, 360);
    writeStamp(full, 640, { captureTimeMs: 99_000, frame: 3 });
    const half = new Uint8Array(320 * 180);
    for (let y = 0; y < 180; y++)
      for (let x = 0; x < 320; x++) half[y * 320 + x] = full[y * 2 * 640 + x * 2] ?? 0;
    expect(readStamp(half, 320, 180)).toEqual({ captureTimeMs: 99_000, frame: 3 });
  });

  it("reads a frame scaled to three quarters (a browser encoder's 640 to 480 under a low estimate)", () => {
    const full = frame(640, 360);
    writeStamp(full, 640, { captureTimeMs: 1_795_439_018_430, frame: 250 });
    const scaled = new Uint8Array(480 * 270);
    for (let y = 0; y < 270; y++)
      for (let x = 0; x < 480; x++)
        scaled[y * 480 + x] = full[Math.floor(y / 0.75) * 640 + Math.floor(x / 0.75)] ?? 0;
    expect(readStamp(scaled, 480, 270)).toEqual({ captureTimeMs: 1_795_439_018_430 % 2 ** 40, frame: 250 });
  });

  it("rejects frames without a stamp or with a damaged one", () => {
    expect(readStamp(frame(640, 360), 640, 360)).toBeUndefined();
    const luma = frame(640, 360);
    writeStamp(luma, 640, { captureTimeMs: 5000, frame: 1 });
    // flip one payload block: the checksum no longer matches
    for (let row = 0; row < STAMP_ROWS; row++)
      luma.fill(luma[row * 640 + 20 * 10 + 5] === 235 ? 16 : 235, row * 640 + 20 * 10, row * 640 + 20 * 11);
    expect(readStamp(luma, 640, 360)).toBeUndefined();
  });

  it("refuses frames too narrow to carry 64 blocks", () => {
    expect(() => {
      writeStamp(frame(100, 100), 100, { captureTimeMs: 1, frame: 1 });
    }).toThrow(/too narrow/);
  });

  it("unwraps a 40-bit capture time to the nearest epoch value", () => {
    const now = 1_795_326_144_370;
    const wrapped = (now - 250) % 2 ** 40;
    expect(unwrapCaptureTime(wrapped, now)).toBe(now - 250);
  });
});
