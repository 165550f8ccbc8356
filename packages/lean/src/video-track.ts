import type { VideoQuality } from "@livekit/protocol";
import type { InboundTrackSample, OutboundTrackSample } from "@livekit-swarm/schema";
import {
  PictureLossIndication,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  RtcpPayloadSpecificFeedback,
  useFIR,
  useNACK,
  usePLI,
  useSdesMid,
  type Extensions,
  type RTCRtpReceiver,
  type RTCRtpSender,
  type RtcpPacket,
  type RtpPacket,
} from "werift";
import { rtpHeaderBytes } from "./audio-track.js";
import { DirectRtpWriter, type DirectSendCount } from "./direct-send.js";
import { clearVideoPacket, type ClearVideoPacket, type VideoPacketSink } from "./video-bypass.js";
import type { Pacer } from "./pacer.js";
import { installNackGenerator } from "./nack-generator.js";
import { datagramArrivalMs } from "./native-receive.js";
import {
  formatOfMimeType,
  LEAN_VIDEO_CODECS,
  VIDEO_FORMATS,
  type LeanVideoCodec,
  type VideoFormat,
} from "./video-format.js";
import type { VideoInbound, VideoTotals } from "./video-inbound.js";
import type { VideoLoop } from "./video-media.js";
import {
  ABS_CAPTURE_TIME_URI,
  absCaptureTimeMs,
  VIDEO_CLOCK,
  VideoSender,
  type VideoSent,
} from "./video-send.js";

/** Payload types we offer: each codec with its RTX. A subscriber answers the server's own numbers. */
const PAYLOAD_TYPES: Readonly<Record<LeanVideoCodec, { readonly media: number; readonly rtx: number }>> = {
  vp8: { media: 96, rtx: 97 },
  h264: { media: 102, rtx: 103 },
};

/** The payload types a publisher of `codec` offers: the media one and its RTX. */
export function videoPayloadTypes(codec: LeanVideoCodec): { payloadType: number; rtxPayloadType: number } {
  const pt = PAYLOAD_TYPES[codec];
  return { payloadType: pt.media, rtxPayloadType: pt.rtx };
}

/**
 * H.264 as LiveKit's SDKs and the loop both have it: constrained baseline (42e0), level 3.1 (1f,
 * enough for 720p at 30 fps), packetization-mode 1 (STAP-A and FU-A).
 */
export const H264_FMTP = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/**
 * The video codecs with RTX and the feedback LiveKit negotiates for video (NACK, PLI, FIR), no
 * transport-cc or REMB: a lean participant runs no congestion control, and would only pay for the
 * feedback. A publisher offers its loop's codec alone (the server takes what is offered); a
 * subscriber accepts both.
 */
export function videoCodecs(codecs: readonly LeanVideoCodec[] = LEAN_VIDEO_CODECS): RTCRtpCodecParameters[] {
  return codecs.flatMap((codec) => {
    const pt = PAYLOAD_TYPES[codec];
    return [
      new RTCRtpCodecParameters({
        mimeType: VIDEO_FORMATS[codec].mimeType,
        clockRate: VIDEO_CLOCK,
        payloadType: pt.media,
        rtcpFeedback: [useNACK(), usePLI(), useFIR()],
        ...(codec === "h264" ? { parameters: H264_FMTP } : {}),
      }),
      new RTCRtpCodecParameters({
        mimeType: "video/rtx",
        clockRate: VIDEO_CLOCK,
        payloadType: pt.rtx,
        parameters: `apt=${pt.media}`,
      }),
    ];
  });
}

export function videoHeaderExtensions(): RTCRtpHeaderExtensionParameters[] {
  return [useSdesMid(), new RTCRtpHeaderExtensionParameters({ uri: ABS_CAPTURE_TIME_URI })];
}

/** What a published video track sent and what feedback it heard. */
export type SentWithFeedback = VideoSent & { nack: number; pli: number; fir: number };

/** The totals of a track before it sent anything. */
export const NOTHING_SENT: SentWithFeedback = {
  packets: 0,
  bytes: 0,
  frames: 0,
  keyframes: 0,
  restarts: 0,
  nack: 0,
  pli: 0,
  fir: 0,
};

/** A published video track, one layer or simulcast: its windows between totals, and stopping. */
export abstract class PublishedVideo {
  protected readonly stops: (() => void)[] = [];
  /** Nothing was sent before the track was published. */
  private previous = NOTHING_SENT;

  abstract get totals(): SentWithFeedback;

  /** What was sent and what feedback arrived since the previous call. */
  window(): OutboundTrackSample {
    const now = this.totals;
    const before = this.previous;
    this.previous = now;
    return {
      kind: "video",
      packets: now.packets - before.packets,
      bytes: now.bytes - before.bytes,
      nack: now.nack - before.nack,
      pli: now.pli - before.pli,
      fir: now.fir - before.fir,
      qualityLimitation: undefined,
    };
  }

  /**
   * LiveKit's dynacast (a SubscribedQualityUpdate): which of the track's qualities anyone receives.
   * What nobody receives stops being sent, as an SDK with dynacast (the native and browser engines
   * run with it) switches the encoding off; switched on again, it starts from a keyframe.
   */
  abstract setSubscribedQualities(qualities: readonly SubscribedQualityState[]): void;

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}

/** One quality of a SubscribedQualityUpdate. */
export interface SubscribedQualityState {
  readonly quality: VideoQuality;
  readonly enabled: boolean;
}

/**
 * A published video loop: a `VideoSender` on the process pacer, writing through werift's sender
 * until it has sent a packet, then past it (direct-send.ts) as werift's sender would: its SSRC and
 * offsets, each packet kept in the history werift answers NACKs from (on RTX when negotiated);
 * PLI and FIR for our SSRC restart the loop at its keyframe. FIR is read off the
 * transport, since werift routes it nowhere (its media SSRC field is 0, RFC 5104).
 */
export class VideoPublication extends PublishedVideo {
  private readonly sender: VideoSender;
  private readonly feedback = { nack: 0, pli: 0, fir: 0 };
  /** Of the packets sent, the ones written past werift's sender (direct-send.ts). */
  readonly direct: DirectSendCount = { packets: 0, atSocket: 0 };
  private readonly firSeen = new Set<number>();

  constructor(
    rtpSender: RTCRtpSender,
    loop: VideoLoop,
    pacer: Pacer,
    absCaptureTimeId: number | undefined,
    /** Withhold every Nth packet written past werift's sender: simulated uplink loss (tests). */
    lossEvery?: number,
  ) {
    super();
    const payloadType = PAYLOAD_TYPES[loop.codec].media;
    // undefined: not tried yet (werift sends until it has sent one); null: stays on werift
    let writer: DirectRtpWriter | null | undefined;
    this.sender = new VideoSender(loop, { payloadType, absCaptureTimeId }, (packet) => {
      if (writer === undefined) {
        writer = DirectRtpWriter.for(rtpSender, this.direct);
        if (writer) writer.withholdEvery = lossEvery;
      }
      if (writer?.writePacket(packet) !== true) rtpSender.sendRtp(packet).catch(() => undefined);
    });
    this.stops.push(
      rtpSender.onGenericNack.subscribe(() => {
        this.feedback.nack++;
      }).unSubscribe,
      rtpSender.dtlsTransport.onRtcp.subscribe((rtcp) => {
        this.onRtcp(rtcp, rtpSender.ssrc);
      }).unSubscribe,
      pacer.add((tick) => {
        this.sender.onTick(tick);
      }),
    );
  }

  private onRtcp(rtcp: RtcpPacket, ssrc: number): void {
    if (!(rtcp instanceof RtcpPayloadSpecificFeedback)) return;
    const { feedback } = rtcp;
    if (feedback instanceof PictureLossIndication && feedback.mediaSsrc === ssrc) {
      this.feedback.pli++;
      this.sender.requestKeyframe();
    } else if ("fir" in feedback) {
      // a repeated FIR carries the same command sequence number and asks for nothing new
      const entry = feedback.fir.find((f) => f.ssrc === ssrc);
      if (entry === undefined || this.firSeen.has(entry.sequenceNumber)) return;
      this.firSeen.clear();
      this.firSeen.add(entry.sequenceNumber);
      this.feedback.fir++;
      this.sender.requestKeyframe();
    }
  }

  get totals(): VideoSent & { nack: number; pli: number; fir: number } {
    return { ...this.sender.totals, ...this.feedback };
  }

  /** One encoding: sent while anyone receives the track at any quality. */
  setSubscribedQualities(qualities: readonly SubscribedQualityState[]): void {
    if (qualities.length === 0) return;
    this.sender.setActive(qualities.some((q) => q.enabled));
  }
}

export interface VideoReceivingEvents {
  firstPacket(): void;
  firstFrame(): void;
  /**
   * The receiver's originals now come on `ssrc`, not `from`'s (whose stream was `previous`):
   * LiveKit gave the transceiver the next publication of its kind (same mid, new SSRC and sequence
   * base). Returns the stream they count into from here on; `from`'s has ended.
   */
  nextStream(from: number, ssrc: number, previous: VideoInbound): VideoInbound;
}

/** What a received payload type carries: a video format we count, RTX, or something else. */
type PayloadKind = VideoFormat | "rtx" | "other";

/**
 * One subscribed video track, counted from the packets werift's receiver is handed before it
 * unwraps RTX, and after each SSRC's first packet from the packets the bypass takes before werift
 * sees them (video-bypass.ts): originals (a VP8 or H.264 payload type) and retransmissions (any
 * other payload type with more than the 2-byte original sequence number: RTX padding probes
 * carry nothing) are told apart there, which `onReceiveRtp` no longer can. Each payload type is
 * looked up once in the transceiver's negotiated codecs: LiveKit's subscriber offer lists every
 * codec it has, and the track's codec is the first of them (VP8), not necessarily the one the
 * publisher sends. NACKs are werift's (its NACK generator, which the bypass feeds); a PLI is
 * ours, sent when no keyframe comes (`VideoInbound.wantsKeyframe`) or when asked.
 */
export class VideoReceiving implements VideoPacketSink {
  private ssrc: number | undefined;
  /** SSRCs the receiver carried before its current one: a late packet of theirs is not counted. */
  private readonly left = new Set<number>();
  private originals = 0;
  private readonly payloadKinds = new Map<number, PayloadKind>();
  private readonly parsed = clearVideoPacket();

  constructor(
    private readonly receiver: RTCRtpReceiver,
    /** The transceiver's negotiated codecs (a re-offer may change them). */
    private readonly codecs: () => readonly RTCRtpCodecParameters[],
    /** The stream the current SSRC's packets count into. */
    public inbound: VideoInbound,
    private readonly events: VideoReceivingEvents,
    /** Drop every Nth original packet on arrival, before werift sees it: simulated network loss. */
    private readonly dropEvery?: number,
    /** Called with each SSRC once werift has handled a packet of it: its later packets may bypass werift. */
    bypass?: (ssrc: number, sink: VideoPacketSink) => void,
  ) {
    installNackGenerator(receiver);
    const handle = receiver.handleRtpBySsrc;
    const seen = new Set<number>();
    receiver.handleRtpBySsrc = (packet, extensions) => {
      // the kernel's arrival when the native thread read the datagram (werift handles it in the
      // socket's message event), else now
      if (!this.count(this.fromWerift(packet, extensions), datagramArrivalMs())) return;
      handle(packet, extensions);
      const { ssrc } = packet.header;
      if (bypass === undefined || seen.has(ssrc)) return;
      seen.add(ssrc);
      bypass(ssrc, this);
    };
    receiver.onPacketLost.subscribe(() => {
      this.inbound.nack++;
    });
  }

  private fromWerift(packet: RtpPacket, extensions: Extensions): ClearVideoPacket {
    const { header, payload } = packet;
    const p = this.parsed;
    p.payloadType = header.payloadType;
    p.ssrc = header.ssrc;
    p.sequenceNumber = header.sequenceNumber;
    p.timestamp = header.timestamp;
    p.marker = header.marker;
    p.payload = payload;
    p.payloadBytes = payload.length;
    p.headerBytes = rtpHeaderBytes(header);
    const capture: unknown = header.marker ? extensions[ABS_CAPTURE_TIME_URI] : undefined;
    p.absCaptureTime = capture instanceof Uint8Array ? capture : undefined;
    return p;
  }

  private kindOf(payloadType: number): PayloadKind {
    let kind = this.payloadKinds.get(payloadType);
    if (kind === undefined) {
      const codecs = this.codecs();
      const codec = codecs.find((c) => c.payloadType === payloadType);
      const mime = codec?.mimeType.toLowerCase();
      // nothing negotiated to look in: every packet is taken for an original, as the stream's first
      kind =
        codecs.length === 0
          ? this.inbound.format
          : mime === "video/rtx"
            ? "rtx"
            : (formatOfMimeType(mime) ?? "other");
      this.payloadKinds.set(payloadType, kind);
    }
    return kind;
  }

  payloadKind(payloadType: number): "media" | "rtx" | "other" {
    const kind = this.kindOf(payloadType);
    return typeof kind === "object" ? "media" : kind;
  }

  wantsWholePayload(prefix: Uint8Array): boolean {
    return this.inbound.format.wantsWholePayload(prefix);
  }

  get readsFrameStartOnly(): boolean {
    return this.inbound.format.readsFrameStartOnly;
  }

  count(packet: ClearVideoPacket, arrivalMs: number): boolean {
    const kind = this.kindOf(packet.payloadType);
    if (typeof kind === "object") {
      this.inbound.format = kind;
      if (this.dropEvery !== undefined && ++this.originals % this.dropEvery === 0) return false;
      if (this.ssrc === undefined) {
        this.ssrc = packet.ssrc;
        this.events.firstPacket();
      } else if (packet.ssrc !== this.ssrc) {
        if (this.left.has(packet.ssrc)) return true;
        // counted into the old stream, the new sequence base read as a loss of up to 3,000
        // packets (or a restart), and PLIs went to an SSRC nobody sends on
        this.left.add(this.ssrc);
        this.inbound = this.events.nextStream(this.ssrc, packet.ssrc, this.inbound);
        this.ssrc = packet.ssrc;
        this.inbound.format = kind;
      }
      let latencyS: number | undefined;
      if (packet.marker && packet.absCaptureTime !== undefined) {
        // the wall clock when the packet arrived, not now: a socket the native thread reads hands
        // its datagrams over up to a tick (20 ms) after the kernel took them (read 20 ms high:
        // delay-fidelity.e2e, lean on the native path)
        const arrived = Date.now() - (performance.now() - arrivalMs);
        const capturedMs = absCaptureTimeMs(packet.absCaptureTime, arrived);
        if (capturedMs !== undefined) latencyS = (arrived - capturedMs) / 1000;
      }
      const first = this.inbound.onOriginal(
        packet.sequenceNumber,
        packet.timestamp,
        packet.marker,
        packet.payload,
        arrivalMs,
        latencyS,
        packet.headerBytes,
        packet.payloadBytes,
      );
      if (first) this.events.firstFrame();
      if (this.inbound.wantsKeyframe(arrivalMs)) this.requestKeyframe();
    } else if (packet.payloadBytes > 2) {
      // the original sequence number the RTX payload starts with is wire overhead, not media
      if (
        this.inbound.onRetransmission(
          packet.timestamp,
          packet.marker,
          packet.payload.subarray(2),
          arrivalMs,
          packet.headerBytes + 2,
          packet.payloadBytes - 2,
        )
      )
        this.events.firstFrame();
    }
    return true;
  }

  /** Sends a PLI for the stream (once packets have named its SSRC). */
  requestKeyframe(): void {
    if (this.ssrc === undefined) return;
    this.inbound.pli++;
    this.receiver.sendRtcpPLI(this.ssrc).catch(() => undefined);
  }

  totals(): VideoTotals {
    return this.inbound.totals();
  }

  window(): InboundTrackSample {
    return this.inbound.window();
  }
}
