import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { MediaError } from "./media.js";
import { readStamp } from "./stamp.js";
import { presetBitrateKbps, vp8Loop } from "./video-media.js";
import { isKeyframeBitstream } from "./vp8.js";

const dirs: string[] = [];
async function cacheDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lean-video-"));
  dirs.push(dir);
  return dir;
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
    const { stdout } = await promisify(execFile)(
      "ffmpeg",
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        loop.file,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "pipe:1",
      ],
      { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
    );
    const frameBytes = (320 * 180 * 3) / 2;
    const stamps = Array.from({ length: stdout.length / frameBytes }, (_, k) =>
      readStamp(stdout.subarray(k * frameBytes, (k + 1) * frameBytes), 320, 180),
    );
    expect(stamps).toHaveLength(20);
    expect(stamps).toEqual(stamps.map((_, k) => ({ captureTimeMs: k * 50, frame: k })));
  });

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
