import { parseIvf, IvfError } from "./ivf.js";
import { cachedMedia, defaultCacheDir, MediaError, runFfmpeg } from "./media.js";
import { TestPattern } from "./pattern.js";
import { isKeyframeBitstream } from "./vp8.js";

/**
 * A pre-encoded VP8 loop of the moving test pattern: frame 0 is its only keyframe, every frame is
 * shown (no alt-ref frames), sent in order and again from the start.
 */
export interface VideoLoop {
  readonly codec: "vp8";
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly bitrateKbps: number;
  readonly frames: readonly Buffer[];
  /** sha256 of the IVF file the frames came from. */
  readonly sha256: string;
  readonly file: string;
}

export interface VideoLoopOptions {
  readonly width: number;
  readonly height: number;
  /** At most 50: the lean engine sends at most one frame per 20 ms tick. */
  readonly fps: number;
  /** Target bitrate; default LiveKit's preset for the height (`presetBitrateKbps`). */
  readonly bitrateKbps?: number;
  readonly seconds?: number;
}

/** The process pacer's period caps the frame rate: one frame per tick. */
export const MAX_LEAN_FPS = 50;

/**
 * LiveKit's default camera bitrates (client SDK presets h180 160k, h360 450k, h540 800k, h720
 * 1.7M, h1080 3M), scaled by pixels for other sizes.
 */
export function presetBitrateKbps(width: number, height: number): number {
  const presets: Record<number, number> = { 180: 160, 360: 450, 540: 800, 720: 1700, 1080: 3000 };
  const preset = presets[height];
  if (preset !== undefined && width === Math.round((height * 16) / 9 / 2) * 2) return preset;
  return Math.round((450 * width * height) / (640 * 360));
}

/**
 * libvpx settings of a real-time sender: constant bitrate down to quantizer 0 (the pattern is
 * simple; in VBR it takes half its budget, where libwebrtc's encoder, live, takes it all), no lag
 * and no alt-ref (every frame shown, sent as encoded), error-resilient, one thread and bit-exact muxing so the same ffmpeg makes the same
 * file (its checksum then means something). One keyframe, at the start of the loop.
 */
function encoderArgs(o: Required<VideoLoopOptions>, frames: number): string[] {
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "yuv420p",
    "-s",
    `${o.width}x${o.height}`,
    "-r",
    String(o.fps),
    "-i",
    "pipe:0",
    "-frames:v",
    String(frames),
    "-c:v",
    "libvpx",
    "-b:v",
    `${o.bitrateKbps}k`,
    "-minrate",
    `${o.bitrateKbps}k`,
    "-maxrate",
    `${o.bitrateKbps}k`,
    "-bufsize",
    `${o.bitrateKbps}k`,
    "-qmin",
    "0",
    "-qmax",
    "63",
    "-g",
    String(frames),
    "-keyint_min",
    String(frames),
    "-auto-alt-ref",
    "0",
    "-lag-in-frames",
    "0",
    "-error-resilient",
    "1",
    "-deadline",
    "good",
    "-cpu-used",
    "4",
    "-threads",
    "1",
    "-fflags",
    "+bitexact",
    "-flags",
    "+bitexact",
    "-f",
    "ivf",
  ];
}

/** Version of the frames fed to the encoder: bump when the pattern or its stamps change. */
const PATTERN_VERSION = "pattern-1";

/**
 * The VP8 loop for a size and frame rate, made by ffmpeg (libvpx) from the same moving pattern the
 * native engine sends, on first use, into `cacheDir`, sha256-checked on every later use. Each
 * frame carries the pattern's stamp with its position in the loop (frame k: k * 1000 / fps ms,
 * frame number k mod 256): a pre-encoded frame cannot carry its send time, so latency is measured
 * from the abs-capture-time extension the sender writes (README, "Video").
 */
export async function vp8Loop(
  options: VideoLoopOptions,
  cacheDir = defaultCacheDir(),
  ffmpeg = "ffmpeg",
): Promise<VideoLoop> {
  const o: Required<VideoLoopOptions> = {
    bitrateKbps: presetBitrateKbps(options.width, options.height),
    seconds: 10,
    ...options,
  };
  if (!Number.isInteger(o.fps) || o.fps < 1 || o.fps > MAX_LEAN_FPS)
    throw new MediaError(
      "bad-media",
      `fps ${o.fps}: the lean engine sends 1 to ${MAX_LEAN_FPS} frames per second`,
    );
  const count = Math.round(o.seconds * o.fps);
  const args = encoderArgs(o, count);
  return cachedMedia({
    cacheDir,
    name: `pattern-${o.width}x${o.height}-${o.fps}fps`,
    extension: "ivf",
    args: [PATTERN_VERSION, ...args],
    make: (partial) =>
      runFfmpeg(ffmpeg, [...args, partial], `the ${o.width}x${o.height} VP8 loop`, patternFrames(o, count)),
    parse: (bytes, file, sha256) => toVideoLoop(bytes, file, sha256, o, count),
    count: (loop) => loop.frames.length,
  });
}

function* patternFrames(o: Required<VideoLoopOptions>, count: number): Generator<Uint8Array> {
  const pattern = new TestPattern({ width: o.width, height: o.height }, o.fps);
  for (let k = 0; k < count; k++) yield pattern.next(Math.round((k * 1000) / o.fps));
}

function toVideoLoop(
  bytes: Buffer,
  file: string,
  sha256: string,
  o: Required<VideoLoopOptions>,
  count: number,
): VideoLoop {
  let ivf;
  try {
    ivf = parseIvf(bytes);
  } catch (err) {
    if (err instanceof IvfError) throw new MediaError("bad-media", `${file}: ${err.message}`);
    throw err;
  }
  const bad = (why: string): MediaError => new MediaError("bad-media", `${file}: ${why}`);
  if (ivf.fourcc !== "VP80") throw bad(`codec ${ivf.fourcc}, expected VP80`);
  if (ivf.width !== o.width || ivf.height !== o.height)
    throw bad(`${ivf.width}x${ivf.height}, expected ${o.width}x${o.height}`);
  if (ivf.frames.length !== count) throw bad(`${ivf.frames.length} frames, expected ${count}`);
  if (!isKeyframeBitstream(ivf.frames[0] ?? Buffer.alloc(0))) throw bad("the first frame is not a keyframe");
  // show_frame is bit 4 of the frame tag: a hidden frame would be sent as a frame nobody sees
  const hidden = ivf.frames.findIndex((f) => ((f[0] ?? 0) & 0x10) === 0);
  if (hidden !== -1) throw bad(`frame ${hidden} is not shown (alt-ref)`);
  return {
    codec: "vp8",
    width: o.width,
    height: o.height,
    fps: o.fps,
    bitrateKbps: o.bitrateKbps,
    frames: ivf.frames,
    sha256,
    file,
  };
}
