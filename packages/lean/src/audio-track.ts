import type { OutboundTrackSample } from "@livekit-swarm/schema";
import {
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  type MediaStreamTrack,
  type RTCRtpSender,
} from "werift";
import { DirectRtpWriter, type DirectSendCount } from "./direct-send.js";
import { SAMPLES_PER_PACKET, type OpusLoop } from "./media.js";
import { NativeAudioStream, type PublisherSocketCount } from "./native-audio.js";
import { leanMedia, nativeMediaWanted, type LeanMediaAddon } from "./native-media.js";
import type { Pacer } from "./pacer.js";
import type { InboundStream } from "./inbound.js";
import type { ReceivedStreams } from "./received.js";

export const OPUS_PT = 111;
export const OPUS_CLOCK = 48_000;

export function audioCodecs(): RTCRtpCodecParameters[] {
  return [
    new RTCRtpCodecParameters({
      mimeType: "audio/opus",
      clockRate: OPUS_CLOCK,
      channels: 2,
      payloadType: OPUS_PT,
      parameters: "minptime=10;useinbandfec=1",
    }),
  ];
}

/**
 * The Opus loop a participant publishes, with counters that live as long as the participant: a full
 * rejoin starts a new loop on a new sender and the counters carry on. Packets go through werift's
 * sender until it has sent one, then past it (direct-send.ts) when the stream allows, and with
 * LKSWARM_LEAN_NATIVE=1 on to the native media path (native-audio.ts), which then sends them
 * without this process's JavaScript waking for them.
 */
export class AudioSending {
  private sent = { packets: 0, bytes: 0 };
  /** Of `sent`, the packets earlier native streams sent (the current one's are its own). */
  private nativeSentBefore = 0;
  private sentAtLastWindow = { packets: 0, bytes: 0 };
  /** Of the packets sent, the ones written past werift's sender. */
  readonly direct: DirectSendCount = { packets: 0, atSocket: 0 };
  /** The stream the native media path carries now, if any. */
  private native: NativeAudioStream | undefined;
  /** Why the stream stays off the native media path, once that is settled (tests, logs). */
  nativeRefused: string | undefined;
  /** What the native thread did on the publisher's socket over the streams that asked it to read it. */
  readonly socket: PublisherSocketCount = {};

  constructor(private readonly nativeWanted = nativeMediaWanted()) {}

  /**
   * Sends the loop on `sender` at the pacer's ticks until the returned stop is called. `readSocket`:
   * on the native path, its thread reads the sender's socket too (native-audio.ts says when not to).
   */
  start(sender: RTCRtpSender, loop: OpusLoop, pacer: Pacer, readSocket = false): () => void {
    // anchored on the first tick this handler sees (the pacer restarts its count when it idles),
    // so that the next packet is `resumeAt`'s: 0 at the start, the native thread's next one when
    // the stream comes back from it
    let first: number | undefined;
    let resumeAt = 0;
    // random bases, as RFC 3550 asks; werift adds its own offsets on top
    let sequenceNumber = Math.floor(Math.random() * 0x1_0000);
    const timestampBase = Math.floor(Math.random() * 0x1_0000_0000);
    const { packets } = loop;
    // undefined: not tried yet; null: this stream stays on werift
    let writer: DirectRtpWriter | null | undefined;
    // the addon once loaded (it builds on first use, off this tick); a string: why not
    let addon: LeanMediaAddon | string | undefined = this.nativeWanted ? undefined : "not asked for";
    let stopped = false;
    let stopTicks: () => void = () => undefined;
    const onTick = (tick: number): void => {
      first ??= tick - resumeAt;
      const n = tick - first;
      const payload = packets[n % packets.length];
      if (payload === undefined) return;
      const timestamp = (timestampBase + n * SAMPLES_PER_PACKET) >>> 0;
      const marker = n === 0;
      // undefined until werift has sent a packet of the stream (its sender reports start then)
      if (writer === undefined) writer = DirectRtpWriter.for(sender, this.direct);
      if (writer && addon === undefined) {
        addon = "loading";
        void leanMedia().then((loaded) => {
          addon = loaded;
          if (typeof loaded === "string") this.nativeRefused = loaded;
        });
      }
      if (writer && typeof addon === "object") {
        const native = NativeAudioStream.start(
          addon,
          writer,
          sender,
          packets,
          {
            sequenceNumber,
            timestampBase,
            timestampStep: SAMPLES_PER_PACKET,
            tick: n,
          },
          readSocket ? this.socket : undefined,
        );
        if (typeof native === "string") {
          this.nativeRefused = native;
          addon = native;
        } else {
          // this tick's packet and every later one are the native thread's
          this.native = native;
          stopTicks();
          native.onGiveUp = (next, why) => {
            // back on the TypeScript path from the native thread's next packet
            this.nativeRefused = why;
            this.foldNative();
            addon = why;
            sequenceNumber = next.sequenceNumber;
            resumeAt = next.tick;
            first = undefined;
            if (!stopped) stopTicks = pacer.add(onTick);
          };
          return;
        }
      }
      this.sent.packets++;
      this.sent.bytes += payload.length;
      if (writer) writer.write(payload, sequenceNumber, timestamp, marker);
      else {
        const header = new RtpHeader({ payloadType: OPUS_PT, sequenceNumber, timestamp, marker });
        sender.sendRtp(new RtpPacket(header, payload)).catch(() => undefined);
      }
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
    };
    stopTicks = pacer.add(onTick);
    return () => {
      if (stopped) return;
      stopped = true;
      stopTicks();
      this.native?.stop();
      this.foldNative();
    };
  }

  /** What the native thread sent goes into the TypeScript path's counts, and the stream leaves it. */
  private foldNative(): void {
    const native = this.native;
    if (native === undefined) return;
    const { packets, bytes } = native.totals();
    this.sent = { packets: this.sent.packets + packets, bytes: this.sent.bytes + bytes };
    this.nativeSentBefore += packets;
    this.native = undefined;
  }

  /** Packets the native media path's thread sent, over the stream's life. */
  get nativePackets(): number {
    return this.nativeSentBefore + (this.native?.totals().packets ?? 0);
  }

  /** Whether the native media path carries the stream now. */
  get onNativePath(): boolean {
    return this.native !== undefined;
  }

  /** Why the native media path's thread does not send the stream's sender reports, where it does not (werift's clock does). */
  get nativeReportsRefused(): string | undefined {
    return this.native?.reportsRefused;
  }

  /** Whether the native media path's thread reads the stream's socket now. */
  get nativeReadsSocket(): boolean {
    return this.native?.readsSocket ?? false;
  }

  /** Packets and payload bytes sent since joining. */
  get totals(): { readonly packets: number; readonly bytes: number } {
    const native = this.native?.totals() ?? { packets: 0, bytes: 0 };
    return { packets: this.sent.packets + native.packets, bytes: this.sent.bytes + native.bytes };
  }

  /** What was sent since the previous window, in the engines' shape (no RTCP feedback is read). */
  window(): OutboundTrackSample {
    const sent = this.totals;
    const packets = sent.packets - this.sentAtLastWindow.packets;
    const bytes = sent.bytes - this.sentAtLastWindow.bytes;
    this.sentAtLastWindow = sent;
    return { kind: "audio", packets, bytes, nack: 0, pli: 0, fir: 0, qualityLimitation: undefined };
  }
}

/**
 * Counts a received audio track's Opus packets into `received`; packets on another payload type
 * (RTX, RED) go to `other` and are not media. `firstPacket` runs at a new track's first packet,
 * `counted` at the first packet of each stream (SSRC) this track carries, and `bypass`, when
 * given, is offered the stream's counter for the packets that follow (header-only.ts: they then
 * skip werift and this tap). Returns what stops the tap.
 */
export function tapAudio(
  track: MediaStreamTrack,
  received: ReceivedStreams,
  events: {
    firstPacket(): void;
    other(): void;
    counted(stream: InboundStream): void;
    bypass?(ssrc: number, stream: InboundStream): void;
  },
): () => void {
  let last: InboundStream | undefined;
  const { unSubscribe } = track.onReceiveRtp.subscribe((rtp) => {
    const { header } = rtp;
    if (header.payloadType !== OPUS_PT) {
      events.other();
      return;
    }
    const now = performance.now();
    const { stream, fresh } = received.stream(header.ssrc, "audio", OPUS_CLOCK);
    if (fresh) events.firstPacket();
    const first = stream !== last;
    if (first) events.counted(stream);
    last = stream;
    stream.onPacket(header.sequenceNumber, header.timestamp, rtp.payload.length, now, rtpHeaderBytes(header));
    if (first) events.bypass?.(header.ssrc, stream);
  });
  return unSubscribe;
}

/** A received packet's RTP header and padding bytes (werift sets payloadOffset when it parses one). */
export function rtpHeaderBytes(header: RtpHeader): number {
  return header.payloadOffset + header.paddingSize;
}
