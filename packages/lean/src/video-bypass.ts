import type { RTCPeerConnection, RTCRtpReceiver, SrtpSession } from "werift";
import { rtpHeaderSize, type BypassedStream } from "./header-only.js";
import { addToStatistics, arrivalSeconds, type ReceiverStreamStatistics } from "./stream-statistics.js";
import { gcmReceiving, OPEN_PREFIX_BYTES, rolloverCounter, rolloverMatters } from "./srtp-gcm.js";
import { datagramArrivalMs, nativeArrivalMs } from "./native-receive.js";

/**
 * Received video after a stream's first packet, without werift. A lean subscriber reads from a
 * video packet its RTP header (in clear under SRTP), the abs-capture-time extension on a frame's
 * last packet, and from the payload only what says where a keyframe starts and what size it
 * declares: VP8's payload descriptor and frame tag, which only a frame's first packet carries,
 * and H.264's NAL unit header, which every packet does (the first 64 bytes of those packets, and
 * every RTX payload; all of a packet that may carry an SPS, H.264's STAP-A or SPS, once per
 * keyframe). So those bytes alone are decrypted (AES-GCM's counter mode, srtp-gcm.ts), and no
 * packet is authenticated: a packet forged or damaged on the way is counted as it came, as
 * received Opus is (header-only.ts). werift's receive path did per packet: a STUN check, the
 * whole packet authenticated and decrypted with a fresh cipher object, an RTP parse that reads
 * bits through strings, routing, extension parsing by URI, a copy and up to four events, on each
 * of a room's four subscribers for every packet its publisher sends.
 *
 * Kept from werift, per packet: the receiver statistics its RTCP receiver reports carry (the
 * RTX stream's too), its NACK generator (fed the original sequence number of a retransmission,
 * which clears the loss), the SSRC's SRTP rollover counter, the transport's counters. What stays
 * on werift: a packet with padding (its length is in the encrypted last byte), a payload type
 * that is neither the format's nor RTX, an SRTP profile other than AES-GCM, and the first packet
 * of each SSRC (which binds it to the track and starts the receiver's reports).
 */

/** The payload of a packet whose payload is not read. */
const NOTHING = Buffer.alloc(0);

/** A received video packet as the counting reads it, from werift's parse or from the bypass. */
export interface ClearVideoPacket {
  payloadType: number;
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  /**
   * The payload in clear: all of it from werift; from the bypass its first `OPEN_PREFIX_BYTES`,
   * or all of it where `VideoPacketSink.wantsWholePayload` asked, or none of it (an original that
   * cannot start a frame, where the sink reads frame starts only).
   */
  payload: Uint8Array;
  /** The payload's length on the wire (SRTP's tag not included). */
  payloadBytes: number;
  /** The RTP header with its CSRCs, extensions and padding. */
  headerBytes: number;
  /** The abs-capture-time extension's data, when the packet carries it. */
  absCaptureTime: Uint8Array | undefined;
}

/** A ClearVideoPacket to fill in place, packet after packet. */
export function clearVideoPacket(): ClearVideoPacket {
  return {
    payloadType: 0,
    ssrc: 0,
    sequenceNumber: 0,
    timestamp: 0,
    marker: false,
    payload: NOTHING,
    payloadBytes: 0,
    headerBytes: 0,
    absCaptureTime: undefined,
  };
}

/** Where a bypassed video packet is counted (VideoReceiving). */
export interface VideoPacketSink {
  /** Whether a payload type carries the stream's media ("media"), its retransmissions ("rtx"), or neither. */
  payloadKind(payloadType: number): "media" | "rtx" | "other";
  /** Whether a media payload's first bytes say the rest is needed too (a possible keyframe's size). */
  wantsWholePayload(prefix: Uint8Array): boolean;
  /** Whether only a frame's first packet says anything of keyframes (VP8): other originals' payloads stay unread. */
  readonly readsFrameStartOnly: boolean;
  /** Counts the packet; false when simulated loss drops it, which werift then never sees. */
  count(packet: ClearVideoPacket, arrivalMs: number): boolean;
}

/**
 * The data of header extension `id` in an RTP packet whose header (CSRCs included) ends its fixed
 * part at 12 + 4 * CC; undefined without it. Reads the one-byte and two-byte forms (RFC 8285).
 */
export function headerExtension(packet: Uint8Array, id: number): Uint8Array | undefined {
  const first = packet[0] ?? 0;
  if ((first & 0x10) === 0) return undefined;
  const start = 12 + 4 * (first & 0x0f);
  if (packet.length < start + 4) return undefined;
  const profile = ((packet[start] ?? 0) << 8) | (packet[start + 1] ?? 0);
  const end = Math.min(
    packet.length,
    start + 4 + 4 * (((packet[start + 2] ?? 0) << 8) | (packet[start + 3] ?? 0)),
  );
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return undefined;
  let at = start + 4;
  while (at < end) {
    const b = packet[at] ?? 0;
    if (b === 0) {
      at++; // padding
      continue;
    }
    let elementId: number;
    let length: number;
    if (oneByte) {
      elementId = b >> 4;
      if (elementId === 15) return undefined; // reserved: stop reading
      length = (b & 0x0f) + 1;
      at += 1;
    } else {
      elementId = b;
      length = packet[at + 1] ?? 0;
      at += 2;
    }
    if (at + length > end) return undefined;
    if (elementId === id) return packet.subarray(at, at + length);
    at += length;
  }
  return undefined;
}

/** werift's NACK generator of a receiver (private in its types): it reads a packet's sequence number and SSRC. */
interface NackGenerator {
  addPacket(packet: { header: { sequenceNumber: number; ssrc: number } }): void;
}

/** The parts of werift's receiver a bypassed video stream uses (private in its types). */
interface ReceiverState {
  readonly nack?: NackGenerator;
  readonly nackEnabled?: unknown;
  readonly ssrcByRtx?: Record<number, number>;
}

/** The id `pc` negotiated for header extension `uri` on what it receives (werift's router keeps the map, privately). */
export function receivedExtensionId(pc: RTCPeerConnection, uri: string): number | undefined {
  const map = (pc as unknown as { router?: { extIdUriMap?: Record<number, string> } }).router?.extIdUriMap;
  if (map === undefined) return undefined;
  for (const [id, u] of Object.entries(map)) if (u === uri) return Number(id);
  return undefined;
}

/** What a bypassed video stream needs besides werift's statistics for its SSRC. */
export interface VideoBypassOptions {
  readonly ssrc: number;
  readonly receiver: RTCRtpReceiver;
  readonly statistics: ReceiverStreamStatistics;
  readonly sink: VideoPacketSink;
  /** The negotiated id of abs-capture-time on the subscriber PeerConnection, if negotiated. */
  readonly absCaptureTimeId: number | undefined;
}

/** One received video SSRC (media or its RTX) past werift; see the top of this file. */
export class VideoBypass implements BypassedStream {
  readonly kind = "video";
  readonly receiver: RTCRtpReceiver;
  private readonly ssrc: number;
  private readonly statistics: ReceiverStreamStatistics;
  private readonly sink: VideoPacketSink;
  private readonly absCaptureTimeId: number | undefined;
  /** werift's NACK generator when NACK was negotiated, as werift's handleRTP feeds it. */
  private readonly nack: NackGenerator | undefined;
  /** For an RTX SSRC: the media SSRC it repairs. */
  private readonly repairs: number | undefined;
  private readonly clear = clearVideoPacket();
  /** The timestamp of the frame packets last arrived for, and the earliest sequence number seen of it. */
  private frameTimestamp: number | undefined;
  private frameFirstSeq = 0;
  private readonly forNack = { header: { sequenceNumber: 0, ssrc: 0 } };

  constructor(options: VideoBypassOptions) {
    ({
      ssrc: this.ssrc,
      receiver: this.receiver,
      statistics: this.statistics,
      sink: this.sink,
      absCaptureTimeId: this.absCaptureTimeId,
    } = options);
    const state = options.receiver as unknown as ReceiverState;
    this.nack = state.nackEnabled !== undefined ? state.nack : undefined;
    this.repairs = state.ssrcByRtx?.[options.ssrc];
  }

  /**
   * Whether an original may be its frame's first packet: the first of its timestamp to arrive, or
   * one that arrived after a later packet of the same frame (reordered). A frame whose first
   * packet is lost is read from its retransmission (RTX payloads are always read).
   */
  private mayStartFrame(timestamp: number, sequenceNumber: number): boolean {
    if (timestamp !== this.frameTimestamp) {
      this.frameTimestamp = timestamp;
      this.frameFirstSeq = sequenceNumber;
      return true;
    }
    // earlier in sequence space than every packet of the frame seen so far (modulo 2^16)
    if (((this.frameFirstSeq - sequenceNumber) & 0xffff) < 0x8000 && sequenceNumber !== this.frameFirstSeq) {
      this.frameFirstSeq = sequenceNumber;
      return true;
    }
    return false;
  }

  take(data: Buffer, tagBytes: number, srtp: SrtpSession): boolean {
    const header = rtpHeaderSize(data);
    const length = data.length - tagBytes;
    if (header < 0 || length < header) return false;
    const payloadType = (data[1] ?? 0) & 0x7f;
    const kind = this.sink.payloadKind(payloadType);
    if (kind === "other" || (kind === "rtx") !== (this.repairs !== undefined)) return false;
    const session = gcmReceiving(srtp);
    if (session === undefined) return false;
    const sequenceNumber = data.readUInt16BE(2);
    const payloadBytes = length - header;
    const timestamp = data.readUInt32BE(4);
    let payload: Buffer = NOTHING;
    if (kind === "rtx" || !this.sink.readsFrameStartOnly || this.mayStartFrame(timestamp, sequenceNumber)) {
      const roc = rolloverCounter(session.context, this.ssrc, sequenceNumber);
      payload = session.opener.open(data, header, Math.min(payloadBytes, OPEN_PREFIX_BYTES), roc);
      const media = kind === "rtx" ? payload.subarray(2) : payload;
      if (payloadBytes > payload.length && this.sink.wantsWholePayload(media))
        payload = session.opener.open(data, header, payloadBytes, roc);
    } else if (rolloverMatters(sequenceNumber)) {
      // unread, but werift's counter must follow the SSRC's sequence numbers (srtp-gcm.ts)
      rolloverCounter(session.context, this.ssrc, sequenceNumber);
    }
    const marker = ((data[1] ?? 0) & 0x80) !== 0;
    const { clear } = this;
    clear.payloadType = payloadType;
    clear.ssrc = this.ssrc;
    clear.sequenceNumber = sequenceNumber;
    clear.timestamp = timestamp;
    clear.marker = marker;
    clear.payload = payload;
    clear.payloadBytes = payloadBytes;
    clear.headerBytes = header;
    clear.absCaptureTime =
      marker && this.absCaptureTimeId !== undefined
        ? headerExtension(data, this.absCaptureTimeId)
        : undefined;
    // a packet simulated loss drops is one werift never saw: no statistics, no NACK bookkeeping
    const arrivalMs = datagramArrivalMs();
    if (!this.sink.count(clear, arrivalMs)) return true;
    // werift's jitter from the kernel's arrival when the native thread read the packet (else its own clock)
    addToStatistics(
      this.statistics,
      sequenceNumber,
      timestamp,
      header,
      payloadBytes,
      arrivalSeconds(nativeArrivalMs()),
    );
    if (this.nack === undefined) return true;
    const n = this.forNack.header;
    if (this.repairs === undefined) {
      n.sequenceNumber = sequenceNumber;
      n.ssrc = this.ssrc;
    } else {
      // werift drops an RTX packet too short for its original sequence number after counting it
      if (payloadBytes < 2 || payload.length < 2) return true;
      n.sequenceNumber = (payload[0] ?? 0) * 256 + (payload[1] ?? 0);
      n.ssrc = this.repairs;
    }
    this.nack.addPacket(this.forNack);
    return true;
  }
}
