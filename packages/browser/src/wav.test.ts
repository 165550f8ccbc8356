import { describe, expect, it } from "vitest";
import { wavFile } from "./wav.js";

describe("wavFile", () => {
  it("writes a mono 16-bit PCM RIFF header and the samples little-endian", () => {
    const wav = wavFile(Int16Array.from([0, 1, -1, 32767, -32768]), 48_000);
    expect(wav.length).toBe(44 + 10);
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(4)).toBe(36 + 10);
    expect(wav.toString("ascii", 8, 16)).toBe("WAVEfmt ");
    expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt32LE(28)]).toEqual([
      1, 1, 48_000, 96_000,
    ]);
    expect([wav.readUInt16LE(32), wav.readUInt16LE(34)]).toEqual([2, 16]);
    expect(wav.toString("ascii", 36, 40)).toBe("data");
    expect(wav.readUInt32LE(40)).toBe(10);
    expect([0, 1, 2, 3, 4].map((i) => wav.readInt16LE(44 + 2 * i))).toEqual([0, 1, -1, 32767, -32768]);
  });
});
