import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { KnownError, messageOf } from "@livekit-swarm/schema";
import { opusAudioPackets, opusPacketSamples } from "./ogg.js";

/** 20 ms at Opus's 48 kHz RTP clock. */
export const SAMPLES_PER_PACKET = 960;

/** A pre-encoded Opus loop: 20 ms packets, sent in order and again from the start. */
export interface OpusLoop {
  readonly packets: readonly Buffer[];
  /** sha256 of the Ogg file the packets came from. */
  readonly sha256: string;
  readonly file: string;
}

export class MediaError extends KnownError<"ffmpeg-missing" | "ffmpeg-failed" | "bad-media"> {
  override readonly name = "MediaError";
}

/**
 * A 440 Hz tone, mono, 32 kb/s libopus in 20 ms frames, one packet per Ogg page. Bit-exact flags
 * keep the file identical from run to run with the same ffmpeg, so its checksum means something.
 */
const SECONDS = 10;
const FFMPEG_ARGS = [
  "-hide_banner",
  "-loglevel",
  "error",
  "-f",
  "lavfi",
  "-i",
  `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
  "-ac",
  "1",
  "-c:a",
  "libopus",
  "-b:a",
  "32k",
  "-frame_duration",
  "20",
  "-application",
  "audio",
  "-page_duration",
  "20000",
  "-fflags",
  "+bitexact",
  "-flags:a",
  "+bitexact",
  "-f",
  "ogg",
];

/** Where generated media is kept: outside the repository, reused across runs. */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(base, "livekit-swarm", "lean");
}

/**
 * The Opus loop, generated with ffmpeg on first use into `cacheDir` and checked against the
 * manifest's sha256 on every later use; a file that no longer matches is generated again.
 */
export async function opusLoop(cacheDir = defaultCacheDir(), ffmpeg = "ffmpeg"): Promise<OpusLoop> {
  return cachedMedia({
    cacheDir,
    name: "tone",
    extension: "opus",
    args: FFMPEG_ARGS,
    make: (partial) => runFfmpeg(ffmpeg, [...FFMPEG_ARGS, partial], "the Opus loop"),
    parse: toLoop,
    count: (loop) => loop.packets.length,
  });
}

interface Manifest {
  readonly args: readonly string[];
  readonly sha256: string;
  /** Packets or frames: a file cut short has fewer. */
  readonly packets: number;
}

/** How a cached media file is named, made and read. */
export interface MediaRecipe<T> {
  readonly cacheDir: string;
  readonly name: string;
  readonly extension: string;
  /** Everything that decides the file's content: a change names a new file, never a stale hit. */
  readonly args: readonly string[];
  make(partial: string): Promise<void>;
  parse(bytes: Buffer, file: string, sha256: string): T;
  count(media: T): number;
}

/**
 * A media file made once by `make` into the cache, reused while its bytes match the manifest's
 * sha256 and item count; one that no longer matches is made again.
 */
export async function cachedMedia<T>(recipe: MediaRecipe<T>): Promise<T> {
  const key = sha256Of(JSON.stringify(recipe.args)).slice(0, 16);
  const file = join(recipe.cacheDir, `${recipe.name}-${key}.${recipe.extension}`);
  const manifestFile = `${file}.json`;
  const cached = await readCached(recipe, file, manifestFile);
  if (cached !== undefined) return cached;

  await mkdir(recipe.cacheDir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  try {
    await recipe.make(partial);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  const bytes = await readFile(partial);
  const sha256 = sha256Of(bytes);
  const media = recipe.parse(bytes, file, sha256);
  const manifest: Manifest = { args: recipe.args, sha256, packets: recipe.count(media) };
  // rename last, so a reader never sees a file without its manifest's checksum to match
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(partial, file);
  return media;
}

async function readCached<T>(
  recipe: MediaRecipe<T>,
  file: string,
  manifestFile: string,
): Promise<T | undefined> {
  try {
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as Manifest;
    const bytes = await readFile(file);
    const sha256 = sha256Of(bytes);
    if (sha256 !== manifest.sha256) return undefined;
    const media = recipe.parse(bytes, file, sha256);
    return recipe.count(media) === manifest.packets ? media : undefined;
  } catch {
    return undefined;
  }
}

function sha256Of(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Runs ffmpeg to completion, writing `input` chunks to its stdin as it takes them (raw frames can
 * be hundreds of megabytes, so never all at once). `what` names the product in errors.
 */
export async function runFfmpeg(
  ffmpeg: string,
  args: readonly string[],
  what: string,
  input?: Iterable<Uint8Array>,
): Promise<void> {
  const child = spawn(ffmpeg, ["-y", ...args], {
    stdio: [input === undefined ? "ignore" : "pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  try {
    const stdin = child.stdin;
    if (input !== undefined && stdin !== null) {
      // an ffmpeg that died closes the pipe; its exit status says why, not the write error
      stdin.on("error", () => undefined);
      for (const chunk of input) {
        if (child.exitCode !== null) break;
        if (!stdin.write(chunk)) await Promise.race([once(stdin, "drain"), exited]);
      }
      stdin.end();
    }
    const code = await exited;
    if (code !== 0)
      throw new MediaError(
        "ffmpeg-failed",
        `ffmpeg could not encode ${what} (exit ${code}): ${stderr.trim()}`,
      );
  } catch (err) {
    if (err instanceof MediaError) throw err;
    if (err instanceof Error && "code" in err && err.code === "ENOENT")
      throw new MediaError(
        "ffmpeg-missing",
        `cannot generate ${what}: ${ffmpeg} not found - install it (apt-get install ffmpeg, or npm run setup)`,
      );
    throw new MediaError("ffmpeg-failed", `ffmpeg could not encode ${what}: ${messageOf(err)}`);
  }
}

function toLoop(bytes: Buffer, file: string, sha256: string): OpusLoop {
  const packets = opusAudioPackets(bytes);
  if (packets.length === 0) throw new MediaError("bad-media", `${file}: no Opus packets`);
  const odd = packets.findIndex((p) => opusPacketSamples(p) !== SAMPLES_PER_PACKET);
  if (odd !== -1)
    throw new MediaError(
      "bad-media",
      `${file}: packet ${odd} lasts ${opusPacketSamples(packets[odd] ?? Buffer.alloc(0))} samples, expected ${SAMPLES_PER_PACKET} (20 ms)`,
    );
  return { packets, sha256, file };
}
