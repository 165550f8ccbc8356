import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { MediaError } from "./media.js";
import { annexBNalUnits, isH264KeyframeBitstream, profileLevelId, spsSize } from "./h264.js";
import { readStamp, type Stamp } from "./stamp.js";
import { addTexture, h264Loop, loopKbps, presetBitrateKbps, vp8Loop } from "./video-media.js";
import { isKeyframeBitstream } from "./vp8.js";

const dirs: string[] = [];
async function cacheDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lean-video-"));
  dirs.push(dir);
  return dir;
}
/** Decodes a loop with ffmpeg and reads the stamp of every frame. */
async function decodedStamps(file: string, width: number, height: number): Promise<(Stamp | undefined)[]> {
  const { stdout } = await promisify(execFile)(
    "ffmpeg",
    ["-hide_banner", "-loglevel", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
    { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
  );
  const frameBytes = (width * height * 3) / 2;
  return Array.from({ length: stdout.length / frameBytes }, (_, k) =>
    readStamp(stdout.subarray(k * frameBytes, (k + 1) * frameBytes), width, height),
  );
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("vp8Loop (ffmpeg, a one-second 180p loop)", () => {
  it("encodes the pattern with one keyframe first, caches it and finds it again by checksum", async () => {
    const dir = await cacheDir();
    const loop = await vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(loop.frames).toHaveLength(20);
    expect(loop.frames.map(isKeyframeBitstream)).toEqual([true, ...Array<boolean>(19).fill(false)]);
    expect(loop.bitrateKbps).toBe(160);
    const again = await vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(again.sha256).toBe(loop.sha256);
    expect(again.file).toBe(loop.file);
  });

  it("makes a damaged file again", async () => {
    const dir = await cacheDir();
    const loop = await vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    const bytes = await readFile(loop.file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(loop.file, bytes);
    const remade = await vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(remade.sha256).toBe(loop.sha256);
  });

  it("carries the pattern's stamp through the encoder: frame k reads back k * 50 ms and frame number k", async () => {
    const dir = await cacheDir();
    const loop = await vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    const stamps = await decodedStamps(loop.file, 320, 180);
    expect(stamps).toHaveLength(20);
    expect(stamps).toEqual(stamps.map((_, k) => ({ captureTimeMs: k * 50, frame: k })));
  });

  it("a 720p30 loop fills LiveKit's preset (the texture) and keeps every stamp readable", async () => {
    const dir = await cacheDir();
    const loop = await vp8Loop({ width: 1280, height: 720, fps: 30, seconds: 2 }, dir);
    // 94-97% of the preset at every size with the texture (1,600-1,660 of 1,700 here); 61% without
    expect(loopKbps(loop) / loop.bitrateKbps, `${loopKbps(loop).toFixed(0)} kb/s`).toBeGreaterThan(0.85);
    expect(loopKbps(loop) / loop.bitrateKbps, `${loopKbps(loop).toFixed(0)} kb/s`).toBeLessThan(1.1);
    const stamps = await decodedStamps(loop.file, 1280, 720);
    expect(stamps).toEqual(stamps.map((_, k) => ({ captureTimeMs: Math.round((k * 1000) / 30), frame: k })));
    // ffmpeg encodes 60 frames at 720p and decodes them again: about 2 s idle, over the 5 s default
    // beside two busy cores (seen here); a bound for a hung ffmpeg, not a speed check
  }, 60_000);

  it("refuses a frame rate the 20 ms pacer cannot send and names a missing ffmpeg", async () => {
    const dir = await cacheDir();
    await expect(vp8Loop({ width: 320, height: 180, fps: 60 }, dir)).rejects.toThrow(
      /1 to 50 frames per second/,
    );
    await expect(
      vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir, "no-such-ffmpeg"),
    ).rejects.toSatisfy((e: unknown) => e instanceof MediaError && e.reason === "ffmpeg-missing");
  });

  it("takes LiveKit's preset bitrates and scales others by pixels", () => {
    expect(presetBitrateKbps(640, 360)).toBe(450);
    expect(presetBitrateKbps(1280, 720)).toBe(1700);
    expect(presetBitrateKbps(800, 600)).toBe(938);
  });
});

describe("h264Loop (ffmpeg, libx264, a one-second 180p loop)", () => {
  it("encodes the pattern as constrained baseline, one IDR with its SPS and PPS first, cached by checksum", async () => {
    const dir = await cacheDir();
    const loop = await h264Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(loop.codec).toBe("h264");
    expect(loop.frames).toHaveLength(20);
    expect(loop.frames.map(isH264KeyframeBitstream)).toEqual([true, ...Array<boolean>(19).fill(false)]);
    const first = annexBNalUnits(loop.frames[0] ?? Buffer.alloc(0));
    expect(first.map((n) => (n[0] ?? 0) & 0x1f)).toEqual([7, 8, 5]);
    // profile 66 with constraint_set1 (constrained baseline), level 3.1: what the SDP offers
    expect(profileLevelId(first[0] ?? Buffer.alloc(0))).toMatch(/^42[c-f]01f$/);
    const again = await h264Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(again.sha256).toBe(loop.sha256);
    // the VP8 loop of the same size lives beside it under another name
    const vp8 = await vp8Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(vp8.file).not.toBe(loop.file);
  });

  it("carries the pattern's stamp through libx264: frame k reads back k * 50 ms and frame number k", async () => {
    const dir = await cacheDir();
    const loop = await h264Loop({ width: 320, height: 180, fps: 20, seconds: 1 }, dir);
    expect(await decodedStamps(loop.file, 320, 180)).toEqual(
      Array.from({ length: 20 }, (_, k) => ({ captureTimeMs: k * 50, frame: k })),
    );
  });

  it("a 720p loop at LiveKit's preset: 1280x720 in its SPS, every frame one slice", async () => {
    const dir = await cacheDir();
    const loop = await h264Loop({ width: 1280, height: 720, fps: 20, seconds: 0.5 }, dir);
    expect(loop.bitrateKbps).toBe(1700);
    const sps = annexBNalUnits(loop.frames[0] ?? Buffer.alloc(0))[0] ?? Buffer.alloc(0);
    expect(spsSize(sps)).toEqual({ width: 1280, height: 720 });
    // CBR with filler: the loop carries about the preset's rate (0.79 over this half-second loop, the
    // HRD buffer filling), not the little the pattern needs (0.18 without filler at 720p)
    const kbps = (loop.frames.reduce((n, f) => n + f.length, 0) * 8 * loop.fps) / loop.frames.length / 1000;
    expect(kbps / loop.bitrateKbps, `${kbps.toFixed(0)} kb/s`).toBeGreaterThan(0.7);
    expect(kbps / loop.bitrateKbps, `${kbps.toFixed(0)} kb/s`).toBeLessThan(1.15);
    expect(await decodedStamps(loop.file, 1280, 720)).toEqual(
      Array.from({ length: 10 }, (_, k) => ({ captureTimeMs: k * 50, frame: k })),
    );
  }, 60_000);
});

describe("addTexture", () => {
  const width = 640;
  const height = 360;
  const flat = (): Uint8Array => new Uint8Array(width * height).fill(128);

  it("leaves the rows a stamp reader looks at alone and moves every other pixel by at most 4", () => {
    const luma = flat();
    addTexture(luma, width, height, 7);
    expect(luma.subarray(0, 16 * width).every((v) => v === 128)).toBe(true);
    const below = luma.subarray(16 * width);
    expect(below.reduce((a, v) => Math.min(a, v), 255)).toBe(124);
    expect(below.reduce((a, v) => Math.max(a, v), 0)).toBe(132);
  });

  it("keeps more rows clear on a taller frame (readStamp reads 16 rows per 360 of height)", () => {
    const tall = new Uint8Array(1920 * 1080).fill(128);
    addTexture(tall, 1920, 1080, 0);
    expect(tall.subarray(0, 48 * 1920).every((v) => v === 128)).toBe(true);
    expect(tall.subarray(48 * 1920, 49 * 1920).some((v) => v !== 128)).toBe(true);
  });

  it("is the same for the same frame, new in the next, and clamped at black and white", () => {
    const [a, b, c] = [flat(), flat(), flat()];
    addTexture(a, width, height, 3);
    addTexture(b, width, height, 3);
    addTexture(c, width, height, 4);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // clamped, not wrapped: black stays within 0-4 and white within 251-255
    const black = new Uint8Array(width * height);
    addTexture(black, width, height, 1);
    expect(black.reduce((a, v) => Math.max(a, v), 0)).toBe(4);
    const white = new Uint8Array(width * height).fill(255);
    addTexture(white, width, height, 1);
    expect(white.reduce((a, v) => Math.min(a, v), 255)).toBe(251);
  });
});
