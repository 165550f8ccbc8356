import { RtpHeader, RtpPacket } from "werift";
import { PACKET_MS } from "./pacer.js";
import type { VideoLoop } from "./video-media.js";
import { VIDEO_FORMATS, type VideoFormat } from "./video-format.js";

export const VIDEO_CLOCK = 90_000;
/** The abs-capture-time header extension: the capture time a sender stamps on its packets, end to end. */
export const ABS_CAPTURE_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_32 = 0x1_0000_0000;

/** abs-capture-time's short form: a 64-bit NTP timestamp (32.32 fixed point seconds since 1900). */
export function absCaptureTime(epochMs: number): Buffer {
  const seconds = Math.floor(epochMs / 1000);
  const buf = Buffer.allocUnsafe(8);
  buf.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) % TWO_32, 0);
  buf.writeUInt32BE(Math.floor(((epochMs - seconds * 1000) / 1000) * TWO_32) >>> 0, 4);
  return buf;
}

/**
 * Reads abs-capture-time back as epoch ms. NTP seconds wrap in 2036; the era is the one that puts
 * the time closest to `nowMs`. Undefined for a payload shorter than the 8 bytes of the timestamp.
 */
export function absCaptureTimeMs(payload: Uint8Array, nowMs: number): number | undefined {
  if (payload.length < 8) return undefined;
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const seconds = view.readUInt32BE(0);
  const fraction = view.readUInt32BE(4);
  const inEra = (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / TWO_32) * 1000;
  const eraMs = TWO_32 * 1000;
  const eras = Math.round((nowMs - inEra) / eraMs);
  return inEra + eras * eraMs;
}

export interface VideoSenderOptions {
  readonly payloadType: number;
  /** The negotiated id of abs-capture-time; undefined: not negotiated, not written. */
  readonly absCaptureTimeId: number | undefined;
  /** Wall clock for abs-capture-time, epoch ms. */
  readonly now?: () => number;
}

export interface VideoSent {
  readonly packets: number;
  readonly bytes: number;
  readonly frames: number;
  readonly keyframes: number;
  /** Keyframe restarts asked for by PLI or FIR. */
  readonly restarts: number;
}

/**
 * Sends a pre-encoded loop on the process pacer's 20 ms ticks: a frame is due every 1000/fps ms and
 * goes out, all its packets at once as an encoder's output would, on the first tick at or after its
 * due time. The RTP timestamp is the tick's time (the frame's "capture" is its sending), so a
 * receiver's jitter measures the network, not the 20 ms grid. A keyframe request restarts the
 * loop at its keyframe, frame 0, at the next due frame. Sends through `send`, no clock of its own
 * but `now`, so every packet is testable.
 */
export class VideoSender {
  private first: number | undefined;
  private nextDueMs = 0;
  private position = 0;
  private pictureId = Math.floor(Math.random() * 0x8000);
  private sequenceNumber = Math.floor(Math.random() * 0x1_0000);
  private readonly timestampBase = Math.floor(Math.random() * TWO_32);
  private restartPending = false;
  private isActive = true;
  private readonly periodMs: number;
  private readonly now: () => number;
  private readonly format: VideoFormat;
  private sent = { packets: 0, bytes: 0, frames: 0, keyframes: 0, restarts: 0 };
  private resumePending = false;
  /** Times sending resumed after a pause. */
  resumes = 0;

  constructor(
    private readonly loop: VideoLoop,
    private readonly options: VideoSenderOptions,
    private readonly send: (packet: RtpPacket) => void,
  ) {
    this.periodMs = 1000 / loop.fps;
    this.now = options.now ?? Date.now;
    this.format = VIDEO_FORMATS[loop.codec];
  }

  get totals(): VideoSent {
    return { ...this.sent };
  }

  /** A PLI or FIR: the next frame is the loop's keyframe. */
  requestKeyframe(): void {
    this.restartPending = true;
  }

  /** False while LiveKit's dynacast says nobody receives this stream: no frame goes out. */
  get active(): boolean {
    return this.isActive;
  }

  /**
   * Pauses or resumes sending (a SubscribedQualityUpdate, as an SDK with dynacast sets the
   * encoding's `active`). Resumed, the stream starts again at the loop's keyframe on the next due
   * frame, as an encoder whose encoding is switched back on begins with one.
   */
  setActive(active: boolean): void {
    if (active === this.isActive) return;
    this.isActive = active;
    if (active) {
      this.resumePending = true;
      this.resumes++;
    }
  }

  onTick(tick: number): void {
    if (!this.isActive) return;
    this.first ??= tick;
    const elapsedMs = (tick - this.first) * PACKET_MS;
    if (this.nextDueMs > elapsedMs) return;
    // behind by more than a frame after a stall: the stream resumes late rather than rushing frames
    if (elapsedMs - this.nextDueMs >= this.periodMs) this.nextDueMs = elapsedMs;
    this.nextDueMs += this.periodMs;
    if (this.restartPending || this.resumePending) {
      if (this.restartPending) this.sent.restarts++;
      this.restartPending = false;
      this.resumePending = false;
      this.position = 0;
    }
    const frame = this.loop.frames[this.position];
    this.position = (this.position + 1) % this.loop.frames.length;
    if (frame === undefined) return;
    this.sendFrame(frame, (this.timestampBase + elapsedMs * (VIDEO_CLOCK / 1000)) % TWO_32);
  }

  private sendFrame(frame: Buffer, timestamp: number): void {
    if (this.format.isKeyframe(frame)) this.sent.keyframes++;
    const payloads = this.format.payloads(frame, this.pictureId);
    this.pictureId = (this.pictureId + 1) % 0x8000;
    const { absCaptureTimeId } = this.options;
    const captured = absCaptureTimeId === undefined ? undefined : absCaptureTime(this.now());
    for (const [i, payload] of payloads.entries()) {
      const header = new RtpHeader({
        payloadType: this.options.payloadType,
        sequenceNumber: this.sequenceNumber,
        timestamp,
        marker: i === payloads.length - 1,
        extensions:
          captured === undefined || absCaptureTimeId === undefined
            ? []
            : [{ id: absCaptureTimeId, payload: captured }],
      });
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
      this.sent.packets++;
      this.sent.bytes += payload.length;
      this.send(new RtpPacket(header, payload));
    }
    this.sent.frames++;
  }
}
