/**
 * Bytes each received RTP packet had on the wire beyond its RTP header and payload, as an IP-level
 * cap (a router's shaper, tc on an IP device) counts them: IPv4 header 20, UDP header 8, and the
 * SRTP authentication tag 10 (AES_CM_128_HMAC_SHA1_80, the profile libwebrtc offers by default
 * and LiveKit accepts; AEAD_AES_128_GCM would carry 16). Not counted: link-layer framing (an
 * Ethernet or veth device's shaper adds 14 bytes a packet), IPv6's 20 extra bytes, TURN or TCP
 * encapsulation, and RTCP.
 */
export const TRANSPORT_OVERHEAD_BYTES = 20 + 8 + 10;

/** Counters of one received stream over a window, as samples carry them. */
export interface WireCounts {
  /** RTP payload bytes (bytesReceived). */
  readonly bytes: number;
  /** RTP header and padding bytes (headerBytesReceived); undefined when not reported. */
  readonly headerBytes?: number;
  /** RTP packets received, retransmissions included (packetsReceived). */
  readonly received: number;
}

/**
 * What the stream took on the wire (docs/observability.md 4.2): payload, RTP headers and padding,
 * and the per-packet IP/UDP/SRTP overhead. Undefined when the RTP header bytes were not reported:
 * payload alone would read low by a varying share.
 */
export function wireBytes(c: WireCounts): number | undefined {
  if (c.headerBytes === undefined) return undefined;
  return c.bytes + c.headerBytes + c.received * TRANSPORT_OVERHEAD_BYTES;
}
