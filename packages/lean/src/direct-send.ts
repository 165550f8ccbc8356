import { Socket } from "node:dgram";
import { RtpPacket, type RTCDtlsTransport, type RTCRtpSender } from "werift";
import { messageOf } from "@livekit-swarm/schema";
import {
  GcmRtpSealer,
  PROFILE_AEAD_AES_128_GCM,
  rolloverCounter,
  srtpContextOf,
  type SrtpContext,
  type SrtpState,
} from "./srtp-gcm.js";
import { SendHistory } from "./send-history.js";

/**
 * A published stream is written past werift's RTCRtpSender once werift has sent its first packet
 * (which starts the sender's RTCP reports): the RTP header is built from a per-stream template,
 * sealed with the SRTP session's own key (AES-GCM, RFC 7714) and sent on the selected pair's UDP
 * socket, in one synchronous call. werift's `sendRtp` did the same through a header-extension
 * list rebuilt and sorted per packet, an NTP time formatted through a string, four nested awaits
 * and a send that checks the address each time: 19% of a lean worker's samples at 10 audio rooms,
 * for a publisher that is one participant in five (bench/results.md, 2026-11-25).
 *
 * What werift read from its sender is kept: the packet and octet counts, the last RTP timestamp and
 * when it went (its sender reports), the sequence number and timestamp it would continue from, the
 * video packets it answers NACKs from (its 128-packet history, resent on RTX; kept here as bytes,
 * send-history.ts), the SRTP rollover counter of the SSRC (werift's own per-SSRC state, updated the
 * way werift updates it), and the transport's and the ICE pair's counters. Not written here, so
 * left to werift: a profile other than AES-GCM, header extensions werift fills per packet
 * (transport-wide sequence numbers, abs-send-time, RIDs), RED, and a selected pair that is not
 * plain UDP (TCP, TURN), which gets werift's own `sendData`.
 *
 * One thing differs on the wire: the NTP time in sender reports. werift's `ntpTime` writes the
 * decimal digits of the seconds' fraction as the binary fraction (12:00:00.5 reads as 12:00:00
 * and 5 / 2^32 s), so its reports carry whole seconds; the time here is RFC 5905's.
 */

const SDES_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid";
/** Extensions werift's sender writes per packet; a stream that negotiated one stays on werift. */
const WRITTEN_PER_PACKET = new Set([
  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
  "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
]);
/** werift's sender keeps this many packets for NACKs, indexed by sequence number modulo it. */
const RTP_HISTORY_SIZE = 128;
/** Milliseconds from the NTP epoch (1900) to the Unix one. */
const NTP_UNIX_OFFSET_MS = 2_208_988_800_000;

/** A header extension as werift negotiates it. */
interface Extension {
  readonly id: number;
  readonly payload: Buffer;
}

/**
 * A stream's RTP header with everything but the marker bit, sequence number and timestamp filled
 * in: version 2, no padding, no CSRCs, and `extensions` in the one-byte form (RFC 8285) werift
 * uses, sorted by id. Throws on an extension the one-byte form cannot carry.
 */
export function rtpHeaderTemplate(
  payloadType: number,
  ssrc: number,
  extensions: readonly Extension[],
): Buffer {
  const sorted = [...extensions].sort((a, b) => a.id - b.id);
  for (const e of sorted)
    if (e.id < 1 || e.id > 14 || e.payload.length < 1 || e.payload.length > 16)
      throw new RangeError(
        `header extension ${e.id} (${e.payload.length} bytes) does not fit the one-byte form`,
      );
  const body = sorted.reduce((n, e) => n + 1 + e.payload.length, 0);
  const words = Math.ceil(body / 4);
  const header = Buffer.alloc(12 + (sorted.length > 0 ? 4 + 4 * words : 0));
  header[0] = sorted.length > 0 ? 0x90 : 0x80;
  header[1] = payloadType & 0x7f;
  header.writeUInt32BE(ssrc >>> 0, 8);
  if (sorted.length > 0) {
    header.writeUInt16BE(0xbede, 12);
    header.writeUInt16BE(words, 14);
    let at = 16;
    for (const e of sorted) {
      header[at++] = (e.id << 4) | (e.payload.length - 1);
      e.payload.copy(header, at);
      at += e.payload.length;
    }
  }
  return header;
}

/** A copy of `template` with the marker bit, sequence number and timestamp of one packet. */
export function rtpHeader(
  template: Buffer,
  sequenceNumber: number,
  timestamp: number,
  marker: boolean,
): Buffer {
  const header = Buffer.allocUnsafe(template.length);
  template.copy(header);
  return stampRtpHeader(header, sequenceNumber, timestamp, marker);
}

/** Writes one packet's marker bit, sequence number and timestamp into a header from rtpHeaderTemplate. */
export function stampRtpHeader(
  header: Buffer,
  sequenceNumber: number,
  timestamp: number,
  marker: boolean,
): Buffer {
  if (marker) header[1] = (header[1] ?? 0) | 0x80;
  header.writeUInt16BE(sequenceNumber & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  return header;
}

/** NTP time (RFC 5905, 32.32 fixed point) at `unixMs`. */
export function ntpTimestamp(unixMs: number): bigint {
  const ms = unixMs + NTP_UNIX_OFFSET_MS;
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 0x1_0000_0000);
  return (BigInt(seconds >>> 0) << 32n) | BigInt(fraction >>> 0);
}

/** What werift's sender keeps for its reports and statistics (private in its types). */
export interface SenderState {
  readonly ssrc: number;
  readonly stopped: boolean;
  readonly codec?: { readonly payloadType: number };
  readonly mid?: string;
  readonly headerExtensions: readonly { readonly id: number; readonly uri: string }[];
  readonly redRedundantPayloadType?: number;
  readonly seqOffset: number;
  readonly timestampOffset: number;
  sequenceNumber?: number;
  timestamp?: number;
  rtpTimestamp: number;
  octetCount: number;
  packetCount: number;
  headerBytesSent: number;
  rtpCache: unknown[];
}

/** A selected ICE pair as werift keeps it. */
interface Pair {
  readonly protocol: {
    readonly type: string;
    readonly transport: { readonly closed?: boolean; readonly socket?: unknown };
    sendData(data: Buffer, addr: readonly [string, number]): Promise<void>;
  };
  readonly remoteAddr: readonly [string, number];
  packetsSent: number;
  bytesSent: number;
}
interface IceConnection {
  readonly nominated?: Pair;
  canSendApplicationData(): boolean;
}

/** What staysOnWerift says until werift has sent a packet of the stream: ask again later. */
export const NOTHING_SENT_YET = "werift has sent nothing yet";

/** Why a sender stays on werift's send path; undefined: it can leave. */
export function staysOnWerift(sender: RTCRtpSender): string | undefined {
  const s = sender as unknown as SenderState;
  if (s.codec === undefined || s.sequenceNumber === undefined) return NOTHING_SENT_YET;
  if (s.redRedundantPayloadType !== undefined) return "RED";
  const perPacket = s.headerExtensions.find((e) => WRITTEN_PER_PACKET.has(e.uri));
  if (perPacket !== undefined) return `header extension ${perPacket.uri}`;
  const context = srtpContext(sender.dtlsTransport);
  if (context === undefined) return "no SRTP session";
  if (context.profile !== PROFILE_AEAD_AES_128_GCM) return `SRTP profile ${context.profile}`;
  return undefined;
}

function srtpContext(transport: RTCDtlsTransport): SrtpContext | undefined {
  return transport.srtpStarted ? srtpContextOf(transport.srtp, "local") : undefined;
}

/** What nativeHandoff says while werift would drop a packet (DTLS, ICE consent, a stopped sender): a pause, not an end. */
export const NOT_SENDING_NOW = "not sending now (DTLS, ICE consent or a stopped sender)";

/** Where the native media path takes a stream on from DirectRtpWriter (native-audio.ts). */
export interface NativeHandoff {
  readonly pair: object;
  readonly socket: Socket;
  readonly remote: readonly [string, number];
  readonly header: Buffer;
  readonly key: Buffer;
  readonly salt: Buffer;
  /** The SRTP context the keys are from: another one later is a new handshake. */
  readonly context: SrtpContext;
  readonly roc: number;
  readonly lastSeq: number;
  readonly rocProcessed: boolean;
  readonly seqOffset: number;
  readonly timestampOffset: number;
}

/** Packets a publisher wrote past werift's sender, so a test can see the path is taken. */
export interface DirectSendCount {
  packets: number;
  /** Of those, the ones sent on a UDP socket directly (the rest through werift's pair protocol, or withheld). */
  atSocket: number;
  /** Of those, the ones counted but not sent (`withholdEvery`). */
  withheld?: number;
  /** Why the stream stays on werift's sender, once that is settled. */
  onWerift?: string;
}

/** One sender's packets written past werift's RTCRtpSender (see the top of this file). */
export class DirectRtpWriter {
  private context: SrtpContext;
  private sealer: GcmRtpSealer;
  private readonly template: Buffer;
  private readonly sender: SenderState;
  private readonly payloadType: number;
  /** The MID extension werift's sender writes on every packet, when negotiated. */
  private readonly mid: Extension | undefined;
  private cacheCleared = false;
  /** The video packets werift answers NACKs from, in place of its sender's `rtpCache` (send-history.ts). */
  private history: SendHistory | undefined;
  /** What werift's sender reads as its `rtpCache`: `history`'s view, until werift replaces it. */
  private historyView: unknown[] | undefined;
  /** Counts and keeps every Nth packet but does not send it: simulated loss on the way out (tests). */
  withholdEvery: number | undefined;
  /** When the last packet went (werift's first one, until this writes one). */
  private lastSentMs = performance.now();

  /**
   * A writer for `sender`; null when it stays on werift (the reason goes to `count.onWerift`);
   * undefined while werift has sent nothing of it.
   */
  static for(sender: RTCRtpSender, count: DirectSendCount): DirectRtpWriter | null | undefined {
    const why = staysOnWerift(sender);
    if (why === NOTHING_SENT_YET) return undefined;
    if (why === undefined)
      try {
        return new DirectRtpWriter(sender, count);
      } catch (error) {
        count.onWerift = messageOf(error);
        return null;
      }
    count.onWerift = why;
    return null;
  }

  private constructor(
    private readonly werift: RTCRtpSender,
    private readonly count: DirectSendCount,
  ) {
    const s = werift as unknown as SenderState;
    this.sender = s;
    const context = srtpContext(werift.dtlsTransport);
    if (context === undefined) throw new Error("unreachable: checked by staysOnWerift");
    this.context = context;
    this.sealer = new GcmRtpSealer(context.srtpSessionKey, context.srtpSessionSalt);
    const midId = s.headerExtensions.find((e) => e.uri === SDES_MID_URI)?.id;
    this.mid =
      s.mid !== undefined && s.mid !== "" && midId !== undefined
        ? { id: midId, payload: Buffer.from(s.mid, "ascii") }
        : undefined;
    this.payloadType = s.codec?.payloadType ?? 0;
    this.template = rtpHeaderTemplate(this.payloadType, s.ssrc, this.mid === undefined ? [] : [this.mid]);
    // werift reads this when it writes a sender report: the time the last packet went, in NTP
    Object.defineProperty(werift, "ntpTimestamp", {
      configurable: true,
      enumerable: true,
      get: () => ntpTimestamp(performance.timeOrigin + this.lastSentMs),
      // werift's own sendRtp, for a packet this does not write
      set: () => {
        this.lastSentMs = performance.now();
      },
    });
  }

  /**
   * Writes one packet that is not kept for NACKs (audio: LiveKit negotiates no NACK for Opus):
   * `sequenceNumber` and `timestamp` are the caller's, werift's offsets are added as its sender
   * would. Dropped, as werift drops it, while DTLS is not connected, the sender is stopped or ICE
   * has no consent to send.
   */
  write(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): void {
    const pair = this.pair();
    if (pair === undefined) return;
    const s = this.sender;
    if (!this.cacheCleared) {
      // what werift cached for NACKs would match a sequence number again once it wraps
      s.rtpCache = [];
      this.cacheCleared = true;
    }
    const seq = (sequenceNumber + s.seqOffset) & 0xffff;
    const ts = (timestamp + s.timestampOffset) >>> 0;
    this.send(pair, rtpHeader(this.template, seq, ts, marker), payload, seq, ts);
  }

  /**
   * Writes `rtp` as werift's sender would, and keeps it where werift answers NACKs from (its
   * 128-packet history, resent on RTX when negotiated): the sender's SSRC, payload type and offsets
   * replace the packet's, and the MID extension goes beside the packet's own (one of the packet's
   * with the same id wins, as in werift). The packet itself is not changed. False when its
   * extensions do not fit the one-byte form: werift's sender is for it.
   */
  writePacket(rtp: RtpPacket): boolean {
    const s = this.sender;
    const { header, payload } = rtp;
    const own = header.extensions;
    const mid = this.mid;
    const extensions = (
      mid === undefined || own.some((e) => e.id === mid.id) ? [...own] : [mid, ...own]
    ).sort((a, b) => a.id - b.id);
    let template: Buffer;
    try {
      template = rtpHeaderTemplate(this.payloadType, s.ssrc, extensions);
    } catch {
      return false;
    }
    const pair = this.pair();
    if (pair === undefined) return true;
    const seq = (header.sequenceNumber + s.seqOffset) & 0xffff;
    const ts = (header.timestamp + s.timestampOffset) >>> 0;
    // the template is this packet's own: stamped in place
    const bytes = stampRtpHeader(template, seq, ts, header.marker);
    this.sentHistory().keep(seq, bytes, payload);
    this.send(pair, bytes, payload, seq, ts);
    return true;
  }

  /**
   * The history werift's sender answers NACKs from, set up as its `rtpCache` with what werift kept
   * there itself (the packets it sent before this writer), and again should werift replace it
   * (a replaced track starts its own numbering).
   */
  private sentHistory(): SendHistory {
    const s = this.sender;
    if (this.history !== undefined && s.rtpCache === this.historyView) return this.history;
    const history = this.history ?? new SendHistory(RTP_HISTORY_SIZE);
    history.clear();
    for (const packet of s.rtpCache) if (packet instanceof RtpPacket) history.keepPacket(packet);
    this.history = history;
    this.historyView = history.asWeriftCache();
    s.rtpCache = this.historyView;
    return history;
  }

  /**
   * The selected pair a packet goes on now, with `context` and `sealer` those of the transport's
   * current SRTP session; undefined: werift would drop it (see write).
   */
  private pair(): Pair | undefined {
    const transport = this.werift.dtlsTransport;
    if (this.sender.stopped || transport.state !== "connected") return undefined;
    const connection = transport.iceTransport.connection as unknown as IceConnection;
    const pair = connection.nominated;
    if (pair === undefined || !connection.canSendApplicationData()) return undefined;
    const context = srtpContext(transport);
    if (context === undefined) return undefined;
    if (context !== this.context) {
      // a new DTLS handshake: new keys (werift's per-SSRC state is the new context's)
      this.context = context;
      this.sealer = new GcmRtpSealer(context.srtpSessionKey, context.srtpSessionSalt);
    }
    return pair;
  }

  /**
   * What the native media path needs to carry this stream on from here (native-audio.ts): the
   * selected pair's UDP socket and remote, the header template, the SRTP keys and the SSRC's
   * rollover state in werift's context, and werift's offsets; or why it cannot now (werift would
   * drop the packet, or the pair is not a plain UDP socket to an IPv4 address).
   */
  nativeHandoff(): NativeHandoff | string {
    const pair = this.pair();
    if (pair === undefined) return NOT_SENDING_NOW;
    if (this.withholdEvery !== undefined) return "a test withholds packets";
    const { protocol, remoteAddr } = pair;
    const socket = protocol.type === "stun" ? protocol.transport.socket : undefined;
    if (!(socket instanceof Socket) || protocol.transport.closed === true)
      return "the pair is not a UDP socket";
    const s = this.sender;
    const state = this.context.getSrtpSsrcState(s.ssrc) as SrtpState & {
      lastSequenceNumber?: number;
      rolloverHasProcessed?: boolean;
    };
    return {
      pair,
      socket,
      remote: remoteAddr,
      header: this.template,
      key: this.context.srtpSessionKey,
      salt: this.context.srtpSessionSalt,
      context: this.context,
      roc: state.rolloverCounter,
      lastSeq: state.lastSequenceNumber ?? 0,
      rocProcessed: state.rolloverHasProcessed === true,
      seqOffset: s.seqOffset,
      timestampOffset: s.timestampOffset,
    };
  }

  private send(pair: Pair, header: Buffer, payload: Buffer, seq: number, ts: number): void {
    const { context } = this;
    const transport = this.werift.dtlsTransport;
    const s = this.sender;
    const [sealed, tag] = this.sealer.seal(header, payload, rolloverCounter(context, s.ssrc, seq));
    const bytes = header.length + sealed.length + tag.length;
    s.sequenceNumber = seq;
    s.timestamp = ts;
    s.rtpTimestamp = ts;
    s.octetCount += payload.length;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.headerBytesSent += header.length;
    this.lastSentMs = performance.now();
    transport.bytesSent += bytes;
    transport.packetsSent++;
    pair.packetsSent++;
    pair.bytesSent += bytes;
    this.count.packets++;
    if (this.withholdEvery !== undefined && this.count.packets % this.withholdEvery === 0) {
      this.count.withheld = (this.count.withheld ?? 0) + 1;
      return;
    }
    const { protocol, remoteAddr } = pair;
    const socket = protocol.type === "stun" ? protocol.transport.socket : undefined;
    if (socket instanceof Socket) {
      if (protocol.transport.closed === true) return;
      try {
        socket.send([header, sealed, tag], remoteAddr[1], remoteAddr[0]);
      } catch {
        // a socket closed under the pair throws at once; werift's async send swallows the same
        return;
      }
      this.count.atSocket++;
    } else {
      protocol.sendData(Buffer.concat([header, sealed, tag], bytes), remoteAddr).catch(() => undefined);
    }
  }
}
