import { parseIvf, IvfError } from "./ivf.js";
import { cachedMedia, defaultCacheDir, MediaError, runFfmpeg } from "./media.js";
import { TestPattern } from "./pattern.js";
import { STAMP_ROWS } from "./stamp.js";
import {
  accessUnits,
  annexBFrame,
  annexBNalUnits,
  NAL_FILLER,
  NAL_IDR,
  NAL_SLICE,
  NAL_SPS,
  nalType,
  spsSize,
} from "./h264.js";
import type { LeanVideoCodec } from "./video-format.js";
import { isKeyframeBitstream } from "./vp8.js";

/**
 * A pre-encoded VP8 or H.264 loop of the moving test pattern: frame 0 is its only keyframe, every
 * frame is shown (no alt-ref frames, no B-frames), sent in order and again from the start. An
 * H.264 frame is its NAL units in Annex B form (4-byte start codes), the SPS and PPS before the IDR.
 */
export interface VideoLoop {
  readonly codec: LeanVideoCodec;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly bitrateKbps: number;
  readonly frames: readonly Buffer[];
  /** sha256 of the IVF (VP8) or Annex B (H.264) file the frames came from. */
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

/** A loop's mean payload rate over the whole file, kb/s: what a receiver of it sees on average. */
export function loopKbps(loop: VideoLoop): number {
  return (loop.frames.reduce((n, f) => n + f.length, 0) * 8 * loop.fps) / loop.frames.length / 1000;
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

/** Raw I420 frames of the pattern on stdin, at the loop's size and rate. */
function inputArgs(o: Required<VideoLoopOptions>, frames: number): string[] {
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
  ];
}

/** Constant bitrate at the loop's budget, one keyframe (the first frame) in the whole loop. */
function rateArgs(o: Required<VideoLoopOptions>, frames: number): string[] {
  const rate = `${o.bitrateKbps}k`;
  return [
    "-b:v",
    rate,
    "-minrate",
    rate,
    "-maxrate",
    rate,
    "-bufsize",
    rate,
    "-g",
    String(frames),
    "-keyint_min",
    String(frames),
  ];
}

const BITEXACT = ["-threads", "1", "-fflags", "+bitexact", "-flags", "+bitexact"];

/**
 * libvpx settings of a real-time sender: constant bitrate down to quantizer 0 (the pattern is
 * simple; in VBR it takes half its budget, where libwebrtc's encoder, live, takes it all), no lag
 * and no alt-ref (every frame shown, sent as encoded), error-resilient, one thread and bit-exact muxing so the same ffmpeg makes the same
 * file (its checksum then means something). One keyframe, at the start of the loop.
 */
function vp8Args(o: Required<VideoLoopOptions>, frames: number): string[] {
  return [
    ...inputArgs(o, frames),
    "-c:v",
    "libvpx",
    ...rateArgs(o, frames),
    "-qmin",
    "0",
    "-qmax",
    "63",
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
    ...BITEXACT,
    "-f",
    "ivf",
  ];
}

/**
 * libx264 as a WebRTC sender has it: constrained baseline (no B-frames, CAVLC), level 3.1 (what
 * the SDP's profile-level-id 42e01f says, enough for 720p), one reference frame, one slice per
 * picture (so a frame is one VCL NAL unit and the loop can be cut into frames by them), zero
 * latency, SPS and PPS before the IDR, no scene-cut keyframes. CBR with HRD signalling
 * (`nal-hrd=cbr`): without it x264 leaves most of the budget unused on this simple pattern (360p:
 * 152 of 450 kb/s), where the filler data it adds keeps the loop at the preset, as libwebrtc's
 * encoder, live, takes its budget (VP8 gets there with quantizer 0). x264's SEI (its version and
 * options as text, ~600 bytes in the first frame, and the HRD timing) is dropped: a receiver has
 * no use for it. Annex B out, one thread and bit-exact flags as for VP8.
 */
function h264Args(o: Required<VideoLoopOptions>, frames: number): string[] {
  return [
    ...inputArgs(o, frames),
    "-c:v",
    "libx264",
    "-profile:v",
    "baseline",
    "-level",
    "3.1",
    ...rateArgs(o, frames),
    "-sc_threshold",
    "0",
    "-bf",
    "0",
    "-refs",
    "1",
    "-preset",
    "veryfast",
    "-tune",
    "zerolatency",
    "-x264-params",
    "slices=1:sliced-threads=0:repeat-headers=1:nal-hrd=cbr:aud=0",
    "-bsf:v",
    "filter_units=remove_types=6",
    ...BITEXACT,
    "-f",
    "h264",
  ];
}

/** Version of the frames fed to the encoder: bump when the pattern or its stamps change. */
const PATTERN_VERSION = "pattern-1";

/** Version of the VP8 loop's texture (`addTexture`): bump when it changes. */
const TEXTURE_VERSION = "texture-1";

/** Peak of the texture's luma noise: the smallest that brings every size to 94-97% of its preset. */
const TEXTURE_AMPLITUDE = 4;

/**
 * Luma noise of +-TEXTURE_AMPLITUDE, new in every frame, below the rows a stamp reader looks at
 * (readStamp reads up to 16 rows per 360 of height, so 48 at 1080p). Without it the pattern is too
 * simple for libvpx's CBR to fill the preset even at quantizer 0 (measured, 10 s loops: 720p30 1,056
 * of 1,700 kb/s, 1080p30 1,905 of 3,000), and a server fed by lean publishers forwards fewer packets
 * than it would for cameras. A camera's sensor noise does the same to a real encoder. Seeded by the
 * frame's index, so the same ffmpeg still makes the same file.
 */
export function addTexture(luma: Uint8Array, width: number, height: number, frame: number): void {
  const top = Math.max(STAMP_ROWS, Math.round((STAMP_ROWS * height) / 360));
  const span = 2 * TEXTURE_AMPLITUDE + 1;
  let state = (frame * 2654435761 + 1) >>> 0;
  for (let i = top * width; i < width * height; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const v = (luma[i] ?? 0) + ((state >>> 16) % span) - TEXTURE_AMPLITUDE;
    luma[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/**
 * The VP8 loop for a size and frame rate, made by ffmpeg (libvpx) from the same moving pattern the
 * native engine sends, on first use, into `cacheDir`, sha256-checked on every later use. Each
 * frame carries the pattern's stamp with its position in the loop (frame k: k * 1000 / fps ms,
 * frame number k mod 256): a pre-encoded frame cannot carry its send time, so latency is measured
 * from the abs-capture-time extension the sender writes (README, "Video").
 */
export function vp8Loop(options: VideoLoopOptions, cacheDir?: string, ffmpeg?: string): Promise<VideoLoop> {
  return videoLoop({ ...options, codec: "vp8" }, cacheDir, ffmpeg);
}

/** The H.264 loop (libx264, constrained baseline), made and cached as the VP8 one. */
export function h264Loop(options: VideoLoopOptions, cacheDir?: string, ffmpeg?: string): Promise<VideoLoop> {
  return videoLoop({ ...options, codec: "h264" }, cacheDir, ffmpeg);
}

/** The loop of `options.codec` (VP8 when not given). */
export async function videoLoop(
  options: VideoLoopOptions & { readonly codec?: LeanVideoCodec },
  cacheDir = defaultCacheDir(),
  ffmpeg = "ffmpeg",
): Promise<VideoLoop> {
  const { codec = "vp8", ...rest } = options;
  const o: Required<VideoLoopOptions> = {
    bitrateKbps: presetBitrateKbps(options.width, options.height),
    seconds: 10,
    ...rest,
  };
  if (!Number.isInteger(o.fps) || o.fps < 1 || o.fps > MAX_LEAN_FPS)
    throw new MediaError(
      "bad-media",
      `fps ${o.fps}: the lean engine sends 1 to ${MAX_LEAN_FPS} frames per second`,
    );
  const count = Math.round(o.seconds * o.fps);
  const args = codec === "vp8" ? vp8Args(o, count) : h264Args(o, count);
  const what = `the ${o.width}x${o.height} ${codec === "vp8" ? "VP8" : "H.264"} loop`;
  return cachedMedia({
    cacheDir,
    // the VP8 loop keeps its name, so caches made before H.264 stay valid
    name: `pattern-${codec === "vp8" ? "" : `${codec}-`}${o.width}x${o.height}-${o.fps}fps`,
    extension: codec === "vp8" ? "ivf" : "h264",
    args: [PATTERN_VERSION, ...(codec === "vp8" ? [TEXTURE_VERSION] : []), ...args],
    make: (partial) => runFfmpeg(ffmpeg, [...args, partial], what, patternFrames(o, count, codec === "vp8")),
    parse: (bytes, file, sha256) =>
      codec === "vp8" ? toVp8Loop(bytes, file, sha256, o, count) : toH264Loop(bytes, file, sha256, o, count),
    count: (loop) => loop.frames.length,
  });
}

/**
 * The pattern's frames for a loop; textured for VP8 only: x264 under `nal-hrd=cbr` fills its budget
 * with filler data already, and its loops (and their cache) stay as they were.
 */
function* patternFrames(
  o: Required<VideoLoopOptions>,
  count: number,
  textured: boolean,
): Generator<Uint8Array> {
  const pattern = new TestPattern({ width: o.width, height: o.height }, o.fps);
  for (let k = 0; k < count; k++) {
    const frame = pattern.next(Math.round((k * 1000) / o.fps));
    if (textured) addTexture(frame, o.width, o.height, k);
    yield frame;
  }
}

function toVp8Loop(
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
  return { codec: "vp8", ...shapeOf(o), frames: ivf.frames, sha256, file };
}

function toH264Loop(
  bytes: Buffer,
  file: string,
  sha256: string,
  o: Required<VideoLoopOptions>,
  count: number,
): VideoLoop {
  const bad = (why: string): MediaError => new MediaError("bad-media", `${file}: ${why}`);
  let units: Buffer[][];
  try {
    units = accessUnits(annexBNalUnits(bytes));
  } catch (err) {
    if (err instanceof RangeError) throw bad(err.message);
    throw err;
  }
  if (units.length !== count) throw bad(`${units.length} frames, expected ${count}`);
  const [first, ...rest] = units;
  const types = (first ?? []).map(nalType);
  if (!types.includes(NAL_SPS) || !types.includes(NAL_IDR))
    throw bad("the first frame is not an IDR with its SPS");
  const sps = first?.find((n) => nalType(n) === NAL_SPS);
  const size = sps === undefined ? undefined : spsSize(sps);
  if (size?.width !== o.width || size.height !== o.height)
    throw bad(`SPS says ${size?.width}x${size?.height}, expected ${o.width}x${o.height}`);
  // one IDR in the loop: every later frame is a non-IDR slice (and its filler), so a restart is the only keyframe
  const odd = rest.findIndex(
    (u) =>
      nalType(u[0] ?? Buffer.alloc(0)) !== NAL_SLICE || u.slice(1).some((n) => nalType(n) !== NAL_FILLER),
  );
  if (odd !== -1) throw bad(`frame ${odd + 1} is not a single non-IDR slice`);
  return { codec: "h264", ...shapeOf(o), frames: units.map(annexBFrame), sha256, file };
}

function shapeOf(o: Required<VideoLoopOptions>): Pick<VideoLoop, "width" | "height" | "fps" | "bitrateKbps"> {
  return { width: o.width, height: o.height, fps: o.fps, bitrateKbps: o.bitrateKbps };
}
