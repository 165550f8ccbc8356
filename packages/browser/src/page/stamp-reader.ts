/// <reference lib="dom" />
/** Reading the pixel stamp of the frame a video element presents: the capture time it carries. */
import { readStamp, unwrapCaptureTime } from "@livekit-swarm/lean";

/**
 * Reads the stamp of the frame `video` presents now: the frame is drawn into a canvas of its own and
 * the stamp's rows turned back into luma, then read with the other engines' reader. Returns the
 * capture time (epoch ms), or undefined when the frame has no stamp; undefined as a whole when the
 * page cannot draw.
 */
export function stampReader(video: HTMLVideoElement): ((nowMs: number) => number | undefined) | undefined {
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) return undefined;
  return (nowMs) => {
    const { videoWidth: width, videoHeight: height } = video;
    if (width === 0 || height === 0) return undefined;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.drawImage(video, 0, 0);
    const rows = Math.min(height, Math.ceil((16 * height) / 360) + 1);
    const stamp = readStamp(lumaOf(context.getImageData(0, 0, width, rows).data), width, height);
    return stamp === undefined ? undefined : unwrapCaptureTime(stamp.captureTimeMs, nowMs);
  };
}

/** BT.601 studio-swing luma of RGBA pixels: the inverse of how Chromium shows the I420 stamp. */
function lumaOf(rgba: Uint8ClampedArray): Uint8Array {
  const luma = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < luma.length; i++) {
    const r = rgba[4 * i] ?? 0;
    const g = rgba[4 * i + 1] ?? 0;
    const b = rgba[4 * i + 2] ?? 0;
    luma[i] = 16 + ((65.738 * r + 129.057 * g + 25.064 * b) >> 8);
  }
  return luma;
}
