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
import type { Pacer } from "./pacer.js";
import type { OpusSink } from "./header-only.js";
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
 * sender until it has sent one, then past it (direct-send.ts) when the stream allows.
 */
export class AudioSending {
  private sent = { packets: 0, bytes: 0 };
  private sentAtLastWindow = { packets: 0, bytes: 0 };
  /** Of the packets sent, the ones written past werift's sender. */
  readonly direct: DirectSendCount = { packets: 0, atSocket: 0 };

  /** Sends the loop on `sender` at the pacer's ticks until the returned stop is called. */
  start(sender: RTCRtpSender, loop: OpusLoop, pacer: Pacer): () => void {
    // anchored on the first tick this handler sees: the pacer restarts its count when it idles
    let first: number | undefined;
    // random bases, as RFC 3550 asks; werift adds its own offsets on top
    let sequenceNumber = Math.floor(Math.random() * 0x1_0000);
    const timestampBase = Math.floor(Math.random() * 0x1_0000_0000);
    const { packets } = loop;
    // undefined: not tried yet; null: this stream stays on werift
    let writer: DirectRtpWriter | null | undefined;
    return pacer.add((tick) => {
      first ??= tick;
      const n = tick - first;
      const payload = packets[n % packets.length];
      if (payload === undefined) return;
      const timestamp = (timestampBase + n * SAMPLES_PER_PACKET) >>> 0;
      const marker = n === 0;
      this.sent.packets++;
      this.sent.bytes += payload.length;
      // undefined until werift has sent a packet of the stream (its sender reports start then)
      if (writer === undefined) writer = DirectRtpWriter.for(sender, this.direct);
      if (writer) writer.write(payload, sequenceNumber, timestamp, marker);
      else {
        const header = new RtpHeader({ payloadType: OPUS_PT, sequenceNumber, timestamp, marker });
        sender.sendRtp(new RtpPacket(header, payload)).catch(() => undefined);
      }
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
    });
  }

  /** Packets and payload bytes sent since joining. */
  get totals(): { readonly packets: number; readonly bytes: number } {
    return { ...this.sent };
  }

  /** What was sent since the previous window, in the engines' shape (no RTCP feedback is read). */
  window(): OutboundTrackSample {
    const packets = this.sent.packets - this.sentAtLastWindow.packets;
    const bytes = this.sent.bytes - this.sentAtLastWindow.bytes;
    this.sentAtLastWindow = { ...this.sent };
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
    bypass?(ssrc: number, sink: OpusSink): void;
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
    if (first)
      events.bypass?.(header.ssrc, (sequenceNumber, rtpTimestamp, payloadBytes, headerBytes, arrivalMs) => {
        stream.onPacket(sequenceNumber, rtpTimestamp, payloadBytes, arrivalMs, headerBytes);
      });
  });
  return unSubscribe;
}

/** A received packet's RTP header and padding bytes (werift sets payloadOffset when it parses one). */
export function rtpHeaderBytes(header: RtpHeader): number {
  return header.payloadOffset + header.paddingSize;
}
