/// <reference lib="dom" />
/// <reference lib="dom.asynciterable" />
import { STAMP_ROWS, TestPattern, type Resolution } from "@livekit-swarm/lean";

/**
 * The other engines' test pattern, drawn on a canvas and captured as a camera track. The stamp
 * carries the time each frame is drawn, taken from the clock the subscribers read: a Y4M file for
 * Chromium's fake camera would loop, and the time a looping file's frame was captured is known only
 * from a start time the page never sees (docs/browser-engine.md, "Fake media").
 */
export class PatternCanvas {
  readonly track: MediaStreamTrack;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly pattern: TestPattern;
  /** The RGBA of each base frame: only the stamp rows change from one loop to the next. */
  private readonly frames: ImageData[] = [];
  private frameNumber = 0;
  private readonly timer: number;

  constructor(
    private readonly resolution: Resolution,
    private readonly fps: number,
    seed: number,
    parent: HTMLElement,
  ) {
    this.pattern = new TestPattern(resolution, fps, seed);
    this.canvas = document.createElement("canvas");
    this.canvas.width = resolution.width;
    this.canvas.height = resolution.height;
    parent.append(this.canvas);
    const context = this.canvas.getContext("2d");
    if (context === null) throw new Error("the page has no 2d canvas context");
    this.context = context;
    // frame rate 0: a frame only when requestFrame says, so each drawn stamp is captured once
    const track = this.canvas.captureStream(0).getVideoTracks()[0];
    if (track === undefined) throw new Error("the canvas gave no video track");
    this.track = track;
    this.draw();
    this.timer = window.setInterval(() => {
      this.draw();
    }, 1000 / fps);
  }

  private draw(): void {
    const i420 = this.pattern.next(Date.now());
    const k = this.frameNumber++ % this.fps;
    let frame = this.frames[k];
    if (frame === undefined) {
      frame = this.context.createImageData(this.resolution.width, this.resolution.height);
      toRgba(i420, frame, this.resolution.height);
      this.frames[k] = frame;
    } else {
      toRgba(i420, frame, STAMP_ROWS);
    }
    this.context.putImageData(frame, 0, 0);
    (this.track as CanvasCaptureMediaStreamTrack).requestFrame();
  }

  stop(): void {
    window.clearInterval(this.timer);
    this.track.stop();
  }
}

/** I420 (BT.601 studio swing) to RGBA, rows [0, rows): the encoder turns it back into I420. */
function toRgba(i420: Uint8Array, image: ImageData, rows: number): void {
  const { width, height, data } = image;
  const lumaBytes = width * height;
  const chromaWidth = width / 2;
  const uBase = lumaBytes;
  const vBase = lumaBytes + (width / 2) * (height / 2);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) {
      const c = (y >> 1) * chromaWidth + (x >> 1);
      const luma = 1.164 * ((i420[y * width + x] ?? 16) - 16);
      const u = (i420[uBase + c] ?? 128) - 128;
      const v = (i420[vBase + c] ?? 128) - 128;
      const o = 4 * (y * width + x);
      data[o] = luma + 1.596 * v;
      data[o + 1] = luma - 0.392 * u - 0.813 * v;
      data[o + 2] = luma + 2.017 * u;
      data[o + 3] = 255;
    }
  }
}
