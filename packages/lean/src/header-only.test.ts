import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { RtpHeader, RtpPacket } from "werift";
import { srtpPair } from "../test/srtp.js";
import {
  authTagBytes,
  headerOnlyLength,
  headerOnlySize,
  isRtcpPacket,
  opusPayloadTypes,
} from "./header-only.js";

/** An RTP packet: 12-byte header, `csrcs` CSRCs, an optional extension of `extWords` words, payload, tag. */
function packet(options: {
  pt?: number;
  padding?: boolean;
  csrcs?: number;
  extWords?: number;
  payload?: number;
  tag?: number;
  version?: number;
}): Buffer {
  const { pt = 111, padding = false, csrcs = 0, extWords, payload = 80, tag = 10, version = 2 } = options;
  const ext = extWords === undefined ? 0 : 4 + 4 * extWords;
  const b = Buffer.alloc(12 + 4 * csrcs + ext + payload + tag, 0xee);
  b.writeUInt8((version << 6) | (padding ? 0x20 : 0) | (extWords === undefined ? 0 : 0x10) | csrcs, 0);
  b.writeUInt8(pt, 1);
  if (extWords !== undefined) {
    b.writeUInt16BE(0xbede, 12 + 4 * csrcs);
    b.writeUInt16BE(extWords, 12 + 4 * csrcs + 2);
  }
  return b;
}

const OPUS = new Set([111]);

describe("headerOnlyLength", () => {
  it("cuts the tag off an Opus packet: the payload keeps its clear-text length", () => {
    expect(headerOnlyLength(packet({ payload: 80, tag: 10 }), 10, OPUS)).toBe(12 + 80);
    expect(headerOnlyLength(packet({ payload: 3, tag: 16 }), 16, OPUS)).toBe(12 + 3);
    expect(headerOnlyLength(packet({ payload: 0, tag: 16 }), 16, OPUS)).toBe(12);
  });

  it("takes CSRCs and a header extension as header", () => {
    expect(headerOnlyLength(packet({ csrcs: 2, extWords: 3, payload: 40 }), 10, OPUS)).toBe(12 + 8 + 16 + 40);
    // the marker bit shares the payload-type byte
    const marked = packet({ payload: 40 });
    marked.writeUInt8(0x80 | 111, 1);
    expect(headerOnlyLength(marked, 10, OPUS)).toBe(12 + 40);
  });

  it("leaves to decryption what it cannot read header-only", () => {
    expect(headerOnlyLength(packet({ pt: 96 }), 10, OPUS)).toBeUndefined();
    expect(headerOnlyLength(packet({ padding: true }), 10, OPUS)).toBeUndefined();
    expect(headerOnlyLength(packet({ version: 1 }), 10, OPUS)).toBeUndefined();
    expect(headerOnlyLength(Buffer.alloc(11, 0x80), 10, OPUS)).toBeUndefined();
    // an extension longer than the packet, or a header that reaches into the tag
    expect(headerOnlyLength(packet({ extWords: 50, payload: 0 }).subarray(0, 40), 10, OPUS)).toBeUndefined();
    expect(
      headerOnlyLength(packet({ csrcs: 15, payload: 0, tag: 0 }).subarray(0, 14), 10, OPUS),
    ).toBeUndefined();
    expect(headerOnlyLength(packet({ payload: 5 }), 16, OPUS)).toBeUndefined();
  });
});

describe("headerOnlySize", () => {
  it("is the header's size, tag or not, and -1 where the packet must be decrypted", () => {
    expect(headerOnlySize(packet({ payload: 80 }), OPUS)).toBe(12);
    expect(headerOnlySize(packet({ csrcs: 2, extWords: 3, payload: 40 }), OPUS)).toBe(12 + 8 + 16);
    expect(headerOnlySize(packet({ pt: 96 }), OPUS)).toBe(-1);
    expect(headerOnlySize(packet({ padding: true }), OPUS)).toBe(-1);
    expect(headerOnlySize(packet({ version: 1 }), OPUS)).toBe(-1);
    expect(headerOnlySize(Buffer.alloc(11, 0x80), OPUS)).toBe(-1);
    expect(headerOnlySize(packet({ extWords: 1, payload: 0, tag: 0 }).subarray(0, 14), OPUS)).toBe(-1);
  });
});

describe("isRtcpPacket", () => {
  it("tells RTCP (types 192-223) from RTP, marker bit set or not", () => {
    for (const type of [200, 201, 205, 206, 192, 223]) {
      const b = packet({ payload: 8 });
      b.writeUInt8(type, 1);
      expect(isRtcpPacket(b), String(type)).toBe(true);
    }
    expect(isRtcpPacket(packet({ pt: 111 }))).toBe(false);
    const marked = packet({ pt: 111 });
    marked.writeUInt8(0x80 | 111, 1);
    expect(isRtcpPacket(marked)).toBe(false);
    // a payload type of 64-95 with the marker set reads as RTCP, as RFC 5761 rules out those types
    const clash = packet({ pt: 72 });
    clash.writeUInt8(0x80 | 72, 1);
    expect(isRtcpPacket(clash)).toBe(true);
  });
});

describe("authTagBytes", () => {
  it("knows the two profiles werift negotiates and nothing else", () => {
    expect(authTagBytes(0x0001)).toBe(10);
    expect(authTagBytes(0x0007)).toBe(16);
    expect(authTagBytes(0x0002)).toBeUndefined();
  });
});

describe("opusPayloadTypes", () => {
  const opus = { mimeType: "audio/OPUS", payloadType: 111 };
  it("takes Opus on audio transceivers only", () => {
    expect(
      opusPayloadTypes([
        { kind: "audio", codecs: [opus, { mimeType: "audio/red", payloadType: 63 }] },
        { kind: "video", codecs: [{ mimeType: "video/VP8", payloadType: 96 }] },
      ]),
    ).toEqual(new Set([111]));
    expect(opusPayloadTypes([])).toEqual(new Set());
  });

  it("drops a payload type a video transceiver also uses", () => {
    expect(
      opusPayloadTypes([
        { kind: "audio", codecs: [opus] },
        { kind: "video", codecs: [{ mimeType: "video/VP8", payloadType: 111 }] },
      ]),
    ).toEqual(new Set());
  });
});

describe("header-only against werift's SRTP", () => {
  it.each([0x0001, 0x0007])(
    "reads the header and payload length decryption gives (profile %i)",
    (profile) => {
      const { sender, receiver } = srtpPair(profile);
      for (const size of [1, 83, 160]) {
        const header = new RtpHeader({
          payloadType: 111,
          sequenceNumber: 65535,
          timestamp: 0xfffffc40,
          ssrc: 1234,
          marker: true,
        });
        const sent = sender.encrypt(randomBytes(size), header);
        const tag = authTagBytes(profile) ?? 0;
        const length = headerOnlyLength(sent, tag, OPUS);
        expect(length, `size ${size}`).toBeDefined();
        const read = RtpPacket.deSerialize(sent.subarray(0, length));
        const decrypted = RtpPacket.deSerialize(receiver.decrypt(sent));
        expect(read.header.sequenceNumber).toBe(decrypted.header.sequenceNumber);
        expect(read.header.timestamp).toBe(decrypted.header.timestamp);
        expect(read.header.ssrc).toBe(decrypted.header.ssrc);
        expect(read.header.marker).toBe(true);
        expect(read.payload.length).toBe(size);
        expect(decrypted.payload.length).toBe(size);
      }
    },
  );
});
