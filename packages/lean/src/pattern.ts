import { writeStamp } from "./stamp.js";

export interface Resolution {
  readonly width: number;
  readonly height: number;
}

/**
 * A moving test pattern (a bright bar sweeping over a gradient) as I420 frames. One second of base
 * frames is rendered once; each sent frame is a copy with the capture time and frame number stamped
 * into its top rows, so that decoding subscribers can measure latency and freezes from pixels.
 */
export class TestPattern {
  private readonly base: Uint8Array[] = [];
  private frameNumber = 0;
  readonly frameBytes: number;

  constructor(
    readonly resolution: Resolution,
    readonly fps: number,
    seed = 0,
  ) {
    const { width, height } = resolution;
    const lumaBytes = width * height;
    this.frameBytes = lumaBytes + 2 * (width / 2) * (height / 2);
    const barWidth = Math.max(8, Math.floor(width / 16));
    for (let k = 0; k < fps; k++) {
      const frame = new Uint8Array(this.frameBytes);
      const barX = Math.floor(((k / fps) * width + seed * 37) % width);
      for (let y = 0; y < height; y++) {
        const row = y * width;
        for (let x = 0; x < width; x++) frame[row + x] = 40 + Math.floor((160 * (x + y)) / (width + height));
        for (let x = barX; x < Math.min(width, barX + barWidth); x++) frame[row + x] = 230;
      }
      // chroma: a tint that differs per publisher seed, constant over time
      frame.fill(96 + ((seed * 29) % 64), lumaBytes, lumaBytes + lumaBytes / 4);
      frame.fill(160 - ((seed * 17) % 64), lumaBytes + lumaBytes / 4);
      this.base.push(frame);
    }
  }

  /** The next frame to send, stamped with `nowMs`; a fresh buffer each time. */
  next(nowMs: number): Uint8Array {
    const k = this.frameNumber % this.fps;
    const frame = new Uint8Array(this.base[k] ?? new Uint8Array(this.frameBytes));
    writeStamp(frame, this.resolution.width, { captureTimeMs: nowMs, frame: this.frameNumber });
    this.frameNumber++;
    return frame;
  }
}
