import type { RTCDtlsTransport, RTCPeerConnection, SrtpSession } from "werift";

/**
 * Received Opus packets are counted from their RTP header alone (sequence number, timestamp, SSRC,
 * payload size), and SRTP leaves that header in clear. Authenticating and decrypting each one was
 * a fifth of a lean worker's CPU at 30 audio rooms (packages/lean/README.md, "Where the time
 * goes"), so on a subscriber PeerConnection they skip both: the packet goes on through werift
 * with its payload still encrypted and the authentication tag cut off, which leaves the payload's
 * length what it was in clear (AES-CM and AES-GCM do not pad). What that gives up: a packet
 * forged or damaged on the way is counted as received, and nothing checks that the payload is
 * the publisher's Opus. Video is decrypted as before: its frames, keyframes and stamps are read
 * from the payload.
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
 * The length of an SRTP packet without its tag, when it can be read header-only; undefined when it
 * must be decrypted: another payload type, padding (its count is the payload's encrypted last
 * byte), or too short for its own header.
 */
export function headerOnlyLength(
  packet: Buffer,
  tagBytes: number,
  payloadTypes: ReadonlySet<number>,
): number | undefined {
  if (packet.length < 12) return undefined;
  const first = packet.readUInt8(0);
  if (first >> 6 !== 2 || (first & 0x20) !== 0) return undefined;
  if (!payloadTypes.has(packet.readUInt8(1) & 0x7f)) return undefined;
  let header = 12 + 4 * (first & 0x0f);
  if ((first & 0x10) !== 0) {
    if (packet.length < header + 4) return undefined;
    header += 4 + 4 * packet.readUInt16BE(header + 2);
  }
  const length = packet.length - tagBytes;
  return length >= header ? length : undefined;
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
  packets: number;
}

/** Makes `pc` (a subscriber) read received Opus packets header-only, from its first connection on. */
export function readOpusHeadersOnly(pc: RTCPeerConnection, count: HeaderOnlyCount): void {
  let payloadTypes = new Set<number>();
  const watched = new WeakSet<RTCDtlsTransport>();
  const wrapped = new WeakSet<SrtpSession>();
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
  };
  // every offer the server sends may add or move tracks; each answer settles the codecs
  pc.signalingStateChange.subscribe((state) => {
    if (state !== "stable") return;
    payloadTypes = opusPayloadTypes(pc.getTransceivers());
    for (const transport of pc.dtlsTransports) {
      if (watched.has(transport)) continue;
      watched.add(transport);
      transport.onStateChange.subscribe((dtls) => {
        if (dtls === "connected") wrap(transport);
      });
      wrap(transport);
    }
  });
}
