import type { Resolution } from "@livekit-swarm/lean";

export { TestPattern, type Resolution } from "@livekit-swarm/lean";

export const AUDIO_SAMPLE_RATE = 48_000;
/** 100 ms frames: one FFI event per frame, a tenth of 10 ms framing's cost (docs/engine-costs.md rule 2). */
export const AUDIO_FRAME_MS = 100;
const SAMPLES_PER_FRAME = (AUDIO_SAMPLE_RATE * AUDIO_FRAME_MS) / 1000;

/** The tone a publisher sends: its frequency identifies the publisher within a room. */
export function toneFrequency(publisherIndex: number): number {
  return 300 + 20 * (publisherIndex % 40);
}

/**
 * One second of a sine tone in 100 ms frames, precomputed (synthesising per frame in JS only adds
 * cost). An integer frequency completes whole cycles in a second, so the loop is seamless. Silent
 * frames carry zeros: with DTX off they still go on the wire, as a muted-but-open mic would.
 */
export function toneFrames(frequencyHz: number, amplitude = 6000): Int16Array[] {
  const frames: Int16Array[] = [];
  for (let f = 0; f < 1000 / AUDIO_FRAME_MS; f++) {
    // each frame its own buffer: the FFI reads from the buffer's start, not a view's offset
    const data = new Int16Array(SAMPLES_PER_FRAME);
    for (let i = 0; i < SAMPLES_PER_FRAME; i++) {
      const n = f * SAMPLES_PER_FRAME + i;
      data[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / AUDIO_SAMPLE_RATE));
    }
    frames.push(data);
  }
  return frames;
}

export const SILENT_FRAME = new Int16Array(SAMPLES_PER_FRAME);

/** Whether a publisher talks at `elapsedMs` into a talk/silence cycle (no cycle: always). */
export function isTalking(
  elapsedMs: number,
  talkMs: number | undefined,
  silenceMs: number | undefined,
): boolean {
  if (talkMs === undefined || silenceMs === undefined || silenceMs === 0) return true;
  return elapsedMs % (talkMs + silenceMs) < talkMs;
}

const NAMED: Record<string, Resolution> = {
  "180p": { width: 320, height: 180 },
  "360p": { width: 640, height: 360 },
  "540p": { width: 960, height: 540 },
  "720p": { width: 1280, height: 720 },
  "1080p": { width: 1920, height: 1080 },
};

export function parseResolution(text: string): Resolution {
  const named = NAMED[text];
  if (named !== undefined) return named;
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (match === null)
    throw new Error(
      `resolution: expected one of ${Object.keys(NAMED).join(", ")} or WxH, got ${JSON.stringify(text)}`,
    );
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width % 2 !== 0 || height % 2 !== 0 || width < 128 || height < 32) {
    throw new Error(`resolution: ${text} must be even and at least 128x32`);
  }
  return { width, height };
}
