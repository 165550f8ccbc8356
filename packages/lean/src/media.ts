import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

export class MediaError extends Error {
  constructor(
    readonly reason: "ffmpeg-missing" | "ffmpeg-failed" | "bad-media",
    message: string,
  ) {
    super(message);
    this.name = "MediaError";
  }
  toJSON(): object {
    return { name: this.name, reason: this.reason, message: this.message };
  }
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

interface Manifest {
  readonly args: readonly string[];
  readonly sha256: string;
  readonly packets: number;
}

/**
 * The Opus loop, generated with ffmpeg on first use into `cacheDir` and checked against the
 * manifest's sha256 on every later use; a file that no longer matches is generated again.
 */
export async function opusLoop(cacheDir = defaultCacheDir(), ffmpeg = "ffmpeg"): Promise<OpusLoop> {
  const key = createHash("sha256").update(JSON.stringify(FFMPEG_ARGS)).digest("hex").slice(0, 16);
  const file = join(cacheDir, `tone-${key}.opus`);
  const manifestFile = `${file}.json`;
  const cached = await readCached(file, manifestFile);
  if (cached !== undefined) return cached;

  await mkdir(cacheDir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  try {
    await promisify(execFile)(ffmpeg, ["-y", ...FFMPEG_ARGS, partial], { timeout: 60_000 });
  } catch (err) {
    await rm(partial, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT")
      throw new MediaError(
        "ffmpeg-missing",
        `cannot generate the Opus loop: ${ffmpeg} not found - install it (apt-get install ffmpeg, or npm run setup)`,
      );
    throw new MediaError(
      "ffmpeg-failed",
      `ffmpeg could not encode the Opus loop: ${(e.stderr ?? e.message).trim()}`,
    );
  }
  const bytes = await readFile(partial);
  const loop = toLoop(bytes, file);
  const manifest: Manifest = { args: FFMPEG_ARGS, sha256: loop.sha256, packets: loop.packets.length };
  // rename last, so a reader never sees a file without its manifest's checksum to match
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(partial, file);
  return loop;
}

async function readCached(file: string, manifestFile: string): Promise<OpusLoop | undefined> {
  try {
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as Manifest;
    const bytes = await readFile(file);
    const loop = toLoop(bytes, file);
    if (loop.sha256 !== manifest.sha256 || loop.packets.length !== manifest.packets) return undefined;
    return loop;
  } catch {
    return undefined;
  }
}

function toLoop(bytes: Buffer, file: string): OpusLoop {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
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
