import { Socket } from "node:dgram";
import type { RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver, SrtpSession } from "werift";
import {
  everyCheck,
  leanMedia,
  nativeMediaWanted,
  sendsDirect,
  type LeanMediaAddon,
} from "./native-media.js";
import type { InboundStream } from "./inbound.js";
import { NativeStreamCounts } from "./native-counts.js";
import type { IceConnection } from "./binding.js";
import { NativeKeepalives } from "./native-keepalives.js";
import { nativeArrivalMs, nativeReceiving, type NativeReceiving } from "./native-receive.js";
import { srtcpByAddon } from "./native-srtcp.js";
import { NativeReports } from "./native-reports.js";
import { tapSocket, udpSockets } from "./socket-tap.js";
import { rolloverCounter, rolloverMatters, srtpContextOf } from "./srtp-gcm.js";
import { addToStatistics, arrivalSeconds, type ReceiverStreamStatistics } from "./stream-statistics.js";

/**
 * Received Opus packets are counted from their RTP header alone (sequence number, timestamp, SSRC,
 * payload size), and SRTP leaves that header in clear. Authenticating and decrypting each one was
 * a fifth of a lean worker's CPU at 30 audio rooms (packages/lean/README.md, "Where the time
 * goes"), so on a subscriber PeerConnection they skip both: the packet goes on through werift
 * with its payload still encrypted and the authentication tag cut off, which leaves the payload's
 * length what it was in clear (AES-CM and AES-GCM do not pad). What that gives up: a packet
 * forged or damaged on the way is counted as received, and nothing checks that the payload is
 * the publisher's Opus. Video goes through werift's decryption until its stream bypasses werift
 * (video-bypass.ts, which decrypts only the payload bytes it reads).
 *
 * Once a stream's first packet has gone through werift (which binds its SSRC to the track and
 * starts the receiver's RTCP reports), the stream's later packets do not enter werift at all: the
 * UDP socket (or, on a socket gathered later, the ICE connection's data event) hands them to the stream's
 * sink, which counts them, and to the receiver's own statistics, from which werift keeps writing
 * the receiver reports LiveKit reads; werift's SRTP rollover counter for the SSRC is advanced as
 * its decryption would. What werift did per packet after that (STUN check, RTP
 * parse, routing, a copy of the packet, up to four events) was 28-34% of a lean audio run's CPU
 * (bench/results.md, 2026-11-25).
 */

/** The authentication tag each SRTP protection profile appends (RFC 3711, RFC 7714). */
const AUTH_TAG_BYTES: ReadonlyMap<number, number> = new Map([
  [0x0001, 10], // SRTP_AES128_CM_HMAC_SHA1_80
  [0x0007, 16], // SRTP_AEAD_AES_128_GCM
]);

export function authTagBytes(profile: number): number | undefined {
  return AUTH_TAG_BYTES.get(profile);
}

/**
 * The size of an RTP packet's header (fixed part, CSRCs, extension) when it can be read
 * header-only; -1 when it must be decrypted: not RTP version 2, padding (its count is the
 * payload's encrypted last byte), another payload type, or too short for its own header.
 */
export function headerOnlySize(packet: Buffer, payloadTypes: ReadonlySet<number>): number {
  return payloadTypes.has((packet[1] ?? 0) & 0x7f) ? rtpHeaderSize(packet) : -1;
}

/**
 * The size of an RTP packet's header (fixed part, CSRCs, extension); -1 when it is not RTP
 * version 2 without padding, or too short for its own header.
 */
export function rtpHeaderSize(packet: Buffer): number {
  if (packet.length < 12) return -1;
  const first = packet[0] ?? 0;
  if (first >> 6 !== 2 || (first & 0x20) !== 0) return -1;
  let header = 12 + 4 * (first & 0x0f);
  if ((first & 0x10) !== 0) {
    if (packet.length < header + 4) return -1;
    header += 4 + 4 * packet.readUInt16BE(header + 2);
  }
  return packet.length < header ? -1 : header;
}

/**
 * The length of an SRTP packet without its tag, when it can be read header-only; undefined when it
 * must be decrypted (see headerOnlySize), or when the header reaches into the tag.
 */
export function headerOnlyLength(
  packet: Buffer,
  tagBytes: number,
  payloadTypes: ReadonlySet<number>,
): number | undefined {
  const header = headerOnlySize(packet, payloadTypes);
  if (header < 0) return undefined;
  const length = packet.length - tagBytes;
  return length >= header ? length : undefined;
}

/** RTCP shares the port (RFC 5761): its packet types 192-223 sit where RTP's marker bit and payload type are. */
export function isRtcpPacket(packet: Buffer): boolean {
  const type = packet[1] ?? 0;
  return type >= 192 && type <= 223;
}

interface TransceiverCodecs {
  readonly kind: string;
  readonly codecs: readonly { readonly mimeType: string; readonly payloadType: number }[];
}

/**
 * The Opus payload types negotiated on audio transceivers, less any a video transceiver also uses
 * (bundled m-lines share one payload-type space; a clash is decrypted, never guessed).
 */
export function opusPayloadTypes(transceivers: readonly TransceiverCodecs[]): Set<number> {
  const opus = new Set<number>();
  const video = new Set<number>();
  for (const t of transceivers)
    for (const c of t.codecs) {
      if (t.kind === "video") video.add(c.payloadType);
      else if (t.kind === "audio" && c.mimeType.toLowerCase() === "audio/opus") opus.add(c.payloadType);
    }
  for (const pt of video) opus.delete(pt);
  return opus;
}

/** Packets a subscriber PeerConnection read header-only, so a test can see the path is taken. */
export interface HeaderOnlyCount {
  /** Opus packets, not authenticated or decrypted. */
  packets: number;
  /** Of those, the ones counted before werift saw them (every packet of a stream after its first). */
  bypassed: number;
  /** Of those, the ones taken as the UDP socket delivered them (the rest at the ICE data event). */
  atSocket: number;
  /**
   * Of those, the ones the native media path's thread read (LKSWARM_LEAN_NATIVE=1,
   * native-receive.ts): no per-datagram wake of this thread, no Buffer.
   */
  native?: number;
  /** Why the native media path does not read the subscriber's socket, once that is settled. */
  nativeRefused?: string;
  /** Why the native thread does not send a receiver's reports (native-reports.ts), when it does not. */
  nativeReportsRefused?: string;
  /** The server's keepalives the native thread answered (native-keepalives.ts), not binding.ts. */
  keepalives?: number;
  /**
   * Video packets (originals and RTX) counted before werift saw them: header in clear, only the
   * payload's first bytes decrypted (video-bypass.ts), not authenticated.
   */
  video: number;
  /** Of those, the ones taken as the UDP socket delivered them. */
  videoAtSocket: number;
  /**
   * Datagrams carrying one of the bypassed streams' SSRCs from another address than the selected
   * pair's remote: not the server's, dropped uncounted (the sockets listen on every local address).
   */
  foreign: number;
}

/** A stream whose packets no longer enter werift. */
export interface BypassedStream {
  readonly kind: "audio" | "video";
  readonly receiver: RTCRtpReceiver;
  /**
   * Counts an SRTP packet of the stream (its authentication tag `tagBytes` long, `srtp` the
   * session it came on) and returns true; false hands it to werift as it came.
   */
  take(data: Buffer, tagBytes: number, srtp: SrtpSession): boolean;
  /**
   * Counts a packet from its header's fields (audio only): `kernelArrivalMs` is when the kernel
   * took it, when the native thread read it (else now is the arrival).
   */
  counted?(
    sequenceNumber: number,
    timestamp: number,
    headerBytes: number,
    payloadBytes: number,
    kernelArrivalMs: number | undefined,
    srtp: SrtpSession,
  ): void;
  /** An audio stream's counters: its own and werift's receiver statistics (the native thread may count into them). */
  readonly counters?: { readonly inbound: InboundStream; readonly statistics: ReceiverStreamStatistics };
  /** While the native thread counts the stream (native-counts.ts): a packet taken here goes to it. */
  native?: NativeStreamCounts;
}

/** A subscriber PeerConnection's header-only path: streams register to bypass werift after their first packet. */
export interface ReceiveFastPath {
  /**
   * Counts the SSRC's later packets into `stream` before werift sees them, keeping `receiver`'s
   * RTCP statistics. Does nothing when the receiver has no statistics for it yet or needs every
   * packet (transport-wide congestion control).
   */
  register(ssrc: number, receiver: RTCRtpReceiver, stream: InboundStream): void;
  /**
   * Hands the SSRC's later packets to `stream` before werift sees them, once werift has counted
   * one (its receiver statistics exist); not for a receiver that needs every packet (TWCC).
   * `stream` is built from those statistics, or is undefined when it cannot be.
   */
  registerStream(
    ssrc: number,
    receiver: RTCRtpReceiver,
    stream: (statistics: ReceiverStreamStatistics) => BypassedStream | undefined,
  ): void;
}

const fastPaths = new WeakMap<RTCPeerConnection, ReceiveFastPath>();

/** The fast path readOpusHeadersOnly set up on `pc`, if any. */
export function receiveFastPath(pc: RTCPeerConnection): ReceiveFastPath | undefined {
  return fastPaths.get(pc);
}

/** werift's per-SSRC statistics of a receiver (private in its types). */
function receiverStatistics(receiver: RTCRtpReceiver, ssrc: number): ReceiverStreamStatistics | undefined {
  const streams = (receiver as unknown as { remoteStreams?: Record<number, ReceiverStreamStatistics> })
    .remoteStreams;
  return streams?.[ssrc];
}

/** Makes `pc` (a subscriber) read received Opus packets header-only, from its first connection on. */
export function readOpusHeadersOnly(
  pc: RTCPeerConnection,
  count: HeaderOnlyCount,
  native = nativeMediaWanted(),
): ReceiveFastPath {
  let payloadTypes = new Set<number>();
  const registered = new Map<number, BypassedStream>();
  const watched = new WeakSet<RTCDtlsTransport>();
  const wrapped = new WeakSet<SrtpSession>();
  const hooked = new WeakSet<object>();

  /** An Opus stream's packet, counted from its header alone. */
  const opusStream = (
    receiver: RTCRtpReceiver,
    statistics: ReceiverStreamStatistics,
    inbound: InboundStream,
    ssrc: number,
  ): BypassedStream => ({
    kind: "audio",
    receiver,
    counters: { inbound, statistics },
    take(data, tagBytes, srtp) {
      const header = headerOnlySize(data, payloadTypes);
      const length = data.length - tagBytes;
      if (header < 0 || length < header) return false;
      this.counted?.(
        data.readUInt16BE(2),
        data.readUInt32BE(4),
        header,
        length - header,
        nativeArrivalMs(),
        srtp,
      );
      return true;
    },
    counted(sequenceNumber, timestamp, headerBytes, payloadBytes, kernelArrivalMs, srtp) {
      // werift's rollover state for the SSRC goes on as werift's decryption would take it: a packet
      // werift decrypts later (padding, after a sequence wrap) meets the right counter
      if (rolloverMatters(sequenceNumber)) {
        const context = srtpContextOf(srtp, "remote");
        if (context !== undefined) rolloverCounter(context, ssrc, sequenceNumber);
      }
      count.packets++;
      count.bypassed++;
      // werift's jitter (its receiver reports) from the kernel's arrival in its clock's seconds
      // when the native thread read the packet; else werift's own clock, as werift takes it
      const nowS = arrivalSeconds(kernelArrivalMs) ?? Date.now() / 1000;
      const arrivalMs = kernelArrivalMs ?? performance.now();
      if (this.native?.packet(sequenceNumber, timestamp, headerBytes, payloadBytes, arrivalMs, nowS)) return;
      addToStatistics(statistics, sequenceNumber, timestamp, headerBytes, payloadBytes, nowS);
      inbound.onPacket(sequenceNumber, timestamp, payloadBytes, arrivalMs, headerBytes);
    },
  });

  /** The stream whose packets bypass werift that `data` reads as RTP of, if any. */
  const bypassedStreamOf = (data: Buffer): BypassedStream | undefined =>
    data.length < 12 || isRtcpPacket(data) ? undefined : registered.get(data.readUInt32BE(8));

  /** A packet counted here never reaches werift; undefined hands it on. */
  const bypass = (data: Buffer, tagBytes: number, srtp: SrtpSession): "audio" | "video" | undefined => {
    const stream = bypassedStreamOf(data);
    if (stream === undefined || stream.receiver.stopped || !stream.take(data, tagBytes, srtp))
      return undefined;
    if (stream.kind === "video") count.video++;
    return stream.kind;
  };

  // werift starts a transport's SRTP session when its DTLS connects, which can come after the
  // PeerConnection reads connected (ICE first): each transport is watched for it
  const wrap = (transport: RTCDtlsTransport): void => {
    if (!transport.srtpStarted) return;
    const { srtp } = transport;
    const tagBytes = authTagBytes(srtp.config.profile);
    if (wrapped.has(srtp) || tagBytes === undefined) return;
    wrapped.add(srtp);
    const decrypt = srtp.decrypt;
    srtp.decrypt = (packet) => {
      const length = headerOnlyLength(packet, tagBytes, payloadTypes);
      if (length === undefined) return decrypt(packet);
      count.packets++;
      return packet.subarray(0, length);
    };
    const taken = (data: Buffer): "audio" | "video" | undefined => {
      // the transport's current session: a new DTLS handshake brings new keys
      const kind = bypass(data, tagBytes, transport.srtp);
      if (kind === undefined) return undefined;
      transport.bytesReceived += data.length;
      transport.packetsReceived++;
      return kind;
    };
    const { connection } = transport.iceTransport;
    // a packet on a UDP host candidate is taken as the socket delivers it, before werift's STUN
    // check and two events (STUN, DTLS and TURN's channel data never read as RTP version 2). Its
    // header is read unauthenticated, so it must come from the selected pair's remote: the sockets
    // listen on every local address (peer.ts), and werift hands its ICE data event whatever a
    // socket receives, from anywhere. A datagram from elsewhere carrying one of our streams' SSRCs
    // is dropped here, as libwebrtc drops data from an address it has no candidate pair with
    for (const socket of udpSockets(connection)) {
      if (hooked.has(socket)) continue;
      hooked.add(socket);
      tapSocket(socket, (data, from) => {
        const remote = connection.nominated?.remoteCandidate;
        if (remote !== undefined && (remote.port !== from.port || remote.host !== from.address)) {
          if (bypassedStreamOf(data) === undefined) return false;
          count.foreign++;
          return true;
        }
        const kind = taken(data);
        if (kind === "audio") count.atSocket++;
        else if (kind === "video") count.videoAtSocket++;
        return kind !== undefined;
      });
    }
    // on a socket werift gathers after this (lean's pairs are direct UDP, but an ICE restart may
    // gather again), at the ICE connection's data event
    const { onData } = connection;
    if (hooked.has(onData)) return;
    hooked.add(onData);
    const execute = onData.execute;
    onData.execute = (data) => {
      if (taken(data) === undefined) execute(data);
    };
  };
  // every offer the server sends may add or move tracks; each answer settles the codecs
  const nativeRead = nativeReader(
    native,
    count,
    registered,
    () => payloadTypes,
    () => pc.connectionState === "closed",
  );
  pc.signalingStateChange.subscribe((state) => {
    if (state !== "stable") return;
    payloadTypes = opusPayloadTypes(pc.getTransceivers());
    nativeRead.payloadTypesChanged();
    for (const transport of pc.dtlsTransports) {
      if (watched.has(transport)) continue;
      watched.add(transport);
      transport.onStateChange.subscribe((dtls) => {
        if (dtls === "connected") wrap(transport);
      });
      wrap(transport);
    }
  });
  const fastPath: ReceiveFastPath = {
    register(ssrc, receiver, stream) {
      this.registerStream(ssrc, receiver, (statistics) => opusStream(receiver, statistics, stream, ssrc));
      if (registered.get(ssrc)?.kind === "audio") nativeRead.stream(ssrc, receiver);
    },
    registerStream(ssrc, receiver, stream) {
      if (registered.has(ssrc) || receiver.twccEnabled !== undefined || receiver.receiverTWCC !== undefined)
        return;
      const statistics = receiverStatistics(receiver, ssrc);
      const bypassed = statistics === undefined ? undefined : stream(statistics);
      if (bypassed !== undefined) registered.set(ssrc, bypassed);
    },
  };
  fastPaths.set(pc, fastPath);
  return fastPath;
}

/** What of werift's ICE connection the native reader follows (private in its types). */
interface NominatedConnection {
  readonly nominated?: {
    readonly protocol: {
      readonly type: string;
      readonly transport: { readonly socket?: unknown; closed?: boolean };
    };
    readonly remoteCandidate: { readonly host: string; readonly port: number };
  };
}

/** A subscriber PeerConnection's socket handed to the native thread (native-receive.ts), or nothing. */
interface NativeReader {
  /** An audio stream registered to bypass werift: counted natively once the socket is taken. */
  stream(ssrc: number, receiver: RTCRtpReceiver): void;
  payloadTypesChanged(): void;
}

/**
 * With the native media path asked for, hands the subscriber socket of the PeerConnection's audio
 * streams to the native thread once one is registered and the addon is loaded, and keeps it in
 * step with werift on the process's one check timer: the selected pair's remote, the payload
 * types, and the socket itself (a pair on another socket, or none during an ICE restart, gives
 * this one back to libuv, and the next check takes the new one). The checks end when the
 * PeerConnection closes.
 */
function nativeReader(
  wanted: boolean,
  count: HeaderOnlyCount,
  registered: ReadonlyMap<number, BypassedStream>,
  payloadTypes: () => ReadonlySet<number>,
  closed: () => boolean,
): NativeReader {
  if (!wanted) return { stream: () => undefined, payloadTypesChanged: () => undefined };
  let addon: LeanMediaAddon | string | undefined;
  const audio = new Map<number, RTCRtpReceiver>();
  interface Taken {
    readonly id: number;
    readonly socket: Socket;
    readonly transport: RTCDtlsTransport;
    /** The selected pair's remote the thread counts from (compared at every check, not formatted). */
    remote: readonly [string, number];
    /** The streams the thread counts (native-counts.ts), by SSRC. */
    readonly counts: Map<number, NativeStreamCounts>;
    /** The receivers whose reports the thread sends (native-reports.ts). */
    readonly reports: NativeReports;
    /** The server's keepalives, which the thread answers (native-keepalives.ts). */
    readonly keepalives: NativeKeepalives;
  }
  let taken: Taken | undefined;
  let unchecked: (() => void) | undefined;

  /** What the thread counted of a stream since the last fold goes into the transport's and the test's counts. */
  const fold = (mine: Taken, counts: NativeStreamCounts): void => {
    const { packets, wireBytes } = counts.threadCounted();
    mine.transport.bytesReceived += wireBytes;
    mine.transport.packetsReceived += packets;
    count.packets += packets;
    count.bypassed += packets;
    count.atSocket += packets;
    count.native = (count.native ?? 0) + packets;
  };

  /** A stream's counts are JavaScript's again (call once the thread no longer writes them). */
  const handBack = (mine: Taken, ssrc: number, counts: NativeStreamCounts): void => {
    mine.reports.give(ssrc);
    fold(mine, counts);
    counts.handBack();
    mine.counts.delete(ssrc);
    const stream = registered.get(ssrc);
    if (stream?.native === counts) stream.native = undefined;
  };

  const release = (): void => {
    if (taken === undefined || typeof addon !== "object") return;
    const mine = taken;
    taken = undefined;
    mine.reports.give();
    mine.keepalives.stop();
    nativeReceiving(addon).release(mine.id);
    for (const [ssrc, counts] of mine.counts) handBack(mine, ssrc, counts);
  };

  /**
   * The thread reads the SSRC's packets on socket `id`, and counts them when the stream has
   * counters to hand over (an audio stream's InboundStream and werift's statistics); why not, if not.
   */
  const readStream = (
    receiving: NativeReceiving,
    mine: Pick<Taken, "id" | "counts" | "reports">,
    ssrc: number,
    tagBytes: number,
  ): string | undefined => {
    const stream = registered.get(ssrc);
    const counters = stream?.counters;
    if (mine.counts.has(ssrc)) return undefined;
    if (stream === undefined || counters === undefined || stream.receiver.stopped)
      return receiving.stream(mine.id, ssrc, tagBytes);
    const counts = new NativeStreamCounts(counters.inbound, counters.statistics, receiving.clockOffset);
    const why = receiving.stream(mine.id, ssrc, tagBytes, counts.slot);
    if (why !== undefined) return why;
    counts.handOver(receiving.counter(mine.id, ssrc));
    mine.counts.set(ssrc, counts);
    stream.native = counts;
    // its receiver's reports go from the thread too once every stream of it is counted here
    const notReported = mine.reports.take(stream.receiver, mine.counts);
    if (notReported !== undefined) count.nativeReportsRefused = notReported;
    return undefined;
  };

  const takeOver = (): void => {
    if (taken !== undefined || typeof addon !== "object") return;
    const first = audio.values().next().value;
    if (first === undefined) return;
    const transport = first.dtlsTransport;
    const tagBytes = transport.srtpStarted ? authTagBytes(transport.srtp.config.profile) : undefined;
    const connection = transport.iceTransport.connection as unknown as NominatedConnection & IceConnection;
    const pair = connection.nominated;
    const socket = pair?.protocol.type === "stun" ? pair.protocol.transport.socket : undefined;
    if (tagBytes === undefined || pair === undefined || !(socket instanceof Socket)) return;
    if (pair.protocol.transport.closed === true) return;
    const receiving = nativeReceiving(addon);
    const remote: [string, number] = [pair.remoteCandidate.host, pair.remoteCandidate.port];
    const id = receiving.take(socket, remote, {
      rtp(ssrc, sequenceNumber, timestamp, headerBytes, payloadBytes, wireBytes, arrivalMs, counted) {
        if (counted) {
          // counted by the thread: werift's rollover state for the SSRC moves on here
          const context = srtpContextOf(transport.srtp, "remote");
          if (context !== undefined) rolloverCounter(context, ssrc, sequenceNumber);
          return;
        }
        const stream = registered.get(ssrc);
        if (stream?.counted === undefined || stream.receiver.stopped) return;
        stream.counted(sequenceNumber, timestamp, headerBytes, payloadBytes, arrivalMs, transport.srtp);
        transport.bytesReceived += wireBytes;
        transport.packetsReceived++;
        count.atSocket++;
        count.native = (count.native ?? 0) + 1;
      },
    });
    if (typeof id === "string") {
      count.nativeRefused = id;
      return;
    }
    // werift's receiver reports and consent on this socket go out through the addon too
    sendsDirect(socket, addon);
    // and the RTCP werift still opens and seals, the addon's (native-srtcp.ts)
    srtcpByAddon(addon, transport);
    receiving.payloadTypes(id, payloadTypes());
    const mine: Taken = {
      id,
      socket,
      transport,
      remote,
      counts: new Map(),
      reports: new NativeReports(addon, id, transport, receiving.clockOffset),
      keepalives: new NativeKeepalives(addon, id, connection, count),
    };
    mine.keepalives.sync(pair);
    for (const ssrc of audio.keys()) {
      const why = readStream(receiving, mine, ssrc, tagBytes);
      if (why !== undefined) count.nativeRefused = why;
    }
    taken = mine;
  };

  const check = (): void => {
    if (closed() || (typeof addon === "string" && addon !== "loading")) {
      release();
      unchecked?.();
      unchecked = undefined;
      return;
    }
    if (taken === undefined) {
      takeOver();
      return;
    }
    const mine = taken;
    for (const counts of mine.counts.values()) fold(mine, counts);
    // a stopped receiver's packets are not counted (the TypeScript path drops them at once; here
    // the thread counts what arrives until this check, at most CHECK_MS): its stream is read on
    // without counts, and its handler drops them
    for (const [ssrc, counts] of mine.counts)
      if (registered.get(ssrc)?.receiver.stopped === true && typeof addon === "object") {
        const tagBytes = authTagBytes(mine.transport.srtp.config.profile) ?? 0;
        const why = nativeReceiving(addon).stream(mine.id, ssrc, tagBytes);
        if (why === undefined) handBack(mine, ssrc, counts);
      }
    const connection = mine.transport.iceTransport.connection as unknown as NominatedConnection &
      IceConnection;
    const now = connection.nominated;
    const nowSocket = now?.protocol.type === "stun" ? now.protocol.transport.socket : undefined;
    if (now === undefined || nowSocket !== mine.socket || now.protocol.transport.closed === true) {
      // closed, restarting or on another socket: libuv reads this one again
      release();
      takeOver();
      return;
    }
    const { host, port } = now.remoteCandidate;
    if (
      (host !== mine.remote[0] || port !== mine.remote[1]) &&
      typeof addon === "object" &&
      nativeReceiving(addon).remote(mine.id, [host, port])
    )
      mine.remote = [host, port];
    mine.keepalives.sync(now);
  };

  return {
    stream(ssrc, receiver) {
      audio.set(ssrc, receiver);
      unchecked ??= everyCheck(check);
      if (addon === undefined) {
        addon = "loading";
        void leanMedia().then((loaded) => {
          addon = loaded;
          if (typeof loaded === "string") count.nativeRefused = loaded;
          else takeOver();
        });
        return;
      }
      if (taken === undefined) takeOver();
      else if (typeof addon === "object") {
        const tagBytes = authTagBytes(taken.transport.srtp.config.profile);
        const why =
          tagBytes === undefined
            ? "no SRTP tag size"
            : readStream(nativeReceiving(addon), taken, ssrc, tagBytes);
        if (why !== undefined) count.nativeRefused = why;
      }
    },
    payloadTypesChanged() {
      if (taken !== undefined && typeof addon === "object")
        nativeReceiving(addon).payloadTypes(taken.id, payloadTypes());
    },
  };
}
