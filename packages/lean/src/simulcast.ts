import { VideoLayer, VideoQuality } from "@livekit/protocol";
import {
  GenericNack,
  PictureLossIndication,
  RTP_EXTENSION_URI,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RtcpPacket,
} from "werift";
import { LeanError } from "./errors.js";
import { SendHistory } from "./send-history.js";
import { PublishedVideo, type SentWithFeedback, type SubscribedQualityState } from "./video-track.js";
import type { TickHandler } from "./pacer.js";
import { extmapId } from "./sdp.js";
import type { LeanVideoCodec } from "./video-format.js";
import { videoLoop, type VideoLoop } from "./video-media.js";
import { ABS_CAPTURE_TIME_URI, absCaptureTime, VIDEO_CLOCK, VideoSender } from "./video-send.js";

/**
 * The rids LiveKit's SDKs give simulcast layers, smallest first (q quarter, h half, f full); the
 * server maps the offer's `a=simulcast:send` list onto the AddTrackRequest's layers in this order
 * (livekit-server pkg/sfu/buffer/videolayerutils.go, RidToSpatialLayer).
 */
export const SIMULCAST_RIDS = ["q", "h", "f"] as const;
const QUALITIES = [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH] as const;
/** The heights of the loops setup makes (180p, 360p, 720p): the layers a track is cut into. */
const LADDER_HEIGHTS = [180, 360, 720] as const;

/**
 * The sizes of the layers below a `width`x`height` track, smallest first: the ladder's heights
 * under the track's, at its aspect ratio (even widths, as the encoder needs). A 720p track gets
 * 180p and 360p under it, a 360p track 180p (livekit-client cuts a camera the same way: at most
 * three layers, none above the capture), a 180p track none.
 */
export function lowerLayerSizes(width: number, height: number): { width: number; height: number }[] {
  return LADDER_HEIGHTS.filter((h) => h < height).map((h) => ({
    width: Math.round((width * h) / height / 2) * 2,
    height: h,
  }));
}

/**
 * The loops of the layers under a `width`x`height` track (`lowerLayerSizes`), at its codec and
 * frame rate and LiveKit's preset bitrate for each size; made once per machine like every loop.
 */
export async function simulcastLoops(
  top: {
    readonly width: number;
    readonly height: number;
    readonly fps: number;
    readonly codec: LeanVideoCodec;
  },
  cacheDir?: string,
  ffmpeg?: string,
): Promise<VideoLoop[]> {
  const loops: VideoLoop[] = [];
  // one after the other: each is an ffmpeg encode the first time, and this machine has two cores
  for (const size of lowerLayerSizes(top.width, top.height))
    loops.push(await videoLoop({ codec: top.codec, fps: top.fps, ...size }, cacheDir, ffmpeg));
  return loops;
}

/** The AddTrackRequest's layers of a simulcast track, smallest first: LOW, MEDIUM, HIGH in that order. */
export function simulcastVideoLayers(layers: readonly VideoLoop[]): VideoLayer[] {
  return layers.map(
    (loop, i) =>
      new VideoLayer({
        quality: QUALITIES[i] ?? VideoQuality.HIGH,
        width: loop.width,
        height: loop.height,
        bitrate: loop.bitrateKbps * 1000,
      }),
  );
}

/** The offer's `a=rid` lines (werift writes `a=simulcast:send q;h;f` from them). */
export function simulcastRids(count: number): { rid: string; direction: "send" }[] {
  return SIMULCAST_RIDS.slice(0, count).map((rid) => ({ rid, direction: "send" }));
}

/** The header extension ids the server's answer gives the publisher's video. */
export interface SimulcastExtensionIds {
  readonly mid: number;
  readonly rid: number;
  /** undefined: the answer took no repaired-rid; retransmissions are not sent. */
  readonly repairedRid: number | undefined;
  readonly absCaptureTime: number | undefined;
}

/**
 * The ids from the server's answer. The server tells the layers apart only by the mid and rid
 * extensions on the first packets of each SSRC (pion's simulcast probe), so an answer without
 * them is a negotiation failure, not a track sent to nobody.
 */
export function simulcastExtensionIds(answer: string): SimulcastExtensionIds {
  const mid = extmapId(answer, RTP_EXTENSION_URI.sdesMid, "video");
  const rid = extmapId(answer, RTP_EXTENSION_URI.sdesRTPStreamID, "video");
  if (mid === undefined || rid === undefined)
    throw new LeanError(
      "negotiation",
      "the server's answer took no mid or rid header extension: it could not tell simulcast layers apart",
    );
  return {
    mid,
    rid,
    repairedRid: extmapId(answer, RTP_EXTENSION_URI.repairedRtpStreamId, "video"),
    absCaptureTime: extmapId(answer, ABS_CAPTURE_TIME_URI, "video"),
  };
}

/** What a simulcast publication writes to and reads from: werift's DTLS transport, or a test's. */
export interface LayerTransport {
  sendRtp(payload: Buffer, header: RtpHeader): Promise<number>;
  sendRtcp(packets: RtcpPacket[]): Promise<number | undefined>;
  readonly onRtcp: { subscribe(handler: (packet: RtcpPacket) => void): { unSubscribe: () => void } };
}

export interface SimulcastSetup {
  readonly mid: string;
  readonly ids: SimulcastExtensionIds;
  readonly payloadType: number;
  readonly rtxPayloadType: number;
  /** Wall clock, epoch ms: sender reports and abs-capture-time. */
  readonly now?: () => number;
}

/**
 * Packets a layer keeps for NACKs (as bytes, send-history.ts): 1.3 s of a 720p layer's ~150
 * packets/s, werift's own depth (128) x 2.
 */
const HISTORY = 256;
/** A sender report per layer every second (RFC 3550's minimum interval is 5 s; LiveKit needs one to start). */
const SR_TICKS = 50;

function randomSsrc(taken: Set<number>): number {
  for (;;) {
    const ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
    if (ssrc !== 0 && !taken.has(ssrc)) {
      taken.add(ssrc);
      return ssrc;
    }
  }
}

/** One layer: its loop's sender, SSRC and RTX SSRC, sequence numbers, history and sender-report state. */
class Layer {
  readonly sender: VideoSender;
  private readonly history = new SendHistory(HISTORY);
  private rtxSequence = Math.floor(Math.random() * 0x1_0000);
  private packetCount = 0;
  private octetCount = 0;
  /** The first packet's wall time and RTP timestamp: the layer's clock mapping for sender reports. */
  private anchor: { readonly wallMs: number; readonly rtp: number } | undefined;
  retransmitted = 0;

  constructor(
    readonly rid: string,
    readonly ssrc: number,
    readonly rtxSsrc: number,
    loop: VideoLoop,
    private readonly setup: SimulcastSetup,
    private readonly now: () => number,
    private readonly transport: LayerTransport,
  ) {
    this.sender = new VideoSender(
      loop,
      { payloadType: setup.payloadType, absCaptureTimeId: setup.ids.absCaptureTime, now },
      (packet) => {
        this.send(packet);
      },
    );
  }

  /** The layer's mid and rid (or repaired rid) extensions before what the sender wrote. */
  private extensions(ridId: number, extra: RtpHeader["extensions"]): RtpHeader["extensions"] {
    return [
      { id: this.setup.ids.mid, payload: Buffer.from(this.setup.mid) },
      { id: ridId, payload: Buffer.from(this.rid) },
      ...extra,
    ].sort((a, b) => a.id - b.id);
  }

  private send(packet: RtpPacket): void {
    const { header, payload } = packet;
    header.ssrc = this.ssrc;
    header.extensions = this.extensions(this.setup.ids.rid, header.extensions);
    this.history.keep(header.sequenceNumber, header.serialize(header.serializeSize), payload);
    this.packetCount++;
    this.octetCount += payload.length;
    this.anchor ??= { wallMs: this.now(), rtp: header.timestamp };
    this.transport.sendRtp(payload, header).catch(() => undefined);
  }

  /** RFC 4588: the original sequence number, then the payload, on the RTX SSRC with the repaired rid. */
  retransmit(sequenceNumber: number): void {
    const repairedRid = this.setup.ids.repairedRid;
    if (repairedRid === undefined) return;
    const original = this.history.packet(sequenceNumber);
    if (original === undefined) return;
    const osn = Buffer.allocUnsafe(2);
    osn.writeUInt16BE(sequenceNumber, 0);
    const header = new RtpHeader({
      payloadType: this.setup.rtxPayloadType,
      ssrc: this.rtxSsrc,
      sequenceNumber: this.rtxSequence,
      timestamp: original.header.timestamp,
      marker: original.header.marker,
      extensions: this.extensions(repairedRid, []),
    });
    this.rtxSequence = (this.rtxSequence + 1) & 0xffff;
    this.retransmitted++;
    this.transport.sendRtp(Buffer.concat([osn, original.payload]), header).catch(() => undefined);
  }

  /**
   * The layer's sender report, once it has sent: now on the wall clock against the RTP timestamp
   * the layer's first packet maps it to. Frames' timestamps follow the pacer's tick grid, not the
   * moment a late timer sent them, so this keeps a timer's lateness out of the mapping; every layer
   * keeps its own, and LiveKit aligns layers by them when it switches a subscriber between them.
   */
  senderReport(): RtcpSrPacket | undefined {
    // a paused layer reports nothing, as libwebrtc's inactive encoding sends no RTCP
    if (this.anchor === undefined || !this.sender.active) return undefined;
    const nowMs = this.now();
    const rtpTimestamp =
      (this.anchor.rtp + Math.round((nowMs - this.anchor.wallMs) * (VIDEO_CLOCK / 1000))) >>> 0;
    return new RtcpSrPacket({
      ssrc: this.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: absCaptureTime(nowMs).readBigUInt64BE(0),
        rtpTimestamp,
        packetCount: this.packetCount >>> 0,
        octetCount: this.octetCount >>> 0,
      }),
    });
  }
}

/**
 * A camera track sent as simulcast: one pre-encoded loop per layer (smallest first), each with its
 * own SSRC, sequence numbers, RTX SSRC and retransmission history, the mid and rid extensions on
 * every packet, and a sender report per layer each second. werift's RTCRtpSender cannot do this
 * (its sendRtp writes its one SSRC over every packet), so the layers go straight to the DTLS
 * transport and the feedback for them is read off it: NACKs answered on the layer's RTX, PLI and
 * FIR restart that layer's loop at its keyframe (LiveKit asks for one when it moves a subscriber
 * to the layer).
 */
export class SimulcastPublication extends PublishedVideo {
  readonly layers: readonly Layer[];
  private readonly feedback = { nack: 0, pli: 0, fir: 0 };
  /** The last FIR command sequence number per SSRC: a repeated FIR asks for nothing new. */
  private readonly firSeen = new Map<number, number>();
  private ticks = 0;

  constructor(
    loops: readonly VideoLoop[],
    private readonly transport: LayerTransport,
    pacer: { add(handler: TickHandler): () => void },
    setup: SimulcastSetup,
  ) {
    super();
    const now = setup.now ?? Date.now;
    const taken = new Set<number>();
    this.layers = loops.map(
      (loop, i) =>
        new Layer(
          SIMULCAST_RIDS[i] ?? String(i),
          randomSsrc(taken),
          randomSsrc(taken),
          loop,
          setup,
          now,
          transport,
        ),
    );
    this.stops.push(
      transport.onRtcp.subscribe((rtcp) => {
        this.onRtcp(rtcp);
      }).unSubscribe,
      pacer.add((tick) => {
        this.onTick(tick);
      }),
    );
  }

  private onTick(tick: number): void {
    for (const layer of this.layers) layer.sender.onTick(tick);
    // the first reports right after the first frames: LiveKit writes abs-capture-time only after one
    if (this.ticks++ % SR_TICKS !== 1) return;
    const reports = this.layers.flatMap((l) => l.senderReport() ?? []);
    if (reports.length > 0) this.transport.sendRtcp(reports).catch(() => undefined);
  }

  private layerOf(ssrc: number): Layer | undefined {
    return this.layers.find((l) => l.ssrc === ssrc);
  }

  private onRtcp(rtcp: RtcpPacket): void {
    if (rtcp instanceof RtcpTransportLayerFeedback) {
      const { feedback } = rtcp;
      if (!(feedback instanceof GenericNack)) return;
      const layer = this.layerOf(feedback.mediaSourceSsrc);
      if (layer === undefined) return;
      this.feedback.nack++;
      for (const sequenceNumber of feedback.lost) layer.retransmit(sequenceNumber);
    } else if (rtcp instanceof RtcpPayloadSpecificFeedback) {
      const { feedback } = rtcp;
      if (feedback instanceof PictureLossIndication) {
        const layer = this.layerOf(feedback.mediaSsrc);
        if (layer === undefined) return;
        this.feedback.pli++;
        layer.sender.requestKeyframe();
      } else if ("fir" in feedback) {
        for (const entry of feedback.fir) {
          const layer = this.layerOf(entry.ssrc);
          if (layer === undefined || this.firSeen.get(entry.ssrc) === entry.sequenceNumber) continue;
          this.firSeen.set(entry.ssrc, entry.sequenceNumber);
          this.feedback.fir++;
          layer.sender.requestKeyframe();
        }
      }
    }
  }

  /**
   * Layers have the qualities they were announced with (LOW, MEDIUM, HIGH from the smallest): a
   * quality listed off pauses its layer, listed on resumes it from a keyframe; one not listed stays
   * as it is.
   */
  setSubscribedQualities(qualities: readonly SubscribedQualityState[]): void {
    for (const [i, layer] of this.layers.entries()) {
      const quality = QUALITIES[i] ?? VideoQuality.HIGH;
      const state = qualities.find((q) => q.quality === quality);
      if (state !== undefined) layer.sender.setActive(state.enabled);
    }
  }

  /** Every layer's packets, bytes, frames and restarts added up (as outbound-rtp counts all layers), and the feedback. */
  get totals(): SentWithFeedback {
    const sum = { packets: 0, bytes: 0, frames: 0, keyframes: 0, restarts: 0 };
    for (const { sender } of this.layers) {
      const t = sender.totals;
      sum.packets += t.packets;
      sum.bytes += t.bytes;
      sum.frames += t.frames;
      sum.keyframes += t.keyframes;
      sum.restarts += t.restarts;
    }
    return { ...sum, ...this.feedback };
  }
}
